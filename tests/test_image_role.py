"""The image role against the real Docker engine and real registries (Debian docker-registry) on 127.0.0.1.

Each test copies the fixture build context (tests/fixtures/image/context) into its own temp dir, pushes to
a repository with a unique name (kindling-imagetest/<uuid>) and removes its local images afterwards.
Docker's client config is a per-test DOCKER_CONFIG, so logins never touch the machine's own.
"""
import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_CONTEXT = ROOT / "tests" / "fixtures" / "image" / "context"
TAG_FORM = re.compile(r"^1\.0\.0-[0-9a-f]{12}$")
WHEELHOUSE_TASK = "Bring the wheelhouse in line with the pins, on the host (the build reaches no package index)"

pytestmark = pytest.mark.docker

PLAYBOOK = """\
- name: Build stage only
  hosts: localhost
  gather_facts: false
  vars_files:
    - {versions}
  roles:
    - role: image
  tasks:
    - name: Hand the fact to the test
      ansible.builtin.debug:
        var: kindling_image
"""


class ImageRun:
    """One image role set-up: context, registry, repository, and how to run ansible-playbook on it."""

    def __init__(self, tmp_path, registry, base_image, password=None, source=FIXTURE_CONTEXT):
        self.registry = registry
        self.context = tmp_path / "checkout" / "app"
        # The wheelhouse and the app's own tests are not copied: the role must make the former itself.
        shutil.copytree(source, self.context, symlinks=True, ignore=shutil.ignore_patterns("wheels", "tests"))
        # build-wheelhouse takes its pins from the checkout's top-level requirements.txt.
        shutil.copy(ROOT / "requirements.txt", self.context.parent / "requirements.txt")
        self.repository = f"kindling-imagetest/{uuid.uuid4().hex[:12]}"
        self.playbook = tmp_path / "build.yml"
        self.playbook.write_text(PLAYBOOK.format(versions=ROOT / "versions.yml"))
        self.inventory = tmp_path / "hosts.yml"
        self.inventory.write_text(
            "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
            "      ansible_python_interpreter: \"{{ ansible_playbook_python }}\"\n")
        self.docker_config = tmp_path / "docker-config"
        self.docker_config.mkdir()
        self.extra = {
            "app_name": "app1", "image_context": str(self.context), "image_registry": registry.host,
            "image_repository": self.repository, "image_base": base_image, "image_commit": "0123abcd",
            "image_registry_retry_delay": 0.2, "image_base_python": "3.11",
        }
        self.env = dict(os.environ, DOCKER_CONFIG=str(self.docker_config), ANSIBLE_NOCOLOR="1",
                        KINDLING_REGISTRY_USERNAME="", KINDLING_REGISTRY_PASSWORD="")
        if registry.username:
            self.env.update(KINDLING_REGISTRY_USERNAME=registry.username,
                            KINDLING_REGISTRY_PASSWORD=password or registry.password)

    def run(self, *args, json_output=True, **extra):
        env = dict(self.env)
        if json_output:
            env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
        variables = dict(self.extra, **extra)
        proc = subprocess.run(
            ["ansible-playbook", "-i", str(self.inventory), str(self.playbook), "-e", json.dumps(variables), *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        return Result(proc, json_output)

    @property
    def image_name(self):
        return f"{self.registry.host}/{self.repository}"

    def local_images(self):
        out = subprocess.run(["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}", self.image_name],
                             capture_output=True, text=True, check=True).stdout
        return sorted(out.split("\n")[:-1])

    def inspect(self, tag):
        out = subprocess.run(["docker", "image", "inspect", f"{self.image_name}:{tag}"],
                             capture_output=True, text=True, check=True).stdout
        return json.loads(out)[0]

    def cleanup(self):
        for line in self.local_images():
            subprocess.run(["docker", "image", "rm", "-f", line.split()[0]], capture_output=True)


class Result:
    def __init__(self, proc, json_output):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.data = None
        if json_output and proc.stdout.lstrip().startswith("{"):
            self.data = json.loads(proc.stdout)

    @property
    def stats(self):
        return self.data["stats"]["localhost"]

    def task(self, name):
        for play in self.data["plays"]:
            for task in play["tasks"]:
                if task["task"]["name"].endswith(name):
                    return task["hosts"]["localhost"]
        return None

    @property
    def image(self):
        return self.task("Hand the fact to the test")["kindling_image"]

    def failure(self):
        for play in self.data["plays"]:
            for task in play["tasks"]:
                host = task["hosts"].get("localhost", {})
                if host.get("failed"):
                    # A looped task (the settings check) fails per item; its message is the failed items'.
                    items = [item.get("msg", "") for item in host.get("results", []) if item.get("failed")]
                    return task["task"]["name"], " ".join(items) or host.get("msg", "")
        return None

    def explain(self):
        return f"rc={self.rc}\nstdout:\n{self.stdout[-6000:]}\nstderr:\n{self.stderr[-3000:]}"


def _setup(tmp_path, registry, base_image, **kwargs):
    return ImageRun(tmp_path, registry, base_image, **kwargs)


@pytest.fixture
def plain_run(tmp_path, shared_registry, base_image):
    """The session's registry (no auth); the run pushes to a repository of its own."""
    run = _setup(tmp_path, shared_registry, base_image)
    yield run
    run.cleanup()


@pytest.fixture
def own_registry_run(tmp_path, registry, base_image):
    """A registry of this test's own, for a test that stops or wipes it."""
    run = _setup(tmp_path, registry, base_image)
    yield run
    run.cleanup()


def test_with_credentials_first_run_builds_and_pushes_then_nothing_changes_even_in_check_mode(tmp_path, auth_registry,
                                                                                           base_image):
    """Without credentials, the same is molecule/image's scenario (converge, idempotence, verify)."""
    image_run = _setup(tmp_path, auth_registry, base_image)
    try:
        first = image_run.run()
        assert first.rc == 0, first.explain()
        assert first.stats["changed"] >= 2, first.explain()  # build + push
        image = first.image
        assert TAG_FORM.match(image["tag"]), image
        assert image_run.registry.tags(image_run.repository) == [image["tag"]]
        # The digest handed on is exactly what the registry serves for the tag, and ref pins it.
        assert image["digest"] == image_run.registry.digest(image_run.repository, image["tag"])
        assert image["ref"] == f"{image_run.registry.host}/{image_run.repository}@{image['digest']}"
        local = image_run.inspect(image["tag"])
        assert local["Config"]["Labels"]["org.opencontainers.image.revision"] == "0123abcd"
        assert local["Config"]["Labels"]["org.opencontainers.image.version"] == "1.0.0"

        second = image_run.run()
        assert second.rc == 0, second.explain()
        assert second.stats["changed"] == 0, second.explain()
        assert second.task("Build the image with the classic builder") is None, "the build step ran again"
        again = image_run.inspect(image["tag"])
        assert (again["Id"], again["Created"]) == (local["Id"], local["Created"])
        contract = ("registry", "repository", "tag", "digest", "ref")
        assert [second.image[k] for k in contract] == [image[k] for k in contract]
        assert (image["pushed"], second.image["pushed"]) == (True, False)

        checked = image_run.run("--check")
        assert checked.rc == 0 and checked.stats["changed"] == 0, checked.explain()
    finally:
        image_run.cleanup()


def test_registry_not_the_local_daemon_decides(own_registry_run):
    """The image exists locally but the registry lacks it: pushed again; no rebuild happens."""
    first = own_registry_run.run()
    assert first.rc == 0, first.explain()
    tag = first.image["tag"]
    before = own_registry_run.inspect(tag)
    # A wiped registry: same port, empty storage.
    own_registry_run.registry.stop()
    shutil.rmtree(own_registry_run.registry.workdir / "storage")
    own_registry_run.registry.start()
    assert own_registry_run.registry.tags(own_registry_run.repository) == []

    second = own_registry_run.run()
    assert second.rc == 0, second.explain()
    assert second.stats["changed"] >= 1, second.explain()
    assert own_registry_run.registry.digest(own_registry_run.repository, tag) == second.image["digest"]
    assert own_registry_run.inspect(tag)["Id"] == before["Id"]


def test_only_a_change_docker_can_see_gives_a_new_tag_and_a_push(plain_run):
    first = plain_run.run()
    assert first.rc == 0, first.explain()
    invisible = {
        "an ignored file": lambda: (plain_run.context / "docs" / "notes.md").write_text("edited notes\n"),
        "new files in ignored dirs": lambda: (
            (plain_run.context / "build" / "more.txt").write_text("more build output\n"),
            (plain_run.context / "app" / "__pycache__").mkdir(),
            (plain_run.context / "app" / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"\0pyc")),
        "a file outside the context": lambda: (plain_run.context.parent / "README.md").write_text("next to it\n"),
        "timestamps": lambda: os.utime(plain_run.context / "app" / "main.py", (1, 1)),
    }
    for change, make in invisible.items():
        make()
        again = plain_run.run()
        assert again.rc == 0, again.explain()
        assert again.stats["changed"] == 0 and again.image["tag"] == first.image["tag"], f"{change}: {again.explain()}"
    assert plain_run.registry.tags(plain_run.repository) == [first.image["tag"]]

    (plain_run.context / "app" / "main.py").write_text('print("changed")\n')
    second = plain_run.run()
    assert second.rc == 0, second.explain()
    assert second.stats["changed"] >= 2, second.explain()
    old, new = first.image["tag"], second.image["tag"]
    assert new != old and TAG_FORM.match(new)
    assert sorted(plain_run.registry.tags(plain_run.repository)) == sorted([old, new])
    assert second.image["digest"] == plain_run.registry.digest(plain_run.repository, new)
    assert second.image["digest"] != first.image["digest"]


def test_build_arg_change_gives_a_new_tag(plain_run):
    first = plain_run.run()
    assert first.rc == 0, first.explain()
    second = plain_run.run(image_build_args={"EXTRA": "1"})
    assert second.rc == 0, second.explain()
    assert second.image["tag"] != first.image["tag"]
    # The commit is a label, not part of the tag: a new commit alone builds nothing.
    third = plain_run.run(image_commit="fedcba98")
    assert third.rc == 0, third.explain()
    assert third.stats["changed"] == 0 and third.image["tag"] == first.image["tag"], third.explain()


def test_wrong_password_fails_naming_the_registry_and_pushes_nothing(tmp_path, auth_registry, base_image):
    run = _setup(tmp_path, auth_registry, base_image, password="not-the-password")
    try:
        result = run.run()
        assert result.rc != 0, result.explain()
        task, message = result.failure()
        assert task.endswith("Ask the registry whether it already has this tag")
        assert auth_registry.host in message and "rejected the credentials" in message, message
        assert "Traceback" not in result.stdout + result.stderr
        assert "not-the-password" not in result.stdout + result.stderr
        assert auth_registry.catalog() == []
        assert run.local_images() == []
        assert not (run.docker_config / "config.json").exists()
    finally:
        run.cleanup()


def test_missing_credentials_fail_naming_the_registry(tmp_path, auth_registry, base_image):
    run = _setup(tmp_path, auth_registry, base_image)
    run.env.update(KINDLING_REGISTRY_USERNAME="", KINDLING_REGISTRY_PASSWORD="")
    result = run.run()
    assert result.rc != 0, result.explain()
    _task, message = result.failure()
    assert f"registry {auth_registry.host} requires credentials" in message, message
    assert auth_registry.catalog() == []


def test_stopped_registry_fails_clearly_after_bounded_retries(own_registry_run):
    own_registry_run.registry.stop()
    result = own_registry_run.run(image_registry_retries=2)
    assert result.rc != 0, result.explain()
    _task, message = result.failure()
    assert f"registry {own_registry_run.registry.host} is unreachable after 3 attempts" in message, message
    assert own_registry_run.local_images() == []


def test_check_mode_touches_neither_registry_nor_docker(tmp_path, auth_registry, base_image):
    run = _setup(tmp_path, auth_registry, base_image)
    try:
        result = run.run("--check")
        assert result.rc == 0, result.explain()
        message = result.task("Say what check mode would do")["msg"]
        assert "would build" in message and auth_registry.host in message
        assert auth_registry.catalog() == []
        # A build would have tagged an image under this run's own repository (the Docker engine's whole image list
        # is no measure: other tests build at the same time).
        assert run.local_images() == []
        assert not (run.docker_config / "config.json").exists()
        assert result.image["digest"] == "" and result.image["ref"] == ""
    finally:
        run.cleanup()


def test_credentials_never_reach_the_log_or_the_context(tmp_path, auth_registry, base_image):
    run = _setup(tmp_path, auth_registry, base_image)
    try:
        result = run.run("-vvv", json_output=False)
        assert result.rc == 0, result.explain()
        assert auth_registry.password not in result.stdout + result.stderr
        # Docker's own store holds the login (0600), and nothing else on disk does.
        config = run.docker_config / "config.json"
        assert config.stat().st_mode & 0o077 == 0
        assert auth_registry.host in json.loads(config.read_text())["auths"]
        assert not any(auth_registry.password in p.read_text(errors="ignore")
                       for p in run.context.rglob("*") if p.is_file())
    finally:
        run.cleanup()


@pytest.mark.parametrize("field, value, expected", [
    ("image_repository", "Kindling/UPPER", "image_repository"),
    ("image_registry", "http://127.0.0.1:5000", "image_registry"),
    ("image_version", "1.0.0+build.7", "image_version:"),
    ("image_dockerfile", "Missing.Dockerfile", "image_dockerfile:"),
    ("image_registry_password", "only-a-password", "image_registry_password:"),
])
def test_bad_input_fails_naming_the_field_and_writes_nothing(plain_run, field, value, expected):
    result = plain_run.run(**{field: value})
    assert result.rc != 0, result.explain()
    _task, message = result.failure()
    assert expected in message, message
    assert "Traceback" not in result.stdout + result.stderr
    if field == "image_registry_password":
        assert value not in result.stdout + result.stderr
    assert plain_run.registry.tags(plain_run.repository) == []
    assert plain_run.local_images() == []


def test_the_app_builds_offline_from_a_wheelhouse_the_role_prepares(tmp_path, shared_registry, base_image):
    if not (ROOT / "app" / "Dockerfile").is_file():
        pytest.skip("app/Dockerfile is not there yet (the app engineer's area)")
    registry = shared_registry
    run = _setup(tmp_path, registry, base_image, source=ROOT / "app")
    try:
        first = run.run(image_commit="")
        assert first.rc == 0, first.explain()
        assert any(run.context.glob("wheels/*.whl")), "the role did not prepare the wheelhouse"
        image = first.image
        assert image["digest"] == registry.digest(run.repository, image["tag"])
        assert image["tag"].startswith((ROOT / "app" / "VERSION").read_text().strip() + "-")
        labels = run.inspect(image["tag"])["Config"]["Labels"]
        # The checkout in tmp is not a git repository: the label says so instead of inventing a commit.
        assert labels["org.opencontainers.image.revision"] == "unknown"
        second = run.run(image_commit="")
        assert second.rc == 0 and second.stats["changed"] == 0, second.explain()
        assert second.image["tag"] == image["tag"]
        assert second.task(WHEELHOUSE_TASK).get("skipped"), "the wheelhouse was synced again with the same pins"

        # New pin files make the role sync the wheelhouse again; the same wheels keep the same tag.
        pins = run.context.parent / "requirements.txt"
        pins.write_text(pins.read_text() + "# a comment changes the pin file, not the wheels\n")
        third = run.run(image_commit="")
        assert third.rc == 0, third.explain()
        assert "wheelhouse: unchanged" in third.task(WHEELHOUSE_TASK)["stdout"]
        assert third.image["tag"] == image["tag"] and third.image["pushed"] is False
    finally:
        run.cleanup()


def _git(cwd, *args):
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=cwd,
                          capture_output=True, text=True, check=True).stdout.strip()


def test_the_commit_is_a_label_never_part_of_the_tag(plain_run):
    checkout = plain_run.context.parent
    _git(checkout, "init", "-q", "-b", "main")
    _git(checkout, "add", "-A")
    _git(checkout, "commit", "-q", "-m", "first")
    first = plain_run.run(image_commit="")
    assert first.rc == 0, first.explain()
    commit = _git(checkout, "log", "-1", "--format=%H", "--", "app")
    assert plain_run.inspect(first.image["tag"])["Config"]["Labels"]["org.opencontainers.image.revision"] == commit

    (checkout / "README.md").write_text("a commit outside the build context\n")
    _git(checkout, "add", "README.md")
    _git(checkout, "commit", "-q", "-m", "docs only")
    second = plain_run.run(image_commit="")
    assert second.rc == 0 and second.stats["changed"] == 0, second.explain()
    assert second.image["tag"] == first.image["tag"]

    (plain_run.context / "app" / "main.py").write_text('print("uncommitted")\n')
    third = plain_run.run(image_commit="")
    assert third.rc == 0, third.explain()
    assert third.image["tag"] != first.image["tag"]
    labels = plain_run.inspect(third.image["tag"])["Config"]["Labels"]
    assert labels["org.opencontainers.image.revision"] == commit + "-dirty"


def test_a_new_base_image_under_the_same_name_gives_a_new_tag(tmp_path, shared_registry, base_image):
    """python:3.12-slim moves under its name: the base image's ID, not just its name, is part of the tag."""
    moving = f"kindling-imagetest-base:{uuid.uuid4().hex[:12]}"
    subprocess.run(["docker", "tag", base_image, moving], check=True)
    run = _setup(tmp_path, shared_registry, moving)
    try:
        first = run.run()
        assert first.rc == 0, first.explain()
        rebuilt = tmp_path / "rebased"
        rebuilt.mkdir()
        (rebuilt / "Dockerfile").write_text(f"FROM {base_image}\nLABEL io.kindling.test=moved-base\n")
        subprocess.run(["docker", "build", "-q", "-t", moving, str(rebuilt)], check=True, capture_output=True,
                       env=dict(os.environ, DOCKER_BUILDKIT="0"))
        second = run.run()
        assert second.rc == 0, second.explain()
        assert second.image["tag"] != first.image["tag"] and second.image["pushed"] is True
    finally:
        run.cleanup()
        subprocess.run(["docker", "image", "rm", "-f", moving], capture_output=True)
