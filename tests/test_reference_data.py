"""The tests' reference data (scripts/reference.py, run by scripts/setup --for test) in a temp copy of the
project's set-up files: the pinned charts come from a helm repository (index.yaml made by the real `helm repo
index`) and the upstream files from raw-file paths, both served on 127.0.0.1 and reached through
KINDLING_REFERENCE_MIRROR, as a user behind a mirror would; what is served is the reference data the tests read
today (reference_dir), so this skips, saying why, where there is none. Then: a second run fetches nothing; a
chart whose files differ from the pin is refused and nothing is left in place; an unreachable mirror falls back
to ../shared/reference; KINDLING_REFERENCE_DIR is used as given; with nothing at all, every missing item is named.
And the tree digest the charts are pinned by, on archives made here."""
import gzip
import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from support.net import free_port
from support.reference import reference
from support.setup_run import ROOT, run_setup, serve_directory, setup_copy

pytestmark = [pytest.mark.fast, pytest.mark.xdist_group("test_reference_data")]

CHARTS, FILES = reference.load_pins(ROOT / "versions.yml")
HELM = ROOT / ".tools" / "bin" / "helm"


@pytest.fixture(scope="module")
def source(reference_dir):
    return reference_dir


@pytest.fixture(scope="module")
def mirror(source, tmp_path_factory):
    """URL/charts/<repo_name>/ a helm repository per upstream one (index.yaml + the archive), URL/raw/<owner>/<repo>/
    <tag>/<path> each upstream file: the layout KINDLING_REFERENCE_MIRROR stands for."""
    if not os.access(HELM, os.X_OK):
        pytest.skip(f"no helm at {HELM} to index the served repository: run scripts/setup")
    directory = tmp_path_factory.mktemp("mirror")
    for chart in CHARTS:
        repo = directory / "charts" / chart.repo_name
        repo.mkdir(parents=True)
        shutil.copy(source / chart.archive, repo)
        subprocess.run([str(HELM), "repo", "index", str(repo)], check=True, capture_output=True, timeout=120)
    for item in FILES:
        served = directory / "raw" / item.url.removeprefix(reference.RAW_HOST)
        served.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source / item.path, served)
    return directory


def unreachable() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there: the connection is refused at once


def leftovers(root: Path) -> list:
    return sorted(p.name for p in (root / ".cache").glob("reference.partial-*"))


def missing_lines(output: str) -> list:
    return [line for line in output.splitlines() if line.startswith("setup: MISSING: reference ")]


def test_setup_fetches_every_pinned_item_through_a_mirror_and_a_second_run_fetches_nothing(tmp_path, mirror, source):
    root = setup_copy(tmp_path, with_venv=True)
    cache = root / ".cache" / "reference"
    with serve_directory(mirror) as (url, requests):
        first = run_setup(root, "--for", "test", env={"KINDLING_REFERENCE_MIRROR": url})
        assert first.returncode == 0, first.stdout + first.stderr
        assert missing_lines(first.stderr) == [], first.stderr
        for chart in CHARTS:
            assert f"fetching {chart.label()} from {url}/charts/{chart.repo_name}\n" in first.stdout
            assert f"/charts/{chart.repo_name}/{Path(chart.archive).name}" in requests
        for item in FILES:
            assert f"fetching {item.path} from {url}/raw/{item.url.removeprefix(reference.RAW_HOST)}\n" in first.stdout
        assert "fetched and verified into .cache/reference" in first.stdout
        assert cache.is_dir() and not cache.is_symlink() and leftovers(root) == []
        assert reference.verify(cache, CHARTS, FILES) == []
        assert reference.resolve(root, environ={}) == (cache, None)  # what reference_dir will hand the tests
        for chart in CHARTS:  # the chart files come out of the verified archive, the same bytes as upstream's
            for name in set(chart.extract) - {"Chart.yaml"}:
                assert (cache / "charts" / chart.chart / name).read_bytes() == \
                    (source / "charts" / chart.chart / name).read_bytes(), (chart.chart, name)
        assert "version: v1.21.1" in (cache / "charts" / "cert-manager" / "Chart.yaml").read_text()

        requests.clear()
        started = time.monotonic()
        second = run_setup(root, "--for", "test", env={"KINDLING_REFERENCE_MIRROR": url})
        assert second.returncode == 0, second.stdout + second.stderr
        assert requests == [] and "fetching" not in second.stdout, second.stdout
        assert f"reference data: .cache/reference verified ({len(CHARTS)} charts, {len(FILES)} files)" in second.stdout
        assert time.monotonic() - started < 60


def tamper(archive: Path, chart: str) -> None:
    """The same archive re-packed with one byte of <chart>/values.yaml changed."""
    with tarfile.open(archive) as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for member, data in members:
            if member.name == f"{chart}/values.yaml":
                at = data.index(b"a")
                data = data[:at] + b"A" + data[at + 1:]
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
    archive.write_bytes(out.getvalue())


def test_a_chart_whose_files_differ_from_the_pin_is_refused_and_nothing_is_left(tmp_path, mirror):
    served = tmp_path / "mirror"
    shutil.copytree(mirror, served)
    chart = next(c for c in CHARTS if c.chart == "metrics-server")  # the last chart: the others arrive first
    repo = served / "charts" / chart.repo_name
    tamper(repo / Path(chart.archive).name, chart.chart)
    subprocess.run([str(HELM), "repo", "index", str(repo)], check=True, capture_output=True, timeout=120)
    tampered = reference.tree_digest(reference.tree_entries(repo / Path(chart.archive).name))
    assert tampered != chart.tree_sha256
    root = setup_copy(tmp_path, with_venv=True)
    with serve_directory(served) as (url, _requests):
        result = run_setup(root, "--for", "test", env={"KINDLING_REFERENCE_MIRROR": url})
    assert result.returncode == 0, result.stdout + result.stderr  # the tests that need the data skip instead
    assert (f"not fetched: chart metrics-server {chart.version} from {url}/charts/{chart.repo_name} has tree digest "
            f"{tampered}, versions.yml pins {chart.tree_sha256} (charts.{chart.key}.tree_sha256): refused") in result.stderr
    assert not os.path.lexists(root / ".cache" / "reference") and leftovers(root) == []
    assert len(missing_lines(result.stderr)) == len(reference.expected_items(CHARTS, FILES))


def test_an_unreachable_mirror_falls_back_to_the_shared_reference_quickly(tmp_path, source):
    root = setup_copy(tmp_path, with_venv=True)
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "reference").symlink_to(source.resolve())  # root/../shared/reference
    url = unreachable()
    started = time.monotonic()
    result = run_setup(root, "--for", "test", env={"KINDLING_REFERENCE_MIRROR": url})
    assert time.monotonic() - started < 60, "an unreachable host must fail fast"
    assert result.returncode == 0, result.stdout + result.stderr
    first = CHARTS[0]
    assert f"not fetched: {first.label()}: helm pull from {url}/charts/{first.repo_name} failed:" in result.stderr
    cache = root / ".cache" / "reference"
    assert cache.is_symlink() and cache.resolve() == source.resolve()
    assert f"using {source.resolve()} (verified against versions.yml): .cache/reference links to it" in result.stdout
    assert missing_lines(result.stderr) == [] and leftovers(root) == []
    # Once linked it is complete and verified: the next run neither fetches nor relinks.
    again = run_setup(root, "--for", "test", env={"KINDLING_REFERENCE_MIRROR": url})
    assert "fetching" not in again.stdout and f"a link to {source.resolve()}" in again.stdout, again.stdout


def test_kindling_reference_dir_is_used_as_given_verified_and_never_fetched_over(tmp_path, source):
    root = setup_copy(tmp_path, with_venv=True)
    url = unreachable()
    given = run_setup(root, "--for", "test", env={"KINDLING_REFERENCE_DIR": str(source), "KINDLING_REFERENCE_MIRROR": url})
    assert given.returncode == 0, given.stdout + given.stderr
    assert f"KINDLING_REFERENCE_DIR={source} verified against versions.yml" in given.stdout
    assert "fetching" not in given.stdout and not os.path.lexists(root / ".cache" / "reference")

    partial = tmp_path / "partial"
    shutil.copytree(source / "crds", partial / "crds")
    lacking = run_setup(root, "--for", "test", env={"KINDLING_REFERENCE_DIR": str(partial), "KINDLING_REFERENCE_MIRROR": url})
    assert lacking.returncode == 0 and "fetching" not in lacking.stdout
    for path, what in reference.expected_items(CHARTS, FILES):
        line = f"KINDLING_REFERENCE_DIR={partial}: missing {path} ({what})"
        assert (line in lacking.stderr) == (not path.startswith("crds/")), line


def test_with_nothing_to_be_had_each_missing_item_is_named(tmp_path):
    root = setup_copy(tmp_path, with_venv=True)
    result = run_setup(root, "--for", "test", env={"KINDLING_REFERENCE_MIRROR": unreachable()})
    assert result.returncode == 0, result.stdout + result.stderr
    expected = [f"setup: MISSING: reference {path} ({what}): the tests that need it will skip"
                for path, what in reference.expected_items(CHARTS, FILES)]
    assert missing_lines(result.stderr) == expected
    assert "scripts/setup --for test" in result.stderr and "KINDLING_REFERENCE_DIR" in result.stderr
    assert not os.path.lexists(root / ".cache" / "reference") and leftovers(root) == []


def test_the_tests_look_in_the_given_dir_then_the_cache_then_the_shared_dir(tmp_path, source):
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(ROOT / "versions.yml", root)
    found, why_not = reference.resolve(root, environ={})
    assert found is None
    assert f"{root}/.cache/reference does not exist; {tmp_path}/shared/reference does not exist" in why_not
    assert "scripts/setup --for test" in why_not and "KINDLING_REFERENCE_DIR" in why_not

    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "reference").symlink_to(source.resolve())
    (root / ".cache" / "reference" / "crds").mkdir(parents=True)  # an incomplete cache is passed over
    assert reference.resolve(root, environ={}) == (tmp_path / "shared" / "reference", None)

    found, why_not = reference.resolve(root, environ={"KINDLING_REFERENCE_DIR": str(root / ".cache" / "reference")})
    assert found is None  # a given directory is the only one looked at
    first = CHARTS[0]
    assert f"lacks {first.archive} ({first.label()} ({first.repo_url}))" in why_not


def test_the_reference_data_in_use_matches_the_pins(source):
    assert reference.verify(source, CHARTS, FILES) == []


# --- the tree digest ------------------------------------------------------------------------------------------

FILES_OF_A_CHART = {
    "demo/Chart.yaml": b"apiVersion: v2\nname: demo\nversion: 1.0.0\n",
    "demo/values.yaml": b"replicas: 1\n",
    "demo/templates/deployment.yaml": b"kind: Deployment\n",
}


def pack(files: dict, mtime: int, reverse: bool = False, gzip_mtime: int = 0) -> bytes:
    """A .tgz of files (member order, file mtimes, owner and the gzip header's mtime as given)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT if reverse else tarfile.GNU_FORMAT) as tar:
        for name in sorted(files, reverse=reverse):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.uid, info.uname = len(files[name]), mtime, 1000 if reverse else 0, "someone"
            tar.addfile(info, io.BytesIO(files[name]))
    return gzip.compress(raw.getvalue(), compresslevel=1 if reverse else 9, mtime=gzip_mtime)


def digest(archive: bytes) -> str:
    return reference.tree_digest(reference.tree_entries(archive))


def test_tree_digest_ignores_how_the_files_were_packed_but_not_their_bytes_or_paths():
    first = pack(FILES_OF_A_CHART, mtime=0)
    again = pack(FILES_OF_A_CHART, mtime=1_780_000_000, reverse=True, gzip_mtime=1_780_000_000)
    assert first != again
    assert digest(first) == digest(again)

    changed = dict(FILES_OF_A_CHART, **{"demo/values.yaml": b"replicas: 2\n"})
    assert digest(pack(changed, mtime=0)) != digest(first)
    moved = {name.replace("templates/", "templates/x/"): data for name, data in FILES_OF_A_CHART.items()}
    assert digest(pack(moved, mtime=0)) != digest(first)


def test_a_dependency_archive_counts_as_its_files_in_charts():
    dependency = {"redis/Chart.yaml": b"name: redis\nversion: 2.0.0\n", "redis/values.yaml": b"x: 1\n"}
    as_directory = dict(FILES_OF_A_CHART, **{f"demo/charts/{name}": data for name, data in dependency.items()})
    as_archive = dict(FILES_OF_A_CHART, **{"demo/charts/redis-2.0.0.tgz": pack(dependency, mtime=5)})
    assert digest(pack(as_directory, mtime=0)) == digest(pack(as_archive, mtime=0))
    other_dependency = pack(dict(dependency, **{"redis/values.yaml": b"x: 2\n"}), mtime=5)
    changed = dict(FILES_OF_A_CHART, **{"demo/charts/redis-2.0.0.tgz": other_dependency})
    assert digest(pack(changed, mtime=0)) != digest(pack(as_directory, mtime=0))


def test_tree_digest_is_sha256sum_of_the_sorted_listing():
    listing = "".join(f"{hashlib.sha256(FILES_OF_A_CHART[name]).hexdigest()}  {name.removeprefix('demo/')}\n"
                      for name in sorted(FILES_OF_A_CHART))
    assert digest(pack(FILES_OF_A_CHART, mtime=0)) == hashlib.sha256(listing.encode()).hexdigest()
