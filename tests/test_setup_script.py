"""scripts/setup on its own, in a copy of the project's set-up files under a temp root:
- which Python versions it accepts (a double of the interpreter on PYTHON answering setup's version probe);
- kind: installed into .tools/bin from the release download URL (served here by a local HTTP server on
  127.0.0.1, as KINDLING_KIND_DOWNLOAD_URL allows) and checked against versions.yml tools.kind_sha256;
  a checksum mismatch and an unreachable download fail with what was expected and leave no binary behind.
"""
import hashlib
import os
import platform
import shutil
from pathlib import Path

import pytest
import yaml

from support.fakebin import path_without, write_executable
from support.setup_run import VERSIONS, run_setup, serve_directory, setup_copy

pytestmark = pytest.mark.fast

KIND_VERSION = VERSIONS["tools"]["kind"]
OS = {"Linux": "linux", "Darwin": "darwin"}.get(platform.system(), platform.system())
ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine(), platform.machine())
ASSET = f"kind-{OS}-{ARCH}"


def fake_python(directory: Path, version: str) -> Path:
    """A double of CPython <version>: answers only the probe scripts/setup makes
    (`-c 'import sys; print("%d.%d" % sys.version_info[:2])'`, what CPython prints for it) and `--version`;
    anything after the version check (creating the venv) is recorded and refused."""
    probe = 'import sys; print("%d.%d" % sys.version_info[:2])'
    return write_executable(directory / f"python{version}", f"""#!/bin/sh
echo "$*" >> "{directory}/calls.log"
if [ "$1" = -c ] && [ "$2" = '{probe}' ]; then echo {version}; exit 0; fi
if [ "$1" = --version ]; then echo "Python {version}.4"; exit 0; fi
echo "fake python {version}: not a real interpreter" >&2; exit 3
""")


@pytest.mark.parametrize("version, accepted", [("3.10", False), ("3.11", True), ("3.13", True), ("3.14", False)])
def test_python_versions_the_pins_support_are_accepted(tmp_path, version, accepted):
    root = setup_copy(tmp_path, with_venv=False)
    python = fake_python(tmp_path / "bin", version)
    result = run_setup(root, "--quiet", env={"PYTHON": str(python)})
    calls = (tmp_path / "bin" / "calls.log").read_text()
    assert result.returncode != 0  # the double cannot make a venv either way
    if accepted:
        assert "support Python" not in result.stderr, result.stderr
        assert f"-m venv {root}/.venv" in calls, "an accepted Python goes on to make the venv"
    else:
        assert f"support Python 3.11-3.13; {python} is Python {version}" in result.stderr, result.stderr
        assert "-m venv" not in calls


def fake_kind_binary(path: Path) -> bytes:
    """What the release asset stands in for: prints `kind version` the way kind does
    (kubernetes-sigs/kind v0.32.0, pkg/cmd/kind/version/version.go, DisplayVersion:
    "kind v" + Version() + " " + runtime.Version() + " " + GOOS + "/" + GOARCH)."""
    content = (f'#!/bin/sh\n# fake {ASSET} {KIND_VERSION} (a test double)\n'
               f'[ "$1" = version ] && echo "kind {KIND_VERSION} go1.25.3 {OS}/{ARCH}" && exit 0\nexit 1\n').encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return content


@pytest.fixture
def release_server(tmp_path):
    """kind's release downloads (<base>/<version>/<asset>) served from tmp/releases on 127.0.0.1."""
    directory = tmp_path / "releases"
    directory.mkdir()
    with serve_directory(directory) as (url, _requests):
        yield directory, url


def pin_kind_sha256(root: Path, digest: str) -> None:
    versions = root / "versions.yml"
    data = yaml.safe_load(versions.read_text())
    data["kindling_versions"]["tools"]["kind_sha256"][f"{OS}-{ARCH}"] = digest
    versions.write_text(yaml.safe_dump(data))


def kind_env(tmp_path: Path, url: str) -> dict:
    # No kind anywhere on PATH, so set-up must install it; KINDLING_CLUSTER_PROVIDER unset (kind).
    return {"PATH": path_without(tmp_path / "path", {"kind"}), "KINDLING_KIND_DOWNLOAD_URL": url}


def test_setup_installs_the_pinned_kind_when_none_is_on_path(tmp_path, release_server):
    releases, url = release_server
    root = setup_copy(tmp_path, with_venv=True)
    content = fake_kind_binary(releases / KIND_VERSION / ASSET)
    pin_kind_sha256(root, hashlib.sha256(content).hexdigest())
    result = run_setup(root, "--for", "pipeline", env=kind_env(tmp_path, url))
    assert result.returncode == 0, result.stdout + result.stderr
    installed = root / ".tools" / "bin" / "kind"
    assert installed.read_bytes() == content and os.access(installed, os.X_OK)
    assert f"fetching kind {KIND_VERSION} from {url}/{KIND_VERSION}/{ASSET}" in result.stdout
    assert not list((root / ".cache").glob("*.download"))

    # Installed once: the next run finds it on PATH (.tools/bin) and downloads nothing.
    shutil.rmtree(releases / KIND_VERSION)
    again = run_setup(root, "--for", "pipeline", env=kind_env(tmp_path, url))
    assert again.returncode == 0, again.stdout + again.stderr
    assert "fetching kind" not in again.stdout


def test_a_kind_download_with_another_checksum_is_refused_and_removed(tmp_path, release_server):
    releases, url = release_server
    root = setup_copy(tmp_path, with_venv=True)
    content = fake_kind_binary(releases / KIND_VERSION / ASSET)
    pinned = "0" * 64
    pin_kind_sha256(root, pinned)
    result = run_setup(root, "--for", "pipeline", env=kind_env(tmp_path, url))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"has sha256 {hashlib.sha256(content).hexdigest()}, expected {pinned}" in result.stderr
    assert not (root / ".tools" / "bin" / "kind").exists()
    assert not list((root / ".cache").glob("*.download"))


def test_an_unreachable_kind_download_stops_only_what_needs_kind(tmp_path, release_server):
    _, url = release_server  # nothing published: 404
    root = setup_copy(tmp_path, with_venv=True)
    result = run_setup(root, "--for", "pipeline", env=kind_env(tmp_path, url))
    assert result.returncode == 1
    assert f"could not download {url}/{KIND_VERSION}/{ASSET}" in result.stderr
    assert f"go install sigs.k8s.io/kind@{KIND_VERSION}" in result.stderr and "--no-cluster" in result.stderr
    assert not (root / ".tools" / "bin" / "kind").exists()
    # The pipeline without a cluster and the tests do not need kind: set-up does not even try. (The tests' reference
    # data comes from the same server here, where it is missing too: that is reported, but is not about kind.)
    for args in (["--for", "pipeline", "--no-cluster"], ["--for", "test"]):
        other = run_setup(root, *args, env={**kind_env(tmp_path, url), "KINDLING_REFERENCE_MIRROR": url})
        assert "fetching kind" not in other.stdout, other.stdout
        assert f"kind {KIND_VERSION}" not in other.stderr and "sigs.k8s.io/kind" not in other.stderr, other.stderr
