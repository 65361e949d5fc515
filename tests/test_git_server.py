"""The git_server role on the real Docker engine, for what its molecule scenario does not do: molecule/git_server
serves the repository, clones it by name from another container at exactly the pushed commit, sees a push
refused, proves a re-run changes nothing and removes it with state absent. Here: --check creates nothing (also
before the kind network exists), a repository created and pushed to under umask 077 is still served, and bad input
fails naming the field before Docker is touched."""
import json
import os
import subprocess
import time
import uuid

import pytest

from doubles.ansible_run import ROOT, playbook_env, run_playbook

pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("test_git_server")]


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


def test_check_mode_builds_runs_and_creates_nothing(site, tmp_path):
    env = dict(site, image=f"kgs-test/never-built-{uuid.uuid4().hex[:8]}:1")
    run = git_server(env, tmp_path, "--check", "--diff")
    assert run.rc == 0, run.failure()
    assert run.stats["changed"] >= 3  # it says what it would do: seed the repository, build, run
    assert inspect(env["name"]) is None
    assert docker_cli("image", "ls", "-q", env["image"].split(":")[0]).stdout.strip() == ""
    assert not env["repo"].exists()


def test_check_mode_before_the_kind_network_exists_says_what_it_would_run_and_creates_nothing(site, tmp_path):
    env = dict(site, network=f"{site['network']}-not-yet")
    run = git_server(env, tmp_path, "--check")
    assert run.rc == 0, run.failure()
    assert "would run" in run.result("Say what check mode would run before the network exists")["msg"]
    assert inspect(env["name"]) is None and not env["repo"].exists()
    assert docker_cli("network", "inspect", env["network"]).returncode != 0


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


def clone_by_name(env, image):
    """HEAD of the repository as a client on the network, running as the server's uid, clones it by name."""
    url = f"git://{env['name']}/gitops.git"
    for _attempt in range(10):
        result = docker_cli("run", "--rm", "--network", env["network"], "--user", "10002", "-e", "HOME=/tmp", "-w", "/tmp",
                            "--entrypoint", "sh", image, "-c", f"git clone -q {url} c && git -C c rev-parse HEAD")
        if result.returncode == 0:
            return result.stdout.strip()
        time.sleep(1)
    return result.stderr


def test_a_repository_created_and_pushed_to_under_umask_077_is_served(site, tmp_path):
    previous = os.umask(0o077)
    try:
        run = git_server(site, tmp_path)
        assert run.rc == 0, run.failure()
        clone = tmp_path / "clone"
        subprocess.run(["git", "clone", "-q", str(site["repo"]), str(clone)], check=True)
        subprocess.run(["git", "-C", str(clone), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                        "--allow-empty", "-m", "pushed under umask 077"], check=True)
        subprocess.run(["git", "-C", str(clone), "push", "-q", "origin", "HEAD:main"], check=True)
        pushed = subprocess.run(["git", "-C", str(clone), "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip()
    finally:
        os.umask(previous)
    assert clone_by_name(site, inspect(site["name"])["Config"]["Image"]) == pushed
