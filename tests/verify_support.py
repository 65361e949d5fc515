"""Helpers the verify/preview/rollback tests share (the app image itself is conftest's session `app_image`)."""
import subprocess
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
VERSION = (ROOT / "app" / "VERSION").read_text().strip()


def forget_in_podman(reference: str) -> None:
    """Remove this name (repository@digest) from podman, so podman can only get it by pulling. By name, never by
    image ID: other tests hold the same image under names of their own, and `podman rmi -f ID` would remove
    every name and stop the containers running from any of them."""
    subprocess.run(["podman", "rmi", reference], capture_output=True)
