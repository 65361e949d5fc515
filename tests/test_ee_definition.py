"""The AWX execution environment: execution-environment.yml against ansible-builder v3's own schema and
`ansible-builder create` (the real tool, offline), the collection's EE metadata through ansible-builder's
introspection, and every pin equal to the project's one place for it."""
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible_builder.ee_schema import validate_schema
from ansible_builder.exceptions import DefinitionError

pytestmark = pytest.mark.fast

ROOT = Path(__file__).resolve().parent.parent
COLLECTION = ROOT / "collections/ansible_collections/kindling/gitops"
EE = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
VERSIONS = yaml.safe_load((ROOT / "versions.yml").read_text())["kindling_versions"]


def _pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def test_definition_is_valid_v3():
    assert EE["version"] == 3
    validate_schema(dict(EE))


@pytest.mark.parametrize("breakage", [
    lambda ee: ee.update(images={"base_image": "quay.io/x"}) or ee,
    lambda ee: ee["dependencies"].update(ansible_core={"package": "ansible-core"}) or ee,
    lambda ee: ee["additional_build_steps"].update(append_last=["RUN true"]) or ee,
])
def test_the_schema_check_catches_a_broken_definition(breakage):
    broken = yaml.safe_load((ROOT / "execution-environment.yml").read_text())
    with pytest.raises(DefinitionError):
        validate_schema(breakage(broken))


def test_ansible_builder_creates_the_build_context(tmp_path):
    result = subprocess.run(["ansible-builder", "create", "-f", "execution-environment.yml", "-c", str(tmp_path / "ctx")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    containerfile = (tmp_path / "ctx" / "Containerfile").read_text()
    assert f"ARG EE_BASE_IMAGE=\"{VERSIONS['images']['awx_ee_base']}\"" in containerfile
    assert f"ARG HELM_VERSION={VERSIONS['tools']['helm']}" in containerfile
    assert f"ARG KIND_VERSION={VERSIONS['tools']['kind']}" in containerfile
    built = tmp_path / "ctx" / "_build"
    assert (built / "requirements.yml").read_text() == (ROOT / "collections/requirements.yml").read_text()
    assert _pins(built / "requirements.txt") == _pins(COLLECTION / "meta/ee-requirements.txt")
    # Every binary the playbooks call is checked at the end of the image build.
    for tool in ("helm version", "kind version", "kubectl version --client", "git --version"):
        assert tool in containerfile


def test_pins_equal_the_projects_pins():
    top = _pins(ROOT / "requirements.txt")
    for name, version in _pins(COLLECTION / "meta/ee-requirements.txt").items():
        assert top.get(name) == version, f"{name}=={version} in ee-requirements.txt, requirements.txt has {top.get(name)}"
    core = EE["dependencies"]["ansible_core"]["package_pip"]
    assert core == f"ansible-core=={top['ansible-core']}"
    assert EE["images"]["base_image"]["name"] == VERSIONS["images"]["awx_ee_base"]
    awx_collection = next(c for c in yaml.safe_load((ROOT / "collections/requirements.yml").read_text())["collections"]
                          if c["name"] == "awx.awx")
    assert EE["images"]["base_image"]["name"].endswith(":" + awx_collection["version"])


def test_collection_metadata_is_what_ansible_builder_introspects():
    meta = yaml.safe_load((COLLECTION / "meta/execution-environment.yml").read_text())
    assert EE["dependencies"]["python"].endswith(meta["dependencies"]["python"])
    assert EE["dependencies"]["system"].endswith(meta["dependencies"]["system"])
    result = subprocess.run(["ansible-builder", "introspect", "--sanitize", "collections"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    found = yaml.safe_load(result.stdout)
    python = {re.split(r"[=<> ]", line)[0].lower() for line in found["python"] if "kindling.gitops" in line}
    # PyYAML is dropped by introspection on purpose (every EE has it).
    assert python == set(_pins(COLLECTION / "meta/ee-requirements.txt")) - {"pyyaml"}
    system = {line.split()[0] for line in found["system"] if "kindling.gitops" in line}
    assert {"git", "tar", "gzip"} <= system
