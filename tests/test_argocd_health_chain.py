"""Ingress status -> Argo CD health -> argocd_app_wait, chained through doubles that replay upstream:
the traefik chart rendered for real with the platform role's values (real helm, the reference data), a traefik
double writing Ingress status as traefik v3.7 does (tests/doubles/traefik_ingress_status.py), an Argo CD
application controller double computing health as gitops-engine does (tests/doubles/argocd_controller.py), and
the real kindling.gitops.argocd_app_wait module against the Kubernetes API double: with the platform role's
values the app becomes Healthy; with the values before commit 519caba it never does."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from doubles import argocd_controller as argo
from doubles.ansible_run import ROOT, playbook_env, run_playbook
from doubles.k8s_api import KubeAPIDouble
from doubles.traefik_ingress_status import TraefikIngressStatusDouble, rendered_traefik
from support.shared_values import CLUSTER_ISSUER, KUBERNETES_VERSION

pytestmark = pytest.mark.contract

FIXTURES = Path(__file__).parent / "fixtures" / "k8s"
NEW = "9f2c1e0d5b7a4c3e2f1a0b9c8d7e6f5a4b3c2d1e"
OLD = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
VALUES = ROOT / "roles" / "platform" / "files" / "values"
# The traefik values as they were before main 519caba (publishedService disabled, no ingressEndpoint on kind).
BEFORE_519CABA = {"traefik.yaml": {
    "ingressClass": {"enabled": True, "isDefaultClass": True, "name": "traefik"},
    "providers": {"kubernetesIngress": {"enabled": True, "publishedService": {"enabled": False}}}},
    "traefik-kind.yaml": {
    "ports": {"web": {"hostPort": 80}, "websecure": {"hostPort": 443}}, "service": {"spec": {"type": "ClusterIP"}},
    "nodeSelector": {"ingress-ready": "true"}}}


def render_traefik(reference_dir, tmp_path, value_files):
    chart = reference_dir / "helm-charts" / "traefik-41.3.0.tgz"
    if not chart.is_file():
        pytest.skip(f"{chart} is absent: the pinned traefik chart ships with the reference data only")
    command = ["helm", "template", "traefik", str(chart), "--namespace", "traefik", "--kube-version", KUBERNETES_VERSION]
    for path in value_files:
        command += ["-f", str(path)]
    rendered = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return list(yaml.safe_load_all(rendered))


def app_manifests():
    """The app's Service, Deployment and Ingress as the gitops role writes them (the collection's app_manifests
    base and kustomize_overlay Ingress)."""
    sys.path.insert(0, str(ROOT / "collections"))
    from ansible_collections.kindling.gitops.plugins.module_utils import app_manifests as base
    from ansible_collections.kindling.gitops.plugins.module_utils import kustomize_overlay
    objects = [base.service("app1"), base.deployment("app1", 10001)]
    _, ingress = kustomize_overlay._ingress_object({"name": "app1", "host": "app1.dev.localhost",
                                                     "service_name": "app1", "class_name": "traefik",
                                                     "cluster_issuer": CLUSTER_ISSUER}, "app1-dev")
    return [dict(o, metadata=dict(o["metadata"], namespace="app1-dev")) for o in objects] + [ingress]


def chain(tmp_path, documents, timeout, load_balancer=None):
    """The cluster after a push of NEW: traefik's Service and IngressClass as rendered (the Service's
    status.loadBalancer.ingress = load_balancer, as a cloud controller would set it), the Application at OLD."""
    args, classes = rendered_traefik(documents)
    api = KubeAPIDouble().start()
    for doc in documents:
        if doc and doc.get("kind") == "Service":
            service = dict(doc, metadata=dict(doc["metadata"], namespace=doc["metadata"].get("namespace", "traefik")))
            if load_balancer:
                service["status"] = {"loadBalancer": {"ingress": load_balancer}}
            api.put(service)
        elif doc and doc.get("kind") == "IngressClass":
            api.put(doc)
    application = yaml.safe_load((FIXTURES / "application-app1-dev.yaml").read_text())
    application["status"] = {"sync": {"status": "Synced", "revision": OLD}, "health": {"status": "Healthy"},
                             "operationState": {"phase": "Succeeded", "syncResult": {"revision": OLD}}}
    api.put(application)
    traefik = TraefikIngressStatusDouble(args, classes)
    controller = argo.ArgoCDControllerDouble(api, "app1-dev", controllers=[traefik, argo.deployment_controller])
    controller.push(NEW, app_manifests())
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
    playbook = tmp_path / "wait.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "wait", "kindling.gitops.argocd_app_wait": {
            "name": "app1-dev", "revision": NEW, "timeout": timeout, "interval": 1, "kubeconfig": str(kubeconfig),
            "context": "kind-kindling"}}]}]))
    try:
        run = run_playbook(playbook, playbook_env(tmp_path), "-i", "localhost,", "-c", "local")
    finally:
        api.stop()
    return run.result("wait"), api, traefik


def test_contract_role_traefik_values_make_the_app_healthy(reference_dir, tmp_path):
    documents = render_traefik(reference_dir, tmp_path, [VALUES / "traefik.yaml", VALUES / "traefik-kind.yaml"])
    result, api, traefik = chain(tmp_path, documents, timeout=60)
    assert not result.get("failed"), result.get("msg")
    assert result["done"] and result["health"] == "Healthy" and result["revision"] == NEW
    assert result["operation_revision"] == NEW and traefik.errors == []
    ingress = api.get("ingresses", "app1", "app1-dev")
    assert ingress["status"] == {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}
    # The wait went through the in-between states: compared, sync running, rollout, then Healthy.
    assert result["attempts"] >= 6


def test_contract_traefik_values_before_519caba_time_out_progressing(reference_dir, tmp_path):
    files = []
    for name, values in BEFORE_519CABA.items():
        files.append(tmp_path / name)
        files[-1].write_text(yaml.safe_dump(values))
    documents = render_traefik(reference_dir, tmp_path, files)
    result, api, traefik = chain(tmp_path, documents, timeout=12)
    assert result["failed"] and result["msg"].startswith("timed out after 12s")
    assert result["health"] == "Progressing" and result["revision"] == NEW and result["sync"] == "Synced"
    assert [(r["kind"], r["health"]) for r in result["unhealthy"]] == [("Ingress", "Progressing")]
    assert "status" not in api.get("ingresses", "app1", "app1-dev")


@pytest.mark.parametrize("load_balancer", [None, [{"ip": "192.0.2.10"}]])
def test_contract_published_load_balancer_service_is_copied_once_it_has_an_address(reference_dir, tmp_path,
                                                                                  load_balancer):
    """The values for an existing cluster (publishedService on, the chart's LoadBalancer Service): traefik copies
    the Service's address to the Ingress; while the LoadBalancer has none, nothing is written and the app stays
    Progressing."""
    documents = render_traefik(reference_dir, tmp_path, [VALUES / "traefik.yaml"])
    result, api, traefik = chain(tmp_path, documents, timeout=60 if load_balancer else 12, load_balancer=load_balancer)
    ingress = api.get("ingresses", "app1", "app1-dev")
    if load_balancer:
        assert result["done"] and result["health"] == "Healthy", result.get("msg")
        assert ingress["status"]["loadBalancer"]["ingress"] == load_balancer
    else:
        assert result["failed"] and result["health"] == "Progressing"
        assert "status" not in ingress
