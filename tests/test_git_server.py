"""The git_server role on the real Docker engine: it builds its image (Debian's git, from the local base image
through the BASE_IMAGE build arg, since nothing can be pulled here), runs `git daemon` on a docker network made
for the test (standing in for kind's), and another container on that network clones the GitOps repository by
name at exactly the commit kindling.gitops.gitops_commit pushed to the bare repository, and cannot push."""
import json
import subprocess
import uuid

import pytest

from doubles.ansible_run import ROOT, playbook_env, run_playbook
from gitops_support import clone, git, run_module

pytestmark = [pytest.mark.docker]


def docker_cli(*args, check=False):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=300)


@pytest.fixture(scope="module")
def image_repo():
    """A repository name of this module's own; every image the role builds under it is removed afterwards."""
    repo = f"kgs-test/git-server-{uuid.uuid4().hex[:8]}"
    yield repo
    listed = docker_cli("image", "ls", "-q", repo).stdout.split()
    if listed:
        docker_cli("rmi", "-f", *listed)


@pytest.fixture
def site(docker, base_image, image_repo, tmp_path):
    """A network like kind's and the names the role is given; the container and network are removed afterwards."""
    prefix = f"kgs-{uuid.uuid4().hex[:6]}"
    docker_cli("network", "create", f"{prefix}-net", check=True)
    env = {"name": f"{prefix}-git", "network": f"{prefix}-net", "repo": tmp_path / "work" / "gitops.git",
           "image": f"{image_repo}:2.39", "base": base_image}
    yield env
    docker_cli("rm", "-f", env["name"])
    docker_cli("network", "rm", env["network"])


def git_server(env, tmp_path, *flags, **variables):
    playbook = tmp_path / "git_server.yml"
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "gather_facts": False, "vars_files": [str(ROOT / "versions.yml")],
        "vars": {"gitops_repo_url": str(env["repo"]), "git_server_name": env["name"], "git_server_network": env["network"],
                 "git_server_image": env["image"], "git_server_base_image": env["base"], **variables},
        "roles": [{"role": str(ROOT / "roles" / "git_server")}]}]))
    return run_playbook(playbook, playbook_env(tmp_path, fakes=False), "-i", "localhost,", "-c", "local", *flags,
                        timeout=600)


def inspect(container):
    result = docker_cli("inspect", container)
    return json.loads(result.stdout)[0] if result.returncode == 0 else None


def in_client(env, script):
    """A shell script in a throw-away container on the same network, from the git server's own image (it has git)."""
    image = inspect(env["name"])["Config"]["Image"]
    return docker_cli("run", "--rm", "--network", env["network"], "--user", "10002", "-e", "HOME=/tmp", "-w", "/tmp",
                  "--entrypoint", "sh", image, "-c", script)


def push_overlay(repo, tmp_path, text):
    """What the gitops role's publish step does: commit the overlay in a clone and push it with gitops_commit."""
    work = tmp_path / "clone"
    if not work.exists():
        clone(repo, work)
    overlay = work / "apps" / "app1" / "overlays" / "dev"
    overlay.mkdir(parents=True, exist_ok=True)
    (overlay / "kustomization.yaml").write_text(text)
    result = run_module("gitops_commit", {"repo_path": str(work), "paths": ["apps/app1"], "branch": "main",
                                          "commit_message": "app1 dev: deploy", "author_name": "kindling",
                                          "author_email": "kindling@localhost"})
    assert result.get("pushed"), result
    return result["commit"]


def test_serves_the_pushed_revision_by_name_refuses_pushes_and_is_idempotent_and_removable(site, tmp_path):
    env, url = site, f"git://{site['name']}/gitops.git"
    first = git_server(env, tmp_path)
    assert first.rc == 0, first.failure()
    container = inspect(env["name"])
    assert container["State"]["Running"] and env["network"] in container["NetworkSettings"]["Networks"]
    assert container["Config"]["User"] == "10002:10002" and container["HostConfig"]["ReadonlyRootfs"]
    assert [(m["Source"], m["Destination"], m["RW"]) for m in container["Mounts"]] == [
        (str(env["repo"]), "/srv/git/gitops.git", False)]

    # the role seeded the missing bare repository; the pipeline pushes to it on the host, as the gitops role does
    pushed = push_overlay(env["repo"], tmp_path, "replicas: 3\n")
    assert git("--git-dir", str(env["repo"]), "rev-parse", "main") == pushed

    seen = in_client(env, f"git ls-remote {url} && git clone -q {url} c && git -C c rev-parse HEAD"
                          " && cat c/apps/app1/overlays/dev/kustomization.yaml")
    assert seen.returncode == 0, seen.stderr
    lines = seen.stdout.splitlines()
    assert f"{pushed}\trefs/heads/main" in lines and f"{pushed}\tHEAD" in lines
    assert lines[-2:] == [pushed, "replicas: 3"]

    refused = in_client(env, f"git clone -q {url} c && cd c && git -c user.name=x -c user.email=x@x commit -q"
                             " --allow-empty -m intruder && git push origin HEAD:main")
    assert refused.returncode != 0 and "service not enabled" in refused.stderr, refused.stderr
    assert git("--git-dir", str(env["repo"]), "rev-parse", "main") == pushed

    again = git_server(env, tmp_path, "--diff")
    assert again.rc == 0 and again.stats["changed"] == 0, [n for n, r in again.results() if r.get("changed")]
    assert inspect(env["name"])["Id"] == container["Id"]

    down = git_server(env, tmp_path, git_server_state="absent")
    assert down.rc == 0 and down.stats["changed"] == 1, down.failure()
    assert inspect(env["name"]) is None
    assert git("--git-dir", str(env["repo"]), "rev-parse", "main") == pushed, "the repository itself stays"
    assert git_server(env, tmp_path, git_server_state="absent").stats["changed"] == 0


def test_check_mode_builds_runs_and_creates_nothing(site, tmp_path):
    env = dict(site, image=f"kgs-test/never-built-{uuid.uuid4().hex[:8]}:1")
    run = git_server(env, tmp_path, "--check", "--diff")
    assert run.rc == 0, run.failure()
    assert run.stats["changed"] >= 3  # it says what it would do: seed the repository, build, run
    assert inspect(env["name"]) is None
    assert docker_cli("image", "ls", "-q", env["image"].split(":")[0]).stdout.strip() == ""
    assert not env["repo"].exists()


@pytest.mark.parametrize("bad, field", [
    ({"git_server_name": "Kindling_Git"}, "git_server_name"),
    ({"git_server_image": "kindling/git-server:latest"}, "git_server_image"),
    ({"gitops_repo_url": "relative/gitops.git"}, "git_server_repo_path"),
])
def test_bad_input_fails_naming_the_field_before_docker_is_touched(site, tmp_path, bad, field):
    run = git_server(site, tmp_path, **bad)
    name, result = run.failure()
    assert field in result["msg"] and "Traceback" not in result["msg"]
    assert inspect(site["name"]) is None and not site["repo"].exists()
