"""Helpers the verify/preview/rollback tests share: the app image built from app/Dockerfile the way users build it."""
import shutil
import subprocess
from pathlib import Path

from support.pipeline_run import prepare_wheelhouse

ROOT = Path(__file__).resolve().parent.parent
VERSION = (ROOT / "app" / "VERSION").read_text().strip()


def build_app_image(cache: Path, base_image: str, tag: str) -> None:
    """docker build app/ (a copy, with the wheelhouse for the base image's Python) as `tag`.

    Raises subprocess.CalledProcessError when the wheelhouse cannot be fetched (the caller skips on it)."""
    wheels = prepare_wheelhouse(cache)
    context = cache / "context"
    if not context.exists():
        shutil.copytree(ROOT / "app", context, ignore=shutil.ignore_patterns("wheels", "tests", "__pycache__"))
        shutil.copytree(wheels, context / "wheels")
    build = subprocess.run(["docker", "build", "-q", "-t", tag, "--build-arg", f"BASE_IMAGE={base_image}",
                            "--build-arg", f"VERSION={VERSION}", "--build-arg", "COMMIT=0123abcd", str(context)],
                           capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, build.stderr


def forget_in_podman(digest: str) -> None:
    """Remove every podman image with this digest, so podman can only get it by pulling."""
    listed = subprocess.run(["podman", "images", "--digests", "--format", "{{.ID}} {{.Digest}}"],
                            capture_output=True, text=True).stdout.splitlines()
    for image_id in {line.split()[0] for line in listed if line.endswith(" " + digest)}:
        subprocess.run(["podman", "rmi", "-f", image_id], capture_output=True)
