"""Pinned versions: one place per ecosystem, and each pin matches what it claims to be."""
import re
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from support.reference import chart_metadata

pytestmark = pytest.mark.fast

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = yaml.safe_load((ROOT / "versions.yml").read_text())["kindling_versions"]


def test_every_python_requirement_is_pinned_exactly():
    lines = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    requirements = [line for line in lines if line and not line.startswith("#")]
    assert requirements, "requirements.txt is empty"
    loose = [line for line in requirements if not re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==([0-9]+!)?[A-Za-z0-9_.+\-]+", line)]
    assert not loose, f"not pinned with ==: {loose}"


def test_collection_requirements_are_the_versions_the_pinned_ansible_bundles():
    requirements = yaml.safe_load((ROOT / "requirements.yml").read_text())["collections"]
    import ansible_collections  # a namespace package: the pinned `ansible` package's bundled collections and,
    # through pytest.ini's pythonpath, this repository's collections/ (kindling.gitops)
    own = (ROOT / "collections" / "ansible_collections").resolve()
    bundled_root, = [Path(p) for p in ansible_collections.__path__ if Path(p).resolve() != own]
    for item in requirements:
        namespace, name = item["name"].split(".")
        manifest = bundled_root / namespace / name / "MANIFEST.json"
        assert manifest.is_file(), f"{item['name']} is not bundled by ansible {metadata.version('ansible')}"
        bundled = yaml.safe_load(manifest.read_text())["collection_info"]["version"]
        assert item["version"] == bundled, f"{item['name']}: requirements.yml {item['version']} != bundled {bundled}"


def test_galaxy_dependencies_admit_the_bundled_versions():
    galaxy = yaml.safe_load((ROOT / "collections/ansible_collections/kindling/gitops/galaxy.yml").read_text())
    requirements = {item["name"]: item["version"] for item in yaml.safe_load((ROOT / "requirements.yml").read_text())["collections"]}
    for name, spec in galaxy["dependencies"].items():
        assert f">={requirements[name]}" in spec, f"galaxy.yml {name}: {spec} does not start at the bundled {requirements[name]}"


def test_chart_pins_match_the_upstream_charts(reference_dir):
    for key, pin in VERSIONS["charts"].items():
        chart = chart_metadata(reference_dir, pin["chart"], pin["version"])
        assert pin["chart"] == chart["name"], key
        assert str(pin["version"]) == str(chart["version"]), f"{key}: pinned {pin['version']} != upstream {chart['version']}"


def test_kind_node_image_is_the_one_kind_release_names(reference_dir):
    if not (reference_dir / "README.md").is_file():
        pytest.skip(f"{reference_dir} has no README.md: the kind release's facts (newest release, default node image) "
                    "are written only in ../shared/reference/README.md; versions.yml pins no upstream file that holds them")
    readme = (reference_dir / "README.md").read_text()
    assert VERSIONS["kind_node_image"] in readme
    assert f"Latest kind release: **{VERSIONS['tools']['kind']}**" in readme
