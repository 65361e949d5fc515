"""`scripts/services mirror`: the Debian mirror the base image is debootstrapped from, read from apt's own sources
(fixture apt dirs through KINDLING_APT_SOURCES_DIR), or KINDLING_DEBIAN_MIRROR. debootstrap itself is not run.
The hosts below are under .test (reserved, never resolved): nothing is contacted."""
import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.fast

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "services"
KEY = "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"


def mirror(apt_dir: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("KINDLING_DEBIAN_MIRROR", "KINDLING_APT_SOURCES_DIR")}
    environ.update(KINDLING_APT_SOURCES_DIR=str(apt_dir), **env)
    return subprocess.run(["bash", str(SCRIPT), "mirror"], env=environ, capture_output=True, text=True, timeout=30)


def apt(tmp_path: Path, sources: dict[str, str] | None = None, sources_list: str | None = None) -> Path:
    """An apt config root: sources.list.d/<name> for each of sources, and sources.list when given."""
    (tmp_path / "sources.list.d").mkdir(parents=True)
    for name, text in (sources or {}).items():
        (tmp_path / "sources.list.d" / name).write_text(text)
    if sources_list is not None:
        (tmp_path / "sources.list").write_text(sources_list)
    return tmp_path


def found(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_deb822_one_uri(tmp_path):
    # What a Debian 12 image ships: the archive stanza, then security (whose suite is not bookworm).
    root = apt(tmp_path, {"debian.sources": f"""Types: deb
URIs: http://one.test/debian
Suites: bookworm bookworm-updates
Components: main
{KEY}

Types: deb
URIs: http://security.test/debian-security
Suites: bookworm-security
Components: main
{KEY}
"""})
    assert found(mirror(root)) == "http://one.test/debian"


def test_deb822_several_uris_on_one_line_takes_the_first(tmp_path):
    root = apt(tmp_path, {"debian.sources": "Types: deb\nURIs: http://first.test/debian  https://second.test/debian\n"
                                            "Suites: bookworm\nComponents: main contrib\n"})
    assert found(mirror(root)) == "http://first.test/debian"


def test_deb822_disabled_stanza_is_skipped(tmp_path):
    root = apt(tmp_path, {"debian.sources": """Types: deb
URIs: http://disabled.test/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb
URIs: http://enabled.test/debian
Suites: bookworm
Components: main
"""})
    assert found(mirror(root)) == "http://enabled.test/debian"


def test_deb822_comments_are_not_fields(tmp_path):
    # As on these machines: a commented-out snapshot URL inside the stanza, here above and below the real URIs line.
    root = apt(tmp_path, {"debian.sources": """# the archive
Types: deb
# URIs: http://commented-above.test/debian
URIs: http://real.test/debian
#URIs: http://commented-below.test/debian
Suites: bookworm
Components: main
"""})
    assert found(mirror(root)) == "http://real.test/debian"


def test_deb822_deb_src_only_stanza_is_skipped(tmp_path):
    root = apt(tmp_path, {"debian.sources": """Types: deb-src
URIs: http://sources-only.test/debian
Suites: bookworm
Components: main

Types: deb deb-src
URIs: http://binaries.test/debian
Suites: bookworm
Components: main
"""})
    assert found(mirror(root)) == "http://binaries.test/debian"


@pytest.mark.parametrize("options", ["[arch=amd64]", "[ arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg ]"])
def test_sources_list_with_options_skips_deb_src_and_comments(tmp_path, options):
    root = apt(tmp_path, sources_list=f"""# deb http://commented.test/debian bookworm main
deb-src http://sources-only.test/debian bookworm main
deb http://trailing-comment.test/debian bookworm contrib # main is listed below
deb {options} http://listed.test/debian bookworm main
deb http://later.test/debian bookworm main
""")
    assert found(mirror(root)) == "http://listed.test/debian"


def test_debian_sources_wins_over_sources_list(tmp_path):
    # Debian 12 keeps its archive in sources.list.d/debian.sources; a sources.list left beside it is the
    # pre-12 leftover an upgrade or an image build did not clean, so debian.sources is read first.
    root = apt(tmp_path, {"debian.sources": "Types: deb\nURIs: http://deb822.test/debian\nSuites: bookworm\nComponents: main\n"},
               sources_list="deb http://one-line.test/debian bookworm main\n")
    assert found(mirror(root)) == "http://deb822.test/debian"


def test_no_mirror_fails_naming_the_override(tmp_path):
    # Only what cannot be a bookworm mirror: a disabled stanza, security, deb-src, a comment.
    root = apt(tmp_path, {"debian.sources": """Types: deb
URIs: http://disabled.test/debian
Suites: bookworm
Components: main
Enabled: no

Types: deb
URIs: http://security.test/debian-security
Suites: bookworm-security
Components: main
"""}, sources_list="# deb http://commented.test/debian bookworm main\ndeb-src http://src.test/debian bookworm main\n")
    result = mirror(root)
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "KINDLING_DEBIAN_MIRROR" in lines[0], result.stderr


def test_empty_apt_dir_fails_naming_the_override(tmp_path):
    result = mirror(apt(tmp_path))
    assert result.returncode != 0 and "KINDLING_DEBIAN_MIRROR" in result.stderr


def test_override_wins_over_apt_sources(tmp_path):
    root = apt(tmp_path, {"debian.sources": "Types: deb\nURIs: http://apt.test/debian\nSuites: bookworm\nComponents: main\n"})
    assert found(mirror(root, KINDLING_DEBIAN_MIRROR="http://override.test/debian")) == "http://override.test/debian"


def test_this_machine_uses_its_debian_sources():
    real = Path("/etc/apt/sources.list.d/debian.sources")
    if not real.is_file():
        pytest.skip(f"{real} is absent: this machine is not a deb822 Debian")
    stanzas = [dict(line.split(":", 1) for line in block.splitlines() if ":" in line and not line.startswith("#"))
               for block in real.read_text().split("\n\n")]
    bookworm = [s for s in stanzas if "bookworm" in s.get("Suites", "").split()]
    if not bookworm:
        pytest.skip(f"{real} lists no bookworm suite: this machine needs KINDLING_DEBIAN_MIRROR")
    assert found(mirror(Path("/etc/apt"))) == bookworm[0]["URIs"].split()[0]
