"""The verify role through real ansible-playbook, for what molecule/verify does not show (a healthy app and its
pods pass every check, the reports are written, a re-run changes nothing): pods via kubernetes.core.k8s_info
against a Kubernetes API double over HTTP, the app through a Host-header "ingress" and directly (the real app's
code, tests/doubles/faulty_app.py): check mode, each failure named, terminating pods, the port-forward, HTTPS."""
import json
import socket
import sys

import pytest
import yaml

from doubles.ansible_run import ROOT, fake_calls, playbook_env, run_playbook
from doubles.faulty_app import FaultyApp
from doubles.k8s_api import KubeAPIDouble
from support.shared_values import CLUSTER_ISSUER

VERSION = (ROOT / "app" / "VERSION").read_text().strip()
NAMESPACE = "app1-dev"


def pod(name, ready=True, restarts=0, terminating=False):
    metadata = {"name": name, "namespace": NAMESPACE,
                "labels": {"app.kubernetes.io/name": "app1", "pod-template-hash": "5d9c7b8f6"}}
    if terminating:
        # What the API server sets on a graceful delete (the old ReplicaSet's pods after a rollout).
        metadata.update({"deletionTimestamp": "2026-11-26T04:02:30Z", "deletionGracePeriodSeconds": 30})
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": metadata,
        # The container's named ports (module_utils/app_manifests.py), which a pod port-forward resolves.
        "spec": {"containers": [{"name": "app1", "image": "localhost:5001/app1@sha256:" + "a" * 64,
                                 "ports": [{"name": "http", "containerPort": 8080},
                                           {"name": "metrics", "containerPort": 9090}]}]},
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Initialized", "status": "True"},
                           {"type": "Ready", "status": "True" if ready else "False"},
                           {"type": "ContainersReady", "status": "True" if ready else "False"},
                           {"type": "PodScheduled", "status": "True"}],
            "containerStatuses": [{"name": "app1", "ready": ready, "restartCount": restarts, "started": True,
                                   "image": "localhost:5001/app1@sha256:" + "a" * 64}],
        },
    }


@pytest.fixture
def cluster(tmp_path):
    api = KubeAPIDouble().start()
    api.write_kubeconfig(tmp_path / "kubeconfig")
    yield api
    api.stop()


@pytest.fixture
def app():
    running = FaultyApp(None, VERSION).start()
    yield running
    running.stop()


def write_project(tmp_path, app, **extra_vars):
    work = tmp_path / "work"
    host_vars = {
        "ansible_connection": "local", "kindling_env": "dev", "app_name": "app1", "app_namespace": NAMESPACE,
        "app_replicas": 2, "kindling_work_dir": str(work), "kubeconfig_path": str(tmp_path / "kubeconfig"),
        "kube_context": "kind-kindling", "verify_version_file": str(ROOT / "app" / "VERSION"),
        "verify_ingress_url": app.base_url, "verify_direct_url": app.base_url,
        "verify_direct_metrics_url": app.metrics_url, "verify_attempts": 2, "verify_retry_delay": 0.2,
        "verify_deadline": 20, "verify_latency_samples": 6, "verify_latency_warmup": 1,
        # The ingress's TLS needs an Ingress, its Certificate and an HTTPS server: test_ingress_tls_* set them up.
        "verify_tls": False,
    }
    host_vars.update(extra_vars)
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": {"localhost": host_vars}}}))
    playbook = tmp_path / "verify.yml"
    playbook.write_text(
        "- name: Verify\n  hosts: localhost\n  gather_facts: false\n  roles:\n    - role: verify\n"
        "  post_tasks:\n    - name: Show kindling_verify\n      ansible.builtin.debug:\n"
        "        var: kindling_verify\n")
    return playbook, inventory, work / "verify"


def run(tmp_path, playbook, inventory, *args):
    return run_playbook(playbook, playbook_env(tmp_path, fakes=False), *args, inventory=inventory)


def test_check_mode_writes_nothing_and_reports_without_failing(tmp_path, cluster, app):
    cluster.put(pod("app1-5d9c7b8f6-abcde"))
    cluster.put(pod("app1-5d9c7b8f6-fghij"))
    playbook, inventory, reports = write_project(tmp_path, app)
    result = run(tmp_path, playbook, inventory, "--check")
    assert result.rc == 0, result.failure()
    assert result.result("Show kindling_verify")["kindling_verify"]["ok"] is True
    assert not reports.exists()
    # Nothing is deployed in a dry run, so a failed check is reported, not fatal.
    cluster.put(pod("app1-5d9c7b8f6-klmno", ready=False))
    result = run(tmp_path, playbook, inventory, "--check")
    assert result.rc == 0, result.failure()
    assert result.result("Show kindling_verify")["kindling_verify"]["ok"] is False
    assert not reports.exists()


def test_unready_restarted_pods_and_wrong_version_fail_naming_each_check(tmp_path, cluster):
    cluster.put(pod("app1-5d9c7b8f6-abcde"))
    cluster.put(pod("app1-5d9c7b8f6-fghij", ready=False, restarts=3))
    wrong = FaultyApp("wrong_version", VERSION).start()
    try:
        playbook, inventory, reports = write_project(tmp_path, wrong)
        result = run(tmp_path, playbook, inventory)
    finally:
        wrong.stop()
    assert result.rc != 0
    name, failure = result.failure()
    assert name.endswith("Fail when a check failed")
    report = json.loads((reports / "report.json").read_text())
    assert report["failed"] == [
        "kubernetes pods ready: 1 of 2 ready, want 2: not ready: app1-5d9c7b8f6-fghij",
        "kubernetes pod restarts: app1-5d9c7b8f6-fghij restarted 3 times",
        f"ingress /: version 0.0.1-wrong != expected {VERSION}",
        f"direct /: version 0.0.1-wrong != expected {VERSION}",
        f'direct metrics: missing app_build_info{{version="{VERSION}"}}',
    ]
    assert failure["msg"] == "verification of app1 dev failed: " + "; ".join(report["failed"])
    assert "FAILED, 5 of 12 checks failed" in (reports / "summary.txt").read_text()


def test_terminating_pods_after_a_rollout_are_not_counted(tmp_path, cluster, app):
    """Right after a rollout the old ReplicaSet's pods are terminating (deletionTimestamp set), not ready, maybe
    restarted: they are not the app's pods any more. Terminating pods alone are not enough pods."""
    cluster.put(pod("app1-5d9c7b8f6-abcde"))
    cluster.put(pod("app1-5d9c7b8f6-fghij"))
    cluster.put(pod("app1-7f6d5c4b3-oldaa", ready=False, restarts=2, terminating=True))
    cluster.put(pod("app1-7f6d5c4b3-oldbb", terminating=True))
    playbook, inventory, reports = write_project(tmp_path, app, verify_fail_on_error=False, verify_direct=False,
                                                 verify_ingress=False)
    result = run(tmp_path, playbook, inventory)
    assert result.rc == 0, result.failure()
    report = json.loads((reports / "report.json").read_text())
    assert report["failed"] == [], report["failed"]
    assert [c["detail"] for c in report["checks"]][0] == "2/2 ready"

    cluster.objects.clear()
    cluster.put(pod("app1-5d9c7b8f6-abcde"))
    cluster.put(pod("app1-7f6d5c4b3-oldbb", terminating=True))
    result = run(tmp_path, playbook, inventory)
    assert json.loads((reports / "report.json").read_text())["failed"] == [
        "kubernetes pods ready: 1 of 1 ready, want 2"]


def test_no_pods_and_nothing_listening_fail_without_aborting_when_asked(tmp_path, cluster, app):
    playbook, inventory, reports = write_project(
        tmp_path, app, verify_fail_on_error=False, verify_ingress=False,
        verify_direct_url="http://127.0.0.1:9", verify_direct_metrics_url="http://127.0.0.1:9/metrics")
    result = run(tmp_path, playbook, inventory)
    assert result.rc == 0, result.failure()
    verified = result.result("Show kindling_verify")["kindling_verify"]
    assert verified["ok"] is False
    failed = json.loads((reports / "report.json").read_text())["failed"]
    assert failed[:2] == [f"kubernetes pods ready: no pods match app.kubernetes.io/name=app1 in {NAMESPACE}",
                          "kubernetes pod restarts: no pods to check"]
    assert failed[2] == "direct /health: connection refused after 2 attempts"


def test_bad_variable_fails_before_anything_is_written(tmp_path, cluster, app):
    playbook, inventory, reports = write_project(tmp_path, app, verify_latency_budget_ms="fast")
    result = run(tmp_path, playbook, inventory)
    assert result.rc != 0
    name, failure = result.failure()
    assert "verify_latency_budget_ms" in failure["msg"]
    assert not reports.exists()


KUBECTL_DOUBLE = ROOT / "tests" / "doubles" / "portforward_bin" / "kubectl"


def overlay_objects(tmp_path, pods=()):
    """The Service and Deployment the gitops role writes (the collection's app_manifests), and the pods, as the
    port-forward double's cluster."""
    sys.path.insert(0, str(ROOT / "collections"))
    from ansible_collections.kindling.gitops.plugins.module_utils import app_manifests as base
    path = tmp_path / "overlay-objects.yaml"
    path.write_text(yaml.safe_dump_all([base.service("app1"), base.deployment("app1", 10001), *pods]))
    return path


def port_forward_env(tmp_path, app, pods=(), per_pod=None):
    """The pod's container ports (8080 http, 9090 metrics) are where the real app listens here; per_pod maps
    "POD:PORT" to where one pod's container port listens instead."""
    relay = {"8080": f"127.0.0.1:{app.port}", "9090": f"127.0.0.1:{app.metrics_port}", **(per_pod or {})}
    return {"FAKE_PORT_FORWARD_OBJECTS": overlay_objects(tmp_path, pods), "FAKE_PORT_FORWARD": json.dumps(relay)}


def test_direct_checks_through_a_port_forward_that_is_stopped_afterwards(tmp_path, cluster, app):
    """The direct checks through `kubectl port-forward` to the rendered Service's ports (the double resolves them
    like kubectl: Service port -> targetPort -> container port) and the forward is stopped afterwards."""
    from support.net import free_port
    cluster.put(pod("app1-5d9c7b8f6-abcde"))
    cluster.put(pod("app1-5d9c7b8f6-fghij"))
    ports = {"app": free_port(), "metrics": free_port()}
    playbook, inventory, reports = write_project(
        tmp_path, app, verify_direct_url="", verify_port_forward=True, verify_port_forward_ports=ports,
        verify_port_forward_seconds=60, verify_kubectl=str(KUBECTL_DOUBLE), verify_each_pod=False)
    env = playbook_env(tmp_path, fakes=False, **port_forward_env(tmp_path, app))
    result = run_playbook(playbook, env, inventory=inventory)
    assert result.rc == 0, result.failure()
    direct = [c for c in json.loads((reports / "report.json").read_text())["checks"] if c["via"] == "direct"]
    assert direct and all(c["ok"] for c in direct)
    assert direct[0]["url"] == f"http://127.0.0.1:{ports['app']}/health"
    (call,) = [c for c in fake_calls(tmp_path, "kubectl")]
    assert call["argv"] == ["--kubeconfig", str(tmp_path / "kubeconfig"), "--context", "kind-kindling",
                            "--namespace", NAMESPACE, "port-forward", "--address", "127.0.0.1", "service/app1",
                            f"{ports['app']}:http", f"{ports['metrics']}:metrics"]
    # Stopped by pid at the end of the role: nothing listens on the forwarded port any more.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", ports["app"]), timeout=1).close()
    # The forward's scratch directory is not a change (idempotence): only the first run's report directory is.
    assert [n for n, r in result.results() if r.get("changed")] == ["verify : Create the report directory"]


def test_a_port_the_service_lacks_is_a_failed_check_naming_it_and_the_report_is_still_written(tmp_path, cluster, app):
    """kubectl exits when the Service lacks the port (the old 8080): the role reports kubectl's error as the direct
    check, writes the report and lets the play go on (verify_fail_on_error false, as the rollback path runs it)."""
    from support.net import free_port
    cluster.put(pod("app1-5d9c7b8f6-abcde"))
    cluster.put(pod("app1-5d9c7b8f6-fghij"))
    ports = {"app": free_port(), "metrics": free_port()}
    playbook, inventory, reports = write_project(
        tmp_path, app, verify_direct_url="", verify_port_forward=True, verify_port_forward_ports=ports,
        verify_service_ports={"app": "8080", "metrics": "metrics"}, verify_fail_on_error=False,
        verify_kubectl=str(KUBECTL_DOUBLE), verify_each_pod=False)
    env = playbook_env(tmp_path, fakes=False, **port_forward_env(tmp_path, app))
    result = run_playbook(playbook, env, inventory=inventory)
    assert result.rc == 0, result.failure()
    assert result.result("Show kindling_verify")["kindling_verify"]["ok"] is False
    failed = json.loads((reports / "report.json").read_text())["failed"]
    assert failed == [f"direct port-forward: kubectl port-forward service/app1 {ports['app']}:8080 "
                      f"{ports['metrics']}:metrics: error: Service app1 does not have a service port 8080"]
    assert "Service app1 does not have a service port 8080" in (reports / "summary.txt").read_text()


def run_kubectl_double(tmp_path, app, *ports, target="service/app1", pods=()):
    import subprocess
    env = dict(__import__("os").environ, **{k: str(v) for k, v in port_forward_env(tmp_path, app, pods).items()})
    process = subprocess.Popen([str(KUBECTL_DOUBLE), "--namespace", NAMESPACE, "port-forward", "--address",
                                "127.0.0.1", target, *ports], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    return process


@pytest.mark.parametrize("target, remote, error", [
    ("service/app1", "8080", "error: Service app1 does not have a service port 8080"),
    ("service/app1", "18080", "error: Service app1 does not have a service port 18080"),
    ("service/app1", "web", "error: Service 'app1' does not have a named port 'web'"),
    ("pod/app1-5d9c7b8f6-abcde", "web", "error: Pod 'app1-5d9c7b8f6-abcde' does not have a named port 'web'"),
    ("pod/app1-5d9c7b8f6-gone", "http", 'Error from server (NotFound): pods "app1-5d9c7b8f6-gone" not found'),
    ("pod/app1-5d9c7b8f6-pendn", "http",
     "error: unable to forward port because pod is not running. Current status=Pending"),
])
def test_port_forward_double_refuses_what_kubectl_refuses(tmp_path, app, target, remote, error):
    """kubectl 1.37 translateServicePortToTargetPort: REMOTE must be one of the Service's ports (80, 9090) or names;
    convertPodNamedPortToNumber: a pod's named container port; RunPortForward: a Running pod."""
    from support.net import free_port
    pending = pod("app1-5d9c7b8f6-pendn")
    pending["status"]["phase"] = "Pending"
    process = run_kubectl_double(tmp_path, app, f"{free_port()}:{remote}", target=target,
                                 pods=[pod("app1-5d9c7b8f6-abcde"), pending])
    _, stderr = process.communicate(timeout=10)
    assert process.returncode == 1 and stderr.strip() == error


@pytest.mark.parametrize("target, remote", [("service/app1", "80"), ("service/app1", "http"),
                                            ("pod/app1-5d9c7b8f6-abcde", "http"), ("pod/app1-5d9c7b8f6-abcde", "8080")])
def test_port_forward_double_maps_a_service_port_to_the_container_port(tmp_path, app, target, remote):
    """Service port 80 (or its name http) -> targetPort http -> the container's port 8080, where the app answers;
    a pod's port by container port name or number."""
    import urllib.request
    from support.net import free_port, wait_for_port
    local = free_port()
    process = run_kubectl_double(tmp_path, app, f"{local}:{remote}", target=target, pods=[pod("app1-5d9c7b8f6-abcde")])
    try:
        assert process.stdout.readline().strip() == f"Forwarding from 127.0.0.1:{local} -> 8080"
        wait_for_port(local)
        with urllib.request.urlopen(f"http://127.0.0.1:{local}/health", timeout=5) as answer:
            assert answer.status == 200
    finally:
        process.kill()
        process.wait()


def test_https_ingress_is_trusted_through_the_ca_secret(tmp_path, cluster):
    """An https:// ingress URL: the CA comes from the cluster issuer's Secret (k8s_info, no_log); without it, a TLS error."""
    import base64
    import subprocess
    cert, key = tmp_path / "ca.crt", tmp_path / "ca.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=kindling-ca",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    cluster.put(pod("app1-5d9c7b8f6-abcde"))
    cluster.put(pod("app1-5d9c7b8f6-fghij"))
    secure = FaultyApp(None, VERSION, tls=(str(cert), str(key))).start()
    try:
        playbook, inventory, reports = write_project(tmp_path, secure, verify_direct=False, verify_attempts=1,
                                                     verify_fail_on_error=False)
        untrusted = run(tmp_path, playbook, inventory)
        assert untrusted.rc == 0, untrusted.failure()
        failed = json.loads((reports / "report.json").read_text())["failed"]
        assert failed[0].startswith("ingress /health: TLS error: ") and "CERTIFICATE_VERIFY_FAILED" in failed[0]

        cluster.put({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                     "metadata": {"name": CLUSTER_ISSUER, "namespace": "cert-manager"},
                     "data": {name: base64.b64encode(path.read_bytes()).decode()
                              for name, path in (("ca.crt", cert), ("tls.crt", cert), ("tls.key", key))}})
        trusted = run(tmp_path, playbook, inventory)
    finally:
        secure.stop()
    assert trusted.rc == 0, trusted.failure()
    assert json.loads((reports / "report.json").read_text())["failed"] == []
    # The Secret's private key never reaches the output (the k8s_info task is no_log).
    assert base64.b64encode(key.read_bytes()).decode()[:64] not in json.dumps(trusted.data) + trusted.stderr


def pki(tmp_path):
    """A CA and a leaf for the app's host made with python cryptography (the collection's unit tests' Pki)."""
    sys.path.insert(0, str(ROOT / "collections"))
    pytest.importorskip("cryptography")
    from ansible_collections.kindling.gitops.tests.unit.plugins.module_utils.test_app_verify import Pki
    return Pki(tmp_path)


def test_ingress_tls_needs_a_ready_certificate_and_a_trusted_certificate_for_the_host(tmp_path, cluster, app):
    """cert-manager's Certificate (a child of the Ingress, which Argo CD's health ignores) must be Ready, and the
    ingress's HTTPS port must present a certificate for the host that chains to the platform CA's Secret."""
    import base64
    host = "app1.dev.localhost"  # app_ingress_host for app1 in dev (roles/kindling_defaults)
    authority = pki(tmp_path)
    cluster.put(pod("app1-5d9c7b8f6-abcde"))
    cluster.put(pod("app1-5d9c7b8f6-fghij"))
    cluster.put({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                 "metadata": {"name": CLUSTER_ISSUER, "namespace": "cert-manager"},
                 "data": {"ca.crt": base64.b64encode(authority.ca_pem().encode()).decode()}})
    cluster.put({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                 "metadata": {"name": "app1", "namespace": NAMESPACE,
                              "annotations": {"cert-manager.io/cluster-issuer": CLUSTER_ISSUER}},
                 "spec": {"tls": [{"hosts": [host], "secretName": "app1-tls"}],
                          "rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                              "service": {"name": "app1", "port": {"name": "http"}}}}]}}]}})
    # What cert-manager v1.21's ingress-shim makes (named after the secretName) while it cannot issue yet.
    certificate = {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                   "metadata": {"name": "app1-tls", "namespace": NAMESPACE},
                   "spec": {"secretName": "app1-tls", "dnsNames": [host],
                            "issuerRef": {"name": CLUSTER_ISSUER, "kind": "ClusterIssuer", "group": "cert-manager.io"}},
                   "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "DoesNotExist",
                                              "message": "Issuing certificate as Secret does not exist"}]}}
    cluster.put(certificate)
    secure = FaultyApp(None, VERSION, tls=authority.leaf(host)).start()
    try:
        playbook, inventory, reports = write_project(tmp_path, app, verify_direct=False, verify_tls=True,
                                                     verify_tls_url=secure.base_url, verify_fail_on_error=False)
        not_ready = run(tmp_path, playbook, inventory)
        assert not_ready.rc == 0, not_ready.failure()
        assert json.loads((reports / "report.json").read_text())["failed"] == [
            "ingress certificate: Certificate app1-tls (Ingress app1) is not Ready: DoesNotExist: Issuing certificate "
            "as Secret does not exist"]

        certificate["status"] = {"conditions": [{"type": "Ready", "status": "True", "reason": "Ready",
                                                 "message": "Certificate is up to date and has not expired"}],
                                 "notAfter": "2027-03-08T01:00:00Z"}
        cluster.put(certificate)
        ready = run(tmp_path, playbook, inventory)
    finally:
        secure.stop()
    assert ready.rc == 0, ready.failure()
    report = json.loads((reports / "report.json").read_text())
    assert report["failed"] == []
    tls = {c["name"]: c for c in report["checks"] if c["via"] == "ingress"}["tls"]
    assert tls["detail"].startswith(f"certificate for {host} verified against the given CA")


def test_ingress_tls_is_not_followed_without_an_ingress_and_the_report_says_so(tmp_path, cluster, app):
    """playbooks/vars/without_cluster.yml turns the ingress off: the TLS check is skipped, with its reason."""
    playbook, inventory, reports = write_project(tmp_path, app, verify_pods=False, verify_ingress=False, verify_tls=True)
    result = run(tmp_path, playbook, inventory)
    assert result.rc == 0, result.failure()
    (tls,) = [c for c in json.loads((reports / "report.json").read_text())["checks"] if c["name"] == "tls"]
    assert tls["skipped"] is True
    assert tls["detail"] == "not checked: verify_ingress is false (no ingress, e.g. a run without a cluster)"
    assert "skip ingress   tls" in (reports / "summary.txt").read_text()


def test_with_several_replicas_each_pod_is_reached_and_a_failing_one_is_named(tmp_path, cluster, app):
    """The Service's port-forward reaches one pod; /health and /metrics of every ready pod are checked through a
    port-forward to that pod, so one broken replica behind a healthy-looking Service fails, by name."""
    from support.net import free_port
    pods = [pod("app1-5d9c7b8f6-abcde"), pod("app1-5d9c7b8f6-fghij"), pod("app1-5d9c7b8f6-klmno", ready=False)]
    for each in pods:
        cluster.put(each)
    broken = FaultyApp("health_500", VERSION).start()
    try:
        ports = {"app": free_port(), "metrics": free_port()}
        playbook, inventory, reports = write_project(
            tmp_path, app, verify_direct_url="", verify_port_forward=True, verify_port_forward_ports=ports,
            verify_kubectl=str(KUBECTL_DOUBLE), verify_ingress=False, verify_fail_on_error=False, app_replicas=2)
        env = playbook_env(tmp_path, fakes=False, **port_forward_env(
            tmp_path, app, pods, {"app1-5d9c7b8f6-fghij:8080": f"127.0.0.1:{broken.port}"}))
        result = run_playbook(playbook, env, inventory=inventory)
    finally:
        broken.stop()
    assert result.rc == 0, result.failure()
    report = json.loads((reports / "report.json").read_text())
    assert report["failed"] == ["kubernetes pods ready: 2 of 3 ready, want 2: not ready: app1-5d9c7b8f6-klmno",
                                "pod/app1-5d9c7b8f6-fghij /health: 500 after 2 attempts"]
    reached = [(c["via"], c["name"], c["ok"]) for c in report["checks"] if c["via"].startswith("pod/")]
    assert reached == [("pod/app1-5d9c7b8f6-abcde", "/health", True), ("pod/app1-5d9c7b8f6-abcde", "metrics", True),
                       ("pod/app1-5d9c7b8f6-fghij", "/health", False), ("pod/app1-5d9c7b8f6-fghij", "metrics", True)]
    targets = [c["argv"][c["argv"].index("port-forward") + 3] for c in fake_calls(tmp_path, "kubectl")]
    assert targets == ["service/app1", "pod/app1-5d9c7b8f6-abcde", "pod/app1-5d9c7b8f6-fghij"]
