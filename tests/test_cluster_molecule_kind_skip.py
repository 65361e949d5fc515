"""molecule/kind/skip-unless: it must say exactly what keeps the end-to-end scenario from running, and let it
run when everything is there. Stub docker/kind/helm executables in a temp dir play the machine's tools."""
import os
import subprocess

import pytest
import yaml

from doubles.ansible_run import ROOT

pytestmark = pytest.mark.fast

SKIP_UNLESS = ROOT / "molecule" / "kind" / "skip-unless"
PINS = yaml.safe_load((ROOT / "versions.yml").read_text())["kindling_versions"]


def stub(bin_dir, name, script):
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(0o755)


def machine(tmp_path, docker_info=0, image_present=False, kind=PINS["tools"]["kind"], helm=True, kubectl=True, podman=True):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub(bin_dir, "docker", f'case "$1" in info) exit {docker_info};; image) exit {0 if image_present else 1};; '
                            'esac; exit 1')
    if kind:
        stub(bin_dir, "kind", f'echo "kind {kind} go1.25.4 linux/amd64"')
    if helm:
        stub(bin_dir, "helm", "exit 0")
    if kubectl:
        stub(bin_dir, "kubectl", "exit 0")
    if podman:
        stub(bin_dir, "podman", "exit 0")
    for tool in ("bash", "sed", "awk", "dirname"):  # what the script itself runs, nothing else
        os.symlink(subprocess.run(["which", tool], capture_output=True, text=True).stdout.strip(), bin_dir / tool)
    return bin_dir


def skip_unless(bin_dir, **env):
    result = subprocess.run([str(bin_dir / "bash"), str(SKIP_UNLESS)], capture_output=True, text=True,
                            env={"PATH": str(bin_dir), **env})
    return result.returncode, result.stdout.strip()


def test_runs_when_image_is_local_without_any_gitops_url(tmp_path):
    """The git server container serves the default local repository to the cluster: no URL to provide."""
    assert skip_unless(machine(tmp_path, image_present=True)) == (0, "")


def test_pulls_allowed_by_the_caller_count_as_reachable_image(tmp_path):
    code, _ = skip_unless(machine(tmp_path), KINDLING_E2E_PULL="1")
    assert code == 0


@pytest.mark.parametrize("machine_kwargs, env, reason", [
    ({"docker_info": 1}, {}, "no Docker engine answers 'docker info'"),
    ({"kind": None}, {}, "kind is not installed (the scenario needs kind v0.32.0)"),
    ({"kind": "v0.31.0"}, {}, "kind is v0.31.0, the project pins v0.32.0"),
    ({"helm": False}, {}, "helm is not on PATH"),
    ({"kubectl": False}, {}, "kubectl is not on PATH"),
    ({"podman": False}, {}, "podman is not on PATH"),
    ({}, {}, f"kind node image {PINS['kind_node_image']} is not in the local image store"),
])
def test_says_why_it_cannot_run(tmp_path, machine_kwargs, env, reason):
    code, message = skip_unless(machine(tmp_path, **machine_kwargs), **env)
    assert code == 1 and message.startswith(reason), message


def test_this_machine_either_runs_the_scenario_or_says_why_not():
    """Where no image can be pulled (as on the development machines), the scenario skips with a reason."""
    result = subprocess.run([str(SKIP_UNLESS)], capture_output=True, text=True)
    print("molecule kind skip-unless here:", result.returncode, result.stdout.strip())
    if result.returncode == 0:
        assert result.stdout == ""
    else:
        assert result.returncode == 1 and result.stdout.strip()
