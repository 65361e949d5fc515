"""Helpers the verify/preview/rollback tests share (the app image itself is conftest's session `app_image`)."""
import subprocess
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
VERSION = (ROOT / "app" / "VERSION").read_text().strip()


def forget_in_podman(digest: str) -> None:
    """Remove every podman image with this digest, so podman can only get it by pulling."""
    listed = subprocess.run(["podman", "images", "--digests", "--format", "{{.ID}} {{.Digest}}"],
                            capture_output=True, text=True).stdout.splitlines()
    for image_id in {line.split()[0] for line in listed if line.endswith(" " + digest)}:
        subprocess.run(["podman", "rmi", "-f", image_id], capture_output=True)
