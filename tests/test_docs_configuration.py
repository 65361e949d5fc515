"""docs/configuration.md is generated from the argument specs and must stay in step with them."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.fast

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "gen-config-docs"


def _run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--root", str(root), *args], capture_output=True, text=True, timeout=60)


def _spec_files(root: Path) -> list[Path]:
    return [root / "playbooks/vars/argument_specs.yml", *sorted(root.glob("roles/*/meta/argument_specs.yml"))]


def test_configuration_reference_is_in_step_with_the_specs():
    result = _run(ROOT, "--check")
    assert result.returncode == 0, result.stderr


def test_every_option_of_every_spec_is_documented():
    text = (ROOT / "docs/configuration.md").read_text()
    for path in _spec_files(ROOT):
        for entry in yaml.safe_load(path.read_text())["argument_specs"].values():
            for name in entry.get("options") or {}:
                assert f"| `{name}` |" in text, f"{name} ({path.relative_to(ROOT)})"


def test_a_changed_spec_puts_the_reference_out_of_step(tmp_path):
    copy = tmp_path / "repo"
    for path in _spec_files(ROOT) + sorted(ROOT.glob("inventories/*/group_vars/all/*.yml")) + [
            *sorted(ROOT.glob("roles/*/defaults/main.yml")), ROOT / "docs/configuration.md"]:
        target = copy / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
    assert _run(copy).returncode == 0
    assert _run(copy, "--check").returncode == 0
    spec_path = copy / "playbooks/vars/argument_specs.yml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["argument_specs"]["pipeline"]["options"]["brand_new_knob"] = {"type": "int", "default": 7, "description": "A new knob."}
    spec_path.write_text(yaml.safe_dump(spec))
    stale = _run(copy, "--check")
    assert stale.returncode == 1 and "out of step" in stale.stderr
    assert _run(copy).returncode == 0
    assert "| `brand_new_knob` | int | `7` |  | A new knob. |" in (copy / "docs/configuration.md").read_text()
    assert _run(copy, "--check").returncode == 0
    # A role's option whose spec names no default shows the one ansible-core uses, the role's defaults/main.yml's.
    defaults_path = copy / "roles/gitops/defaults/main.yml"
    defaults_path.write_text(defaults_path.read_text() + "gitops_push_attempts: 9\n")
    assert _run(copy).returncode == 0
    assert "| `gitops_push_attempts` | int | `9` |" in (copy / "docs/configuration.md").read_text()
