"""The local_registry role against the real Docker engine: a real registry container (Debian's docker-registry
in an image built on the local base image, since registry:3 cannot be pulled here), real node containers on a
real network standing in for kind's nodes (listed by the fake kind), and the Kubernetes API double for the
KEP-1755 ConfigMap."""
import json
import shutil
import subprocess
import time
import urllib.request
import uuid

import pytest

from doubles.ansible_run import ROOT, playbook_env, run_playbook
from doubles.k8s_api import KubeAPIDouble
from support.net import free_port

pytestmark = [pytest.mark.docker, pytest.mark.contract]


def docker(*args, check=True):
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


@pytest.fixture(scope="module")
def registry_image(base_image, tmp_path_factory):
    binary = shutil.which("docker-registry") or "/usr/bin/docker-registry"
    if not shutil.os.path.exists(binary):
        pytest.skip("docker-registry is not installed (apt-get install docker-registry)")
    context = tmp_path_factory.mktemp("registry-image")
    shutil.copy(binary, context / "registry")
    (context / "config.yml").write_text(
        "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/registry\n"
        "http:\n  addr: 0.0.0.0:5000\n  secret: kcl-test-only\n")
    (context / "Dockerfile").write_text(
        f"FROM {base_image}\nCOPY registry /usr/local/bin/registry\nCOPY config.yml /etc/docker/registry/config.yml\n"
        'EXPOSE 5000\nENTRYPOINT ["/usr/local/bin/registry", "serve", "/etc/docker/registry/config.yml"]\n')
    tag = f"kcl-test/registry:{uuid.uuid4().hex[:8]}"
    docker("build", "-q", "-t", tag, str(context))
    yield tag
    docker("rmi", "-f", tag, check=False)


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


def registry_role(env, tmp_path, *flags, **variables):
    kubeconfig = env["api"].write_kubeconfig(tmp_path / "kubeconfig")
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


def wait_http(url, timeout=15):
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_registry_wiring_is_real_idempotent_and_reversible(kind_like, tmp_path):
    env, registry = kind_like, f"{kind_like['prefix']}-registry"
    run = registry_role(env, tmp_path)
    assert run.rc == 0, run.failure()
    # the registry answers on the host's loopback, and the node reaches it by name on the kind network
    assert wait_http(f"http://127.0.0.1:{env['port']}/v2/") == 200
    assert f"{env['prefix']}-net" in networks_of(registry)
    probe = docker("exec", env["node"], "python3", "-c",
                   f"import urllib.request; print(urllib.request.urlopen('http://{registry}:5000/v2/').status)")
    assert probe.stdout.strip() == "200"
    assert hosts_toml(env["node"], env["port"]).stdout == (
        f"# containerd: pulls of localhost:{env['port']}/... go to the registry container on the kind network.\n"
        f'[host."http://{registry}:5000"]\n')
    hosting = env["api"].get("configmaps", "local-registry-hosting", "kube-public")["data"]["localRegistryHosting.v1"]
    assert f'host: "localhost:{env["port"]}"' in hosting

    again = registry_role(env, tmp_path)
    assert again.rc == 0 and again.stats["changed"] == 0, [n for n, r in again.results() if r.get("changed")]

    down = registry_role(env, tmp_path, local_registry_state="absent")
    assert down.rc == 0, down.failure()
    assert env["api"].get("configmaps", "local-registry-hosting", "kube-public") is None
    assert hosts_toml(env["node"], env["port"]).returncode != 0
    assert f"{env['prefix']}-net" not in networks_of(registry)  # disconnected, not removed
    assert registry_role(env, tmp_path, local_registry_state="absent").stats["changed"] == 0

    cascade = registry_role(env, tmp_path, local_registry_state="absent", local_registry_remove_registry=True)
    assert cascade.rc == 0 and networks_of(registry) is None


def test_check_mode_creates_no_container_file_or_configmap(kind_like, tmp_path):
    env = kind_like
    run = registry_role(env, tmp_path, "--check")
    assert run.stats["failures"] == 0, run.failure()
    assert networks_of(f"{env['prefix']}-registry") is None
    assert hosts_toml(env["node"], env["port"]).returncode != 0
    assert env["api"].get("configmaps", "local-registry-hosting", "kube-public") is None


def test_unpinned_registry_image_fails_before_docker_is_touched(kind_like, tmp_path):
    env = kind_like
    run = registry_role(env, tmp_path, local_registry_image="registry:latest")
    name, result = run.failure()
    assert "local_registry_image" in result["msg"]
    assert networks_of(f"{env['prefix']}-registry") is None
