"""The local_registry role against the real Docker engine, for what its molecule scenario does not do
(molecule/local_registry wires a registry container to a node container on a real network, proves a re-run
changes nothing, unwires it and removes it with the cascade): check mode creates nothing, and an unpinned image
fails before Docker is touched. The registry image is the session's look-alike (conftest `registry_image`), the
node a container named like kind's (listed by the fake kind), the ConfigMap goes to the Kubernetes API double."""
import json
import subprocess
import uuid

import pytest

from doubles.ansible_run import ROOT, playbook_env, run_playbook
from doubles.k8s_api import KubeAPIDouble
from support.net import free_port

pytestmark = [pytest.mark.docker, pytest.mark.contract]


def docker(*args, check=True):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


@pytest.fixture
def kind_like(docker, base_image, registry_image, tmp_path):
    """A network and a node container named like kind's, registered with the fake kind; removed afterwards."""
    prefix = f"kcl-{uuid.uuid4().hex[:6]}"
    node = f"{prefix}-control-plane"
    docker_run = ["run", "-d", "--name", node, "--network", f"{prefix}-net", "--label", f"io.x-k8s.kind.cluster={prefix}",
                  "--label", "io.x-k8s.kind.role=control-plane", base_image, "sleep", "infinity"]
    subprocess.run(["docker", "network", "create", f"{prefix}-net"], check=True, capture_output=True)
    subprocess.run(["docker", *docker_run], check=True, capture_output=True)
    (tmp_path / "fake-kind.json").write_text(json.dumps({"clusters": {prefix: {"config": {}, "api_port": 40000,
                                                                                "containers": {node: {}}}}}))
    api = KubeAPIDouble().start()
    yield {"prefix": prefix, "node": node, "api": api, "port": free_port(), "image": registry_image}
    api.stop()
    for name in (node, f"{prefix}-registry"):
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    subprocess.run(["docker", "network", "rm", f"{prefix}-net"], capture_output=True)


@pytest.fixture
def fresh_machine(docker, registry_image, tmp_path):
    """Names of a network, cluster and registry that do not exist, as before the first bootstrap: no kind cluster
    (the fake kind knows none), no kubeconfig."""
    prefix = f"kcl-{uuid.uuid4().hex[:6]}"
    yield {"prefix": prefix, "port": free_port(), "image": registry_image, "kubeconfig": tmp_path / "no-kubeconfig"}
    subprocess.run(["docker", "rm", "-f", f"{prefix}-registry"], capture_output=True)
    subprocess.run(["docker", "network", "rm", f"{prefix}-net"], capture_output=True)


def registry_role(env, tmp_path, *flags, **variables):
    kubeconfig = env["kubeconfig"] if "kubeconfig" in env else env["api"].write_kubeconfig(tmp_path / "kubeconfig")
    playbook = tmp_path / "registry.yml"
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "gather_facts": False, "vars_files": [str(ROOT / "versions.yml")],
        "vars": {"kubeconfig_path": str(kubeconfig), "kube_context": "kind-kindling",
                 "local_registry_name": f"{env['prefix']}-registry", "local_registry_image": env["image"],
                 "local_registry_host_port": env["port"], "local_registry_network": f"{env['prefix']}-net",
                 "local_registry_cluster_name": env["prefix"], **variables},
        "roles": [{"role": str(ROOT / "roles" / "local_registry")}]}]))
    return run_playbook(playbook, playbook_env(tmp_path), "-i", "localhost,", "-c", "local", *flags)


def networks_of(container):
    result = docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", container, check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


def hosts_toml(node, port):
    return docker("exec", node, "cat", f"/etc/containerd/certs.d/localhost:{port}/hosts.toml", check=False)


def test_check_mode_creates_no_container_file_or_configmap(kind_like, tmp_path):
    env = kind_like
    run = registry_role(env, tmp_path, "--check")
    assert run.stats["failures"] == 0, run.failure()
    assert networks_of(f"{env['prefix']}-registry") is None
    assert hosts_toml(env["node"], env["port"]).returncode != 0
    assert env["api"].get("configmaps", "local-registry-hosting", "kube-public") is None


def test_check_mode_before_the_cluster_exists_succeeds_and_creates_nothing(fresh_machine, tmp_path):
    env = fresh_machine
    run = registry_role(env, tmp_path, "--check")
    assert run.stats["failures"] == 0, run.failure()
    assert "would run" in run.result("Say what check mode would do before the cluster exists")["msg"]
    assert networks_of(f"{env['prefix']}-registry") is None
    assert docker("network", "inspect", f"{env['prefix']}-net", check=False).returncode != 0


def test_unpinned_registry_image_fails_before_docker_is_touched(kind_like, tmp_path):
    env = kind_like
    run = registry_role(env, tmp_path, local_registry_image="registry:latest")
    name, result = run.failure()
    assert "local_registry_image" in result["msg"]
    assert networks_of(f"{env['prefix']}-registry") is None
