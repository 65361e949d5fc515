#!/usr/bin/env python3
"""The reference data the tests read: the pinned platform charts and the upstream files (CRDs, ...) that
versions.yml lists under kindling_versions.charts and kindling_versions.reference, each checked against its pin.

Layout (the same as ../shared/reference, which developers and CI have):
    helm-charts/<chart>-<version>.tgz     the chart archive (`helm pull --repo <repo_url> --version <version>`)
    charts/<chart>/<file>                 the files of it that tests read (charts.<key>.extract), taken from
                                          the verified archive
    <path>                                every reference.files item (crds/<group>/<file>, ...), from its url

Usage (scripts/setup --for test runs `setup` with .venv's python):
    reference.py setup ROOT [--quiet]     choose, fetch and verify the data; ROOT/.cache/reference is the result
    reference.py digest ARCHIVE...        print the tree digest of chart archives (what tree_sha256 pins)
    reference.py check DIR [ROOT]         verify DIR against ROOT/versions.yml; one line per problem

Where the data comes from, in order (setup):
    1. KINDLING_REFERENCE_DIR, when set: verified, never replaced (the tests read it directly).
    2. ROOT/.cache/reference, when complete and verified: nothing to do.
    3. Fetched from upstream (or KINDLING_REFERENCE_MIRROR) into a temporary directory, verified, then moved
       into place; a failure leaves nothing behind.
    4. ROOT/../shared/reference, verified the same way: ROOT/.cache/reference becomes a link to it.
    5. Nothing: one line per missing item; the tests that need one skip, naming it.

KINDLING_REFERENCE_MIRROR=URL replaces the upstream hosts: each chart comes from the helm repository
URL/charts/<repo_name> (index.yaml and archives; repo_name as in versions.yml), and each file
https://raw.githubusercontent.com/<owner>/<repo>/<tag>/<path> from URL/raw/<owner>/<repo>/<tag>/<path>.
"""
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

RAW_HOST = "https://raw.githubusercontent.com/"
# A connection that cannot be made fails at once; these bound a host that accepts and then stalls.
HTTP_TIMEOUT = 30
HELM_PULL_TIMEOUT = 180


@dataclass(frozen=True)
class Chart:
    key: str
    chart: str
    version: str
    repo_name: str
    repo_url: str
    tree_sha256: str
    extract: tuple

    @property
    def archive(self):
        return f"helm-charts/{self.chart}-{self.version}.tgz"

    def label(self):
        return f"chart {self.chart} {self.version}"


@dataclass(frozen=True)
class File:
    path: str
    url: str
    sha256: str


def load_pins(versions_yml):
    pins = yaml.safe_load(Path(versions_yml).read_text())["kindling_versions"]
    charts = [Chart(key, str(c["chart"]), str(c["version"]), str(c["repo_name"]), str(c["repo_url"]),
                    str(c["tree_sha256"]), tuple(c.get("extract") or ()))
              for key, c in pins["charts"].items()]
    files = [File(str(f["path"]), str(f["url"]), str(f["sha256"])) for f in pins["reference"]["files"]]
    return charts, files


# --- the tree digest ------------------------------------------------------------------------------------------

def _tree_entries(data, prefix, strip_top, entries):
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        for member in tar:
            if not member.isfile():
                continue
            parts = [p for p in PurePosixPath(member.name).parts if p not in ("", ".", "/")]
            if ".." in parts or member.name.startswith("/"):
                raise ValueError(f"unsafe path in archive: {member.name}")
            inside = parts[1:] if strip_top else parts
            if not inside:
                raise ValueError(f"a file outside the chart's directory: {member.name}")
            content = tar.extractfile(member).read()
            if len(inside) >= 2 and inside[-2] == "charts" and inside[-1].endswith(".tgz"):
                # helm package writes dependencies as charts/<name>/ directories, a chart repository may keep
                # them as charts/<name>-<version>.tgz: both count as the same files.
                _tree_entries(content, prefix + "/".join(inside[:-1]) + "/", False, entries)
                continue
            path = prefix + "/".join(inside)
            if path in entries:
                raise ValueError(f"the archive holds {path} twice")
            entries[path] = hashlib.sha256(content).hexdigest()
    return entries


def tree_entries(archive):
    """{path inside the chart: sha256 of its bytes} for every regular file of a chart archive (bytes or a path),
    dependency archives expanded in place."""
    data = archive if isinstance(archive, bytes) else Path(archive).read_bytes()
    return _tree_entries(data, "", True, {})


def tree_digest(entries):
    """sha256 of sha256sum-style lines "<sha256>  <path>\\n", sorted by path: independent of tar and gzip
    metadata (mtimes, owners, member order, compression), dependent on every file's path and bytes."""
    if not isinstance(entries, dict):
        entries = tree_entries(entries)
    listing = "".join(f"{entries[path]}  {path}\n" for path in sorted(entries))
    return hashlib.sha256(listing.encode()).hexdigest()


def _member(archive_data, name):
    with tarfile.open(fileobj=io.BytesIO(archive_data), mode="r:*") as tar:
        for member in tar:
            parts = [p for p in PurePosixPath(member.name).parts if p not in ("", ".", "/")]
            if member.isfile() and parts[1:] == [name]:
                return tar.extractfile(member).read()
    return None


def _sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --- completeness and verification ----------------------------------------------------------------------------

def expected_items(charts, files):
    """(relative path, what it is) for everything the layout holds."""
    items = []
    for chart in charts:
        items.append((chart.archive, f"{chart.label()} ({chart.repo_url})"))
        items += [(f"charts/{chart.chart}/{name}", f"{name} of {chart.label()}") for name in chart.extract]
    items += [(f.path, f.url) for f in files]
    return items


def missing_items(directory, charts, files):
    directory = Path(directory)
    return [(path, what) for path, what in expected_items(charts, files) if not (directory / path).is_file()]


def _same_chart_yaml(got, packaged):
    """helm package writes Chart.yaml from the chart's parsed metadata, so its bytes differ from the source's;
    the name must match, and the version unless the source has the v0.0.0 placeholders cert-manager's release
    tool fills in."""
    got, packaged = yaml.safe_load(got) or {}, yaml.safe_load(packaged) or {}
    if got.get("name") != packaged.get("name"):
        return False
    return str(got.get("version")) in (str(packaged.get("version")), "v0.0.0", "0.0.0")


def verify(directory, charts, files):
    """One line per problem: missing items, and items whose bytes are not the pinned ones."""
    directory = Path(directory)
    problems = [f"missing {path} ({what})" for path, what in missing_items(directory, charts, files)]
    for chart in charts:
        archive = directory / chart.archive
        if not archive.is_file():
            continue
        data = archive.read_bytes()
        try:
            got = tree_digest(tree_entries(data))
        except (tarfile.TarError, ValueError, OSError, EOFError) as error:
            problems.append(f"{chart.label()}: {chart.archive} is not a readable chart archive: {error}")
            continue
        if got != chart.tree_sha256:
            problems.append(f"{chart.label()}: {chart.archive} has tree digest {got}, "
                            f"versions.yml pins {chart.tree_sha256} (charts.{chart.key}.tree_sha256)")
            continue
        for name in chart.extract:
            path = directory / "charts" / chart.chart / name
            if not path.is_file():
                continue
            packaged = _member(data, name)
            same = packaged is not None and (
                _same_chart_yaml(path.read_bytes(), packaged) if name == "Chart.yaml" else path.read_bytes() == packaged)
            if not same:
                problems.append(f"{chart.label()}: charts/{chart.chart}/{name} is not the file in {chart.archive}")
    for item in files:
        path = directory / item.path
        if path.is_file() and (got := _sha256(path)) != item.sha256:
            problems.append(f"{item.path} has sha256 {got}, versions.yml pins {item.sha256} ({item.url})")
    return problems


# --- fetching -------------------------------------------------------------------------------------------------

class FetchError(Exception):
    pass


def _mirrored(url, mirror):
    if not mirror:
        return url
    if not url.startswith(RAW_HOST):
        raise FetchError(f"{url} is not on {RAW_HOST}, so KINDLING_REFERENCE_MIRROR cannot stand in for it")
    return f"{mirror.rstrip('/')}/raw/{url[len(RAW_HOST):]}"


def _helm_pull(chart, repo_url, destination, helm, scratch):
    env = dict(os.environ, HELM_CACHE_HOME=str(scratch / "cache"), HELM_CONFIG_HOME=str(scratch / "config"),
               HELM_DATA_HOME=str(scratch / "data"))  # no trace in the user's helm repositories and cache
    argv = [helm, "pull", chart.chart, "--repo", repo_url, "--version", chart.version, "--destination", str(destination)]
    try:
        run = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=HELM_PULL_TIMEOUT)
    except FileNotFoundError:
        raise FetchError(f"{chart.label()}: helm is not installed ({helm})") from None
    except subprocess.TimeoutExpired:
        raise FetchError(f"{chart.label()}: helm pull from {repo_url} took over {HELM_PULL_TIMEOUT} s") from None
    if run.returncode != 0:
        why = (run.stderr.strip().splitlines() or [f"exit {run.returncode}"])[-1]
        raise FetchError(f"{chart.label()}: helm pull from {repo_url} failed: {why}")
    pulled = list(Path(destination).glob("*.tgz"))
    if len(pulled) != 1:
        raise FetchError(f"{chart.label()}: helm pull from {repo_url} left {len(pulled)} archives, expected one")
    return pulled[0]


def _download(url):
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:
            return response.read()
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise FetchError(f"could not download {url}: {getattr(error, 'reason', error)}") from None


def fetch(target, charts, files, mirror=None, helm="helm", say=print):
    """Everything into target (a new directory), each item verified as it arrives; FetchError on the first
    failure (the caller removes target)."""
    target = Path(target)
    with tempfile.TemporaryDirectory(prefix="helm-") as scratch:
        scratch = Path(scratch)
        for chart in charts:
            repo_url = f"{mirror.rstrip('/')}/charts/{chart.repo_name}" if mirror else chart.repo_url
            say(f"fetching {chart.label()} from {repo_url}")
            pulled_into = scratch / "pull" / chart.key
            pulled_into.mkdir(parents=True)
            data = _helm_pull(chart, repo_url, pulled_into, helm, scratch).read_bytes()
            try:
                got = tree_digest(tree_entries(data))
            except (tarfile.TarError, ValueError, EOFError) as error:
                raise FetchError(f"{chart.label()} from {repo_url} is not a readable chart archive: {error}") from None
            if got != chart.tree_sha256:
                raise FetchError(f"{chart.label()} from {repo_url} has tree digest {got}, versions.yml pins "
                                 f"{chart.tree_sha256} (charts.{chart.key}.tree_sha256): refused")
            (target / chart.archive).parent.mkdir(parents=True, exist_ok=True)
            (target / chart.archive).write_bytes(data)
            for name in chart.extract:
                content = _member(data, name)
                if content is None:
                    raise FetchError(f"{chart.label()} has no {name} (charts.{chart.key}.extract)")
                (target / "charts" / chart.chart).mkdir(parents=True, exist_ok=True)
                (target / "charts" / chart.chart / name).write_bytes(content)
    for item in files:
        url = _mirrored(item.url, mirror)
        say(f"fetching {item.path} from {url}")
        data = _download(url)
        if (got := hashlib.sha256(data).hexdigest()) != item.sha256:
            raise FetchError(f"{item.path} from {url} has sha256 {got}, versions.yml pins {item.sha256}: refused")
        (target / item.path).parent.mkdir(parents=True, exist_ok=True)
        (target / item.path).write_bytes(data)


# --- which directory the tests read ---------------------------------------------------------------------------

HOW_TO_GET = ("get it with scripts/setup --for test (fetches the pinned charts and files: needs internet, or "
              "KINDLING_REFERENCE_MIRROR), or set KINDLING_REFERENCE_DIR to a copy")


def candidates(root, environ=None):
    environ = os.environ if environ is None else environ
    if environ.get("KINDLING_REFERENCE_DIR"):
        return [Path(environ["KINDLING_REFERENCE_DIR"])]
    return [Path(root) / ".cache" / "reference", Path(root).parent / "shared" / "reference"]


def resolve(root, environ=None):
    """(the directory the tests read, None), or (None, why not: each place looked at and what it lacks).
    Only completeness is checked here; scripts/setup verifies the bytes."""
    charts, files = load_pins(Path(root) / "versions.yml")
    looked = []
    for path in candidates(root, environ):
        if not path.is_dir():
            looked.append(f"{path} does not exist")
            continue
        missing = missing_items(path, charts, files)
        if not missing:
            return path, None
        looked.append(f"{path} lacks " + ", ".join(f"{p} ({what})" for p, what in missing))
    return None, "reference data not found: " + "; ".join(looked) + "; " + HOW_TO_GET


# --- setup ----------------------------------------------------------------------------------------------------

def _remove(path):
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def setup(root, quiet=False, environ=None, helm="helm"):
    """Returns the directory chosen, or None. Never raises for missing data: the tests skip instead."""
    environ = os.environ if environ is None else environ
    root = Path(root).resolve()
    charts, files = load_pins(root / "versions.yml")

    def say(message):
        if not quiet:
            print(f"setup: reference data: {message}", flush=True)

    def warn(message):
        print(f"setup: reference data: {message}", file=sys.stderr, flush=True)

    given = environ.get("KINDLING_REFERENCE_DIR")
    if given:
        problems = verify(given, charts, files)
        for problem in problems:
            warn(f"KINDLING_REFERENCE_DIR={given}: {problem}")
        if not problems:
            say(f"KINDLING_REFERENCE_DIR={given} verified against versions.yml")
        return Path(given)

    cache = root / ".cache" / "reference"
    if cache.is_dir():
        problems = verify(cache, charts, files)
        if not problems:
            say(f".cache/reference verified ({len(charts)} charts, {len(files)} files)"
                + (f", a link to {os.readlink(cache)}" if cache.is_symlink() else ""))
            return cache
        say(".cache/reference does not match versions.yml (" + "; ".join(problems[:3])
            + (f"; {len(problems) - 3} more" if len(problems) > 3 else "") + "): setting it up again")

    cache.parent.mkdir(parents=True, exist_ok=True)
    for stale in cache.parent.glob("reference.partial-*"):  # left by a run that was killed outright
        shutil.rmtree(stale, ignore_errors=True)
    mirror = environ.get("KINDLING_REFERENCE_MIRROR") or None
    partial = Path(tempfile.mkdtemp(prefix="reference.partial-", dir=cache.parent))
    try:
        fetch(partial, charts, files, mirror=mirror, helm=helm, say=say)
        if problems := verify(partial, charts, files):  # what the tests will read, checked as setup will re-check it
            raise FetchError("; ".join(problems))
    except FetchError as error:
        shutil.rmtree(partial, ignore_errors=True)
        warn(f"not fetched: {error}")
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    else:
        _remove(cache)
        partial.rename(cache)
        say(f"fetched and verified into .cache/reference ({len(charts)} charts, {len(files)} files)")
        return cache

    shared = root.parent / "shared" / "reference"
    if shared.is_dir():
        problems = verify(shared, charts, files)
        for problem in problems:
            warn(f"{shared}: {problem}")
        if not problems:
            _remove(cache)
            cache.symlink_to(shared.resolve())
            say(f"using {shared.resolve()} (verified against versions.yml): .cache/reference links to it")
            return cache

    if os.path.lexists(cache):  # it does not match the pins: the tests must not read it
        _remove(cache)
        warn(".cache/reference removed: it does not match versions.yml")
    for path, what in missing_items(cache, charts, files):
        print(f"setup: MISSING: reference {path} ({what}): the tests that need it will skip", file=sys.stderr)
    warn(HOW_TO_GET)
    return None


def main(argv):
    if len(argv) >= 2 and argv[0] == "setup":
        setup(argv[1], quiet="--quiet" in argv[2:], helm=os.environ.get("KINDLING_HELM", "helm"))
        return 0
    if len(argv) >= 2 and argv[0] == "digest":
        for archive in argv[1:]:
            print(f"{tree_digest(tree_entries(archive))}  {archive}")
        return 0
    if len(argv) in (2, 3) and argv[0] == "check":
        root = Path(argv[2]) if len(argv) == 3 else Path(__file__).resolve().parent.parent
        problems = verify(argv[1], *load_pins(root / "versions.yml"))
        print("\n".join(problems) or f"{argv[1]}: verified against {root / 'versions.yml'}")
        return 1 if problems else 0
    print(__doc__.split("\n\n")[2], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
