"""scripts/reference.py (the reference data's pins, layout, tree digest and set-up), loaded for the tests and
the doubles: scripts/ is not a package, and set-up runs that file itself."""
import importlib.util
import sys
import tarfile
from pathlib import Path

import yaml

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "reference.py"


def _load():
    name = "kindling_reference"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SCRIPT)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules[name]


reference = _load()


def chart_metadata(reference_dir: Path, chart: str, version: str) -> dict:
    """The parsed Chart.yaml of charts/<chart>/ as released. cert-manager's Chart.yaml says v0.0.0 in git and its
    release tool sets version and appVersion (../shared/reference holds that source file, README note 2), so
    where a Chart.yaml has those placeholders the one inside the pinned archive, helm-charts/<chart>-<version>.tgz,
    stands for it (the Chart.yaml that scripts/setup extracts into .cache/reference is that one already)."""
    metadata = yaml.safe_load((reference_dir / "charts" / chart / "Chart.yaml").read_text())
    if str(metadata.get("version")).lstrip("v") != "0.0.0":
        return metadata
    with tarfile.open(reference_dir / "helm-charts" / f"{chart}-{version}.tgz") as archive:
        return yaml.safe_load(archive.extractfile(f"{chart}/Chart.yaml").read())
