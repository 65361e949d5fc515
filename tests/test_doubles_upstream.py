"""The Argo CD and traefik doubles against cases from upstream's own rules and tests (gitops-engine
pkg/health/health_test.go + testdata, argo-cd resource_customizations/*/health_test.yaml, traefik's
updateIngressStatus): each fails when a double calls Healthy what upstream keeps Progressing or Degraded."""
import copy
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from doubles import argocd_controller as argo
from doubles.k8s_api import KubeAPIDouble, label_selector
from doubles.traefik_ingress_status import TraefikIngressStatusDouble

pytestmark = pytest.mark.fast


def deployment(generation=2, observed=2, replicas=2, updated=2, total=2, available=2, reason="NewReplicaSetAvailable",
               paused=False):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app1", "generation": generation},
            "spec": {"replicas": replicas, "paused": paused},
            "status": {"observedGeneration": observed, "updatedReplicas": updated, "replicas": total,
                       "availableReplicas": available,
                       "conditions": [{"type": "Progressing", "status": "True", "reason": reason}]}}


@pytest.mark.parametrize("obj, status, message", [
    (deployment(), "Healthy", None),
    (deployment(generation=3), "Progressing",
     "Waiting for rollout to finish: observed deployment generation less than desired generation"),
    (deployment(updated=1, total=3), "Progressing", "Waiting for rollout to finish: 1 out of 2 new replicas have been updated..."),
    (deployment(total=3), "Progressing", "Waiting for rollout to finish: 1 old replicas are pending termination..."),
    (deployment(available=1), "Progressing", "Waiting for rollout to finish: 1 of 2 updated replicas are available..."),
    (deployment(reason="ProgressDeadlineExceeded", available=0), "Degraded", 'Deployment "app1" exceeded its progress deadline'),
    (deployment(paused=True, generation=3), "Suspended", "Deployment is paused"),
])
def test_deployment_health_is_gitops_engines(obj, status, message):
    health = argo.resource_health(obj)
    assert health["status"] == status and health.get("message") == message


def ingress(status=None):
    obj = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "app1", "namespace": "app1-dev"},
           "spec": {"ingressClassName": "traefik"}}
    if status is not None:
        obj["status"] = status
    return obj


@pytest.mark.parametrize("obj, status", [
    (ingress(), "Progressing"),                                                    # ingress-unassigned.yaml
    (ingress({"loadBalancer": {}}), "Progressing"),
    (ingress({"loadBalancer": {"ingress": []}}), "Progressing"),
    (ingress({"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}), "Healthy"),      # ingress.yaml
    ({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"type": "ClusterIP"}}, "Healthy"),
    ({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"type": "LoadBalancer"}},
     "Progressing"),                                                               # svc-loadbalancer-unassigned.yaml
    ({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"type": "LoadBalancer"},
      "status": {"loadBalancer": {"ingress": [{"hostname": "lb"}]}}}, "Healthy"),
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "deletionTimestamp": "2026-11-26T04:00:00Z"},
      "status": {"phase": "Running"}}, "Progressing"),                             # pod-deletion.yaml
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}, "status": {
        "phase": "Running", "containerStatuses": [{"name": "c", "state": {"waiting": {
            "reason": "CrashLoopBackOff", "message": "back-off restarting"}}}]}}, "Degraded"),  # pod-crashloop.yaml
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}, "status": {
        "phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]}}, "Progressing"),
    ({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "status": {}}, "Progressing"),
    ({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
      "status": {"conditions": [{"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}]}}, "Degraded"),
    ({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "c"}, "status": {"conditions": [
        {"type": "Ready", "status": "True"}, {"type": "Issuing", "status": "True", "message": "renewing"}]}},
     "Progressing"),                                                               # Issuing is handled first
    ({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "c"}}, "Progressing"),
    ({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer", "metadata": {"name": "c"},
      "status": {"conditions": [{"type": "Ready", "status": "False", "message": "secret not found"}]}}, "Degraded"),
    ({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "p"}}, "Progressing"),
    ({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "p"}, "status": {"conditions": [
        {"type": "DisruptionAllowed", "status": "False", "reason": "InsufficientPods"}]}}, "Healthy"),
])
def test_resource_health_is_upstreams(obj, status):
    assert argo.resource_health(obj)["status"] == status


@pytest.mark.parametrize("kind, api_version", [("ConfigMap", "v1"), ("ServiceMonitor", "monitoring.coreos.com/v1"),
                                               ("PrometheusRule", "monitoring.coreos.com/v1")])
def test_kinds_without_a_health_check_have_none_and_do_not_count(kind, api_version):
    obj = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}}
    assert argo.resource_health(obj) is None
    _, health = argo.application_health([(obj, obj), (ingress(), ingress())])
    assert health == "Progressing"


def test_application_health_is_the_worst_and_missing_only_when_nothing_is_live():
    healthy = ingress({"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}})
    assert argo.application_health([(healthy, healthy), (deployment(), deployment(available=1))])[1] == "Progressing"
    assert argo.application_health([(healthy, healthy), (deployment(), None)])[1] == "Healthy"
    assert argo.application_health([(healthy, None), (deployment(), None)])[1] == "Missing"


def traefik(*args, classes=({"metadata": {"name": "traefik"}, "spec": {"controller": "traefik.io/ingress-controller"}},)):
    return TraefikIngressStatusDouble(["--providers.kubernetesingress", *args], list(classes))


def api_with(*objects):
    api = KubeAPIDouble()
    for obj in objects:
        api.put(obj)
    return api


def test_traefik_writes_no_status_without_an_ingress_endpoint():
    api = api_with(ingress())
    traefik()(api)
    assert "status" not in api.get("ingresses", "app1", "app1-dev")


def test_traefik_writes_the_endpoint_ip_only_for_ingresses_of_its_class():
    other = dict(ingress(), metadata={"name": "other", "namespace": "app1-dev"}, spec={"ingressClassName": "nginx"})
    api = api_with(ingress(), other)
    traefik("--providers.kubernetesingress.ingressendpoint.ip=127.0.0.1")(api)
    assert api.get("ingresses", "app1", "app1-dev")["status"] == {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}
    assert "status" not in api.get("ingresses", "other", "app1-dev")


@pytest.mark.parametrize("service, written", [
    ({"type": "LoadBalancer"}, None),
    ({"type": "LoadBalancer", "status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}}, [{"ip": "192.0.2.1"}]),
    ({"type": "ClusterIP"}, []),
    ({"type": "ClusterIP", "externalIPs": ["192.0.2.2"]}, [{"ip": "192.0.2.2", "ports": [{"port": 80, "protocol": "TCP"}]}]),
])
def test_traefik_copies_the_published_services_status(service, written):
    status = service.pop("status", None)
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "traefik", "namespace": "traefik"},
           "spec": dict(service, ports=[{"port": 80, "protocol": "TCP"}])}
    if status:
        svc["status"] = status
    api = api_with(svc, ingress())
    traefik("--providers.kubernetesingress.ingressendpoint.publishedservice=traefik/traefik")(api)
    live = api.get("ingresses", "app1", "app1-dev")
    if written is None:
        assert "status" not in live
    else:
        assert (live.get("status") or {}).get("loadBalancer", {}).get("ingress", []) == written
        assert argo.resource_health(live)["status"] == ("Healthy" if written else "Progressing")


@pytest.mark.parametrize("value, error", [("traefik", "invalid publishedService format"),
                                          ("traefik/missing", "missing service: traefik/missing")])
def test_traefik_refuses_a_bad_published_service(value, error):
    api = api_with(ingress())
    double = traefik("--providers.kubernetesingress.ingressendpoint.publishedservice=" + value)
    double(api)
    assert "status" not in api.get("ingresses", "app1", "app1-dev") and error in double.errors[0]


def test_controller_moves_sync_revision_before_the_operation_and_does_not_retry_a_failed_revision():
    api = KubeAPIDouble()
    api.put({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "a", "namespace": "argocd"},
             "spec": {"destination": {"namespace": "app1-dev"}},
             "status": {"sync": {"status": "Synced", "revision": "old"},
                        "operationState": {"phase": "Failed", "syncResult": {"revision": "old"}}}})
    controller = argo.ArgoCDControllerDouble(api, "a")
    controller.push("new", [ingress()], fail_with="admission webhook denied the request")
    seen = []
    for _ in range(5):
        controller.reconcile()
        status = copy.deepcopy(api.get("applications", "a", "argocd")["status"])
        seen.append((status["sync"]["revision"], status["operationState"]["phase"],
                     status["operationState"]["syncResult"]["revision"]))
    assert seen[:3] == [("new", "Failed", "old"), ("new", "Running", "new"), ("new", "Failed", "new")]
    # alreadyAttemptedSync: the failed revision is not synced again.
    assert seen[3:] == [("new", "Failed", "new")] * 2


# k8s.io/apimachinery pkg/labels/selector_test.go (TestSelectorMatches / TestParse): equality, inequality and
# existence requirements, all of which must hold; an empty selector selects everything.
@pytest.mark.parametrize("selector, labels, selected", [
    ("", {"x": "y"}, True),
    ("x=y", {"x": "y"}, True),
    ("x==y", {"x": "y"}, True),
    ("x=y,z=w", {"x": "y", "z": "w"}, True),
    ("x!=y,z!=w", {"x": "H", "z": "I"}, True),
    ("x!=y", {}, True),
    ("x", {"x": "z"}, True),
    ("!x", {"y": "z"}, True),
    ("x=y", {"x": "z"}, False),
    ("x=y,z=w", {"x": "w", "z": "w"}, False),
    ("x!=y,z!=w", {"x": "H", "z": "w"}, False),
    ("x", {"y": "z"}, False),
    ("!x", {"x": "z"}, False),
])
def test_k8s_api_double_selects_by_labels_as_the_api_server_does(selector, labels, selected):
    assert label_selector(selector)(labels) is selected


def test_k8s_api_double_lists_only_the_selected_objects_and_refuses_what_it_does_not_implement():
    api = KubeAPIDouble().start()
    try:
        for name, app in (("a", "app1"), ("b", "other")):
            api.put({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "ns",
                                                                     "labels": {"app.kubernetes.io/name": app}}})
        listed = json.load(urllib.request.urlopen(
            f"{api.url}/api/v1/namespaces/ns/pods?labelSelector=app.kubernetes.io%2Fname%3Dapp1", timeout=10))
        assert [item["metadata"]["name"] for item in listed["items"]] == ["a"]
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{api.url}/api/v1/namespaces/ns/pods?labelSelector=env+in+%28a%29", timeout=10)
        assert refused.value.code == 400
    finally:
        api.stop()


def test_k8s_api_double_stores_a_secret_s_string_data_as_data_the_way_the_api_server_converts_it():
    """kubernetes pkg/apis/core/v1/conversion.go Convert_v1_Secret_To_core_Secret: stringData overwrites data."""
    api = KubeAPIDouble().start()
    try:
        api.put({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns"},
                 "data": {"kept": "a2VwdA==", "user": "b2xk"}, "stringData": {"user": "admin"}})
        stored = json.load(urllib.request.urlopen(f"{api.url}/api/v1/namespaces/ns/secrets/s", timeout=10))
        assert "stringData" not in stored
        assert stored["data"] == {"kept": "a2VwdA==", "user": "YWRtaW4="}
    finally:
        api.stop()


def test_kind_double_prints_get_kubeconfig_with_fprintln_like_kind(tmp_path):
    """kind v0.32.0 pkg/cmd/kind/get/kubeconfig/kubeconfig.go runE prints with fmt.Fprintln the YAML that
    pkg/cluster/internal/kubeconfig/kubeconfig.go Get encodes (already ending in a newline), while `create cluster`
    writes that YAML to --kubeconfig as it is (Export, WriteMerged): stdout is the file's text plus one newline."""
    kind = Path(__file__).resolve().parent / "doubles" / "bin" / "kind"
    env = dict(os.environ, FAKE_KIND_STATE=str(tmp_path / "state.json"))
    kubeconfig = tmp_path / "kubeconfig"
    subprocess.run([sys.executable, str(kind), "create", "cluster", "--name", "k", "--kubeconfig", str(kubeconfig)],
                   env=env, check=True, capture_output=True)
    printed = subprocess.run([sys.executable, str(kind), "get", "kubeconfig", "--name", "k"], env=env, check=True,
                             capture_output=True, text=True).stdout
    assert kubeconfig.read_text().endswith("\n")
    assert printed == kubeconfig.read_text() + "\n"


def test_k8s_api_double_is_born_with_the_system_namespaces_whose_uid_is_new_for_each_cluster():
    """A real API server creates kube-system, kube-public, kube-node-lease and default at start
    (kubernetes v1.34 pkg/controlplane/controller/systemnamespaces), each with a random uid
    (k8s.io/apiserver pkg/registry/rest/create.go FillObjectMetaSystemFields: uuid.NewUUID, a v4 UUID):
    the kube-system uid is how the pipeline tells one cluster from its re-creation."""
    first, second = KubeAPIDouble().start(), KubeAPIDouble().start()
    try:
        uids = []
        for api in (first, second):
            listed = json.load(urllib.request.urlopen(f"{api.url}/api/v1/namespaces", timeout=10))
            assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= {
                item["metadata"]["name"] for item in listed["items"]}
            system = json.load(urllib.request.urlopen(f"{api.url}/api/v1/namespaces/kube-system", timeout=10))
            assert system["status"] == {"phase": "Active"}
            uids.append(system["metadata"]["uid"])
        assert uids[0] != uids[1] and all(len(uid) == 36 for uid in uids)
    finally:
        first.stop()
        second.stop()


@pytest.mark.parametrize("path, message, details", [
    ("/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/app1-qa", 'applications.argoproj.io "app1-qa" not found',
     {"group": "argoproj.io", "kind": "applications", "name": "app1-qa"}),
    ("/api/v1/namespaces/ns/secrets/s", 'secrets "s" not found', {"kind": "secrets", "name": "s"}),
])
def test_k8s_api_double_answers_a_missing_object_with_the_api_server_s_404(path, message, details):
    """apimachinery v0.34.0 pkg/api/errors/errors.go NewNotFound (the resource qualified by its group); Argo CD
    v3.4.4 answers a missing Application the same (server/application/application.go getAppEnforceRBAC)."""
    api = KubeAPIDouble().start()
    try:
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(api.url + path, timeout=10)
        body = json.load(missing.value)
        assert missing.value.code == 404 and body["reason"] == "NotFound" and body["code"] == 404
        assert body["message"] == message and body["details"] == details
    finally:
        api.stop()
