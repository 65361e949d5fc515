"""app/build-wheelhouse: the wheels app/Dockerfile installs offline, for the base image's Python."""
import subprocess
import sys
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "app" / "build-wheelhouse"


def load_script():
    loader = SourceFileLoader("build_wheelhouse", str(SCRIPT))
    module = module_from_spec(spec_from_loader("build_wheelhouse", loader))
    loader.exec_module(module)
    return module


def run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("args, named", [
    (["--python-version", "3"], "--python-version"),
    (["--python-version", "three.twelve"], "--python-version"),
    (["--arch", "sparc"], "--arch"),
    (["--requirements", "/nonexistent/requirements.txt"], "--requirements"),
])
def test_bad_options_fail_fast_naming_the_option_and_write_nothing(tmp_path, args, named):
    result = run("--dest", str(tmp_path / "wheels"), *args)
    assert result.returncode == 2
    assert named in result.stderr.splitlines()[-1] and "Traceback" not in result.stderr
    assert not (tmp_path / "wheels").exists()


def test_sync_adds_new_removes_stale_and_leaves_identical_wheels_alone(tmp_path):
    sync = load_script().sync
    fresh, dest = tmp_path / "fresh", tmp_path / "dest"
    fresh.mkdir()
    dest.mkdir()
    (fresh / "same-1.0-py3-none-any.whl").write_bytes(b"same")
    (fresh / "new-2.0-py3-none-any.whl").write_bytes(b"new")
    (dest / "same-1.0-py3-none-any.whl").write_bytes(b"same")
    (dest / "old-1.0-py3-none-any.whl").write_bytes(b"old")
    untouched = (dest / "same-1.0-py3-none-any.whl").stat().st_mtime_ns
    assert sync(fresh, dest) == (["new-2.0-py3-none-any.whl"], ["old-1.0-py3-none-any.whl"])
    assert sorted(path.name for path in dest.iterdir()) == ["new-2.0-py3-none-any.whl", "same-1.0-py3-none-any.whl"]
    assert (dest / "same-1.0-py3-none-any.whl").stat().st_mtime_ns == untouched
    assert sync(fresh, dest) == ([], [])


def test_downloads_pinned_wheels_for_the_python_asked_for_and_reruns_unchanged(tmp_path):
    dest = tmp_path / "wheels"
    first = run("--python-version", "3.12", "--dest", str(dest))
    if first.returncode != 0 and "pip download failed" in first.stderr:
        pytest.skip(f"PyPI not reachable from this host: {first.stderr.strip()}")
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[-1] == "wheelhouse: changed"
    names = sorted(path.name for path in dest.glob("*.whl"))
    pins = dict(line.split("==") for line in (ROOT / "requirements.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    for package in ("flask", "granian", "prometheus_client", "python_json_logger", "werkzeug"):
        wanted = next(version for name, version in pins.items() if name.lower().replace("-", "_") == package)
        assert any(name.lower().startswith(f"{package}-{wanted}-") for name in names), (package, names)
    compiled = [name for name in names if "-cp" in name]
    assert compiled and all("-cp312-" in name for name in compiled), compiled
    again = run("--python-version", "3.12", "--dest", str(dest))
    assert again.returncode == 0 and again.stdout.splitlines()[-1] == "wheelhouse: unchanged"
