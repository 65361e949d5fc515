"""kindling.gitops.kustomize_overlay (real files, real `kubectl kustomize`) and every env's overlay from the gitops role."""
import os
import re
import subprocess

import json

import pytest
import yaml

from gitops_support import DIGEST, run_module, run_role
from support.shared_values import CLUSTER_ISSUER, KUBERNETES_VERSION



@pytest.fixture
def base(tmp_path):
    """A small base beside the overlay directory, as in the GitOps tree (apps/web/base, apps/web/overlays/dev)."""
    base = tmp_path / "apps" / "web" / "base"
    base.mkdir(parents=True)
    (base / "kustomization.yaml").write_text(
        "resources: [deployment.yaml]\nconfigMapGenerator:\n  - name: web-config\n    literals: [LOG_LEVEL=INFO]\n")
    (base / "deployment.yaml").write_text(yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "web",
                                     "envFrom": [{"configMapRef": {"name": "web-config"}}]}]}}}}))
    return tmp_path / "apps" / "web" / "overlays" / "dev"


def overlay_args(path, **extra):
    args = {"path": str(path), "namespace": "web-dev", "resources": ["../../base"],
            "replicas": [{"name": "web", "count": 2}],
            "images": [{"name": "web", "new_name": "localhost:5001/web", "tag": "1.0.0-abc", "digest": DIGEST}],
            "config_map": {"name": "web-config", "literals": {"LOG_LEVEL": "DEBUG", "ENVIRONMENT": "dev"}},
            "ingress": {"name": "web", "host": "web.dev.localhost", "service_name": "web", "class_name": "traefik",
                        "cluster_issuer": "kindling-ca"},
            "labels": {"app.kubernetes.io/instance": "web-dev"}, "validate": True, "kubernetes_version": KUBERNETES_VERSION}
    args.update(extra)
    return args


def snapshot(directory):
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())} if directory.exists() else {}


def test_writes_a_valid_overlay_and_a_second_run_is_byte_identical(base):
    first = run_module("kustomize_overlay", overlay_args(base))
    assert first["changed"] and sorted(first["files"]) == ["ingress.yaml", "kustomization.yaml"], first
    assert sorted(o["kind"] for o in first["objects"]) == ["ConfigMap", "Deployment", "Ingress"], first
    rendered = list(yaml.safe_load_all(subprocess.run(["kubectl", "kustomize", str(base)], check=True,
                                                      capture_output=True, text=True).stdout))
    deployment = next(o for o in rendered if o["kind"] == "Deployment")
    config_map = next(o for o in rendered if o["kind"] == "ConfigMap")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == f"localhost:5001/web:1.0.0-abc@{DIGEST}"
    assert deployment["spec"]["replicas"] == 2 and deployment["metadata"]["namespace"] == "web-dev"
    assert config_map["data"] == {"LOG_LEVEL": "DEBUG", "ENVIRONMENT": "dev"}
    assert container["envFrom"][0]["configMapRef"]["name"] == config_map["metadata"]["name"]
    before = snapshot(base)

    second = run_module("kustomize_overlay", overlay_args(base))
    assert not second["changed"] and second["files"] == [], second
    assert snapshot(base) == before


def test_check_mode_writes_nothing_and_diff_shows_the_change(base):
    result = run_module("kustomize_overlay", overlay_args(base), check_mode=True, diff=True)
    assert result["changed"], result
    assert not base.exists(), "check mode must not create the overlay"
    after = {d["after_header"].rsplit("/", 1)[1]: d["after"] for d in result["diff"]}
    assert "digest: " + DIGEST in after["kustomization.yaml"] and "host: web.dev.localhost" in after["ingress.yaml"]

    run_module("kustomize_overlay", overlay_args(base))
    result = run_module("kustomize_overlay", overlay_args(base, replicas=[{"name": "web", "count": 3}]),
                        check_mode=True, diff=True)
    [change] = result["diff"]
    assert "count: 2" in change["before"] and "count: 3" in change["after"]
    assert "count: 2" in (base / "kustomization.yaml").read_text()


def test_a_route_replaces_the_ingress_on_openshift(base):
    run_module("kustomize_overlay", overlay_args(base))
    result = run_module("kustomize_overlay", overlay_args(base, ingress={
        "kind": "Route", "name": "web", "host": "web.dev.localhost", "service_name": "web"}))
    assert result["changed"] and sorted(result["files"]) == ["ingress.yaml", "kustomization.yaml", "route.yaml"], result
    assert not (base / "ingress.yaml").exists() and (base / "route.yaml").exists()
    assert any(f["check"] == "schema" and f["severity"] == "warning" and "Route" in f["object"]
               for f in result["findings"]), result["findings"]


@pytest.mark.parametrize("bad, field", [
    ({"namespace": "Web_Dev"}, "namespace"),
    ({"replicas": [{"name": "web", "count": -1}]}, "replicas[0].count"),
    ({"images": [{"name": "web", "digest": "sha256:1234"}]}, "images[0].digest"),
    ({"images": [{"name": "Web:latest", "tag": "1"}]}, "images[0].name"),
    ({"labels": {"team/": "x"}}, "labels"),
    ({"labels": {"tier": "front end"}}, "labels"),
    ({"ingress": {"name": "web", "host": "web_dev.localhost", "service_name": "web"}}, "ingress.host"),
])
def test_bad_input_fails_naming_the_field_and_writes_nothing(base, bad, field):
    result = run_module("kustomize_overlay", overlay_args(base, **bad))
    assert result["failed"] and result.get("field") == field and field in result["msg"], result
    assert "Traceback" not in result.get("module_stderr", "")
    assert not base.exists()


def test_an_unknown_option_fails_naming_it(base):
    result = run_module("kustomize_overlay", overlay_args(base, replica_count=2))
    assert result["failed"] and "replica_count" in result["msg"], result


def test_an_overlay_that_does_not_validate_is_not_written(base):
    result = run_module("kustomize_overlay", overlay_args(base, images=[
        {"name": "webapp", "new_name": "localhost:5001/web", "digest": DIGEST}]))
    assert result["failed"] and "webapp" in result["msg"], result
    assert not base.exists()


# ---- every environment's overlay, rendered by the gitops role from the real inventories ----

def render(overlay):
    out = subprocess.run(["kubectl", "kustomize", overlay], check=True, capture_output=True, text=True).stdout
    return {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(out) if o}


@pytest.mark.parametrize("env, replicas, log_level", [("dev", 1, "DEBUG"), ("qa", 2, "INFO"), ("prod", 3, "WARNING")])
def test_every_env_overlay_renders_and_validates_against_schemas_and_crds(env_overlay, reference_dir, env, replicas,
                                                                          log_level):
    facts = env_overlay(env)["facts"]
    objects = {(o["kind"], o["metadata"]["name"]): o for o in env_overlay(env)["objects"]}
    namespace = f"app1-{env}"
    assert {o["metadata"].get("namespace") for o in objects.values()} == {namespace}
    deployment = objects[("Deployment", "app1")]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert deployment["spec"]["replicas"] == replicas
    assert container["image"].endswith("@" + DIGEST)
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}}
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    config_maps = [o for kind, o in objects.items() if kind[0] == "ConfigMap" and kind[1] != "app1-dashboard"]
    assert len(config_maps) == 1 and config_maps[0]["data"]["LOG_LEVEL"] == log_level
    dashboard = objects[("ConfigMap", "app1-dashboard")]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["app1-dashboard.json"])["uid"] == f"app1-{env}"
    assert config_maps[0]["data"]["ENVIRONMENT"] == env and config_maps[0]["data"]["PORT"] == "8080"
    assert container["envFrom"] == [{"configMapRef": {"name": config_maps[0]["metadata"]["name"]}}]
    assert (("PodDisruptionBudget", "app1") in objects) == (replicas > 1)
    ingress = objects[("Ingress", "app1")]
    assert ingress["spec"]["ingressClassName"] == "traefik"
    assert ingress["spec"]["rules"][0]["host"] == f"app1.{env}.localhost"
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == CLUSTER_ISSUER
    service = objects[("Service", "app1")]
    assert [(p["name"], p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [
        ("http", 80, "http"), ("metrics", 9090, "metrics")]
    assert {("ServiceMonitor", "app1"), ("PrometheusRule", "app1")} <= set(objects)

    # Independently of the role's own validation: the same checks on the committed overlay find nothing at all.
    check = run_module("kustomize_validate", {"path": facts["overlay_path"], "crd_paths": [str(reference_dir / "crds")],
                                              "kubernetes_version": KUBERNETES_VERSION})
    assert not check.get("failed") and check["findings"] == [], check
    assert facts["pushed"] and facts["changed"]


def test_platform_vars_switch_the_exposure(tmp_path):
    """(A re-run of the role changing nothing is molecule/gitops's idempotence.)"""
    nginx, _out = run_role(tmp_path, "dev", ingress_provider="ingress-nginx")
    assert render(nginx["overlay_path"])[("Ingress", "app1")]["spec"]["ingressClassName"] == "nginx"
    openshift, _out = run_role(tmp_path, "dev", cluster_flavor="openshift")
    objects = render(openshift["overlay_path"])
    assert ("Route", "app1") in objects and ("Ingress", "app1") not in objects


def test_alerts_use_only_series_the_app_exports(env_overlay):
    from app1.metrics import Metrics
    from prometheus_client import generate_latest

    metrics = Metrics()
    metrics.observe("GET", "/", 200, 0.01)
    metrics.set_build_info("1.0.0", "dev", "abc")
    exported = {line.split("{")[0].split(" ")[0] for line in generate_latest(metrics.registry).decode().splitlines()
                if line and not line.startswith("#")}
    [rule] = [o for o in env_overlay("dev")["objects"] if o["kind"] == "PrometheusRule"]
    expressions = [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]]
    used = {name for expr in expressions for name in re.findall(r"\b(app_[a-z_]+)\b", expr)}
    assert used and used <= exported, f"alerts use series the app does not export: {sorted(used - exported)}"


def test_check_mode_previews_the_change_and_changes_nothing(tmp_path):
    facts, _out = run_role(tmp_path, "dev")
    kustomization = os.path.join(facts["overlay_path"], "kustomization.yaml")
    before = open(kustomization).read()
    remote = tmp_path / ".work" / "gitops.git"
    log_before = subprocess.run(["git", "--git-dir", str(remote), "log", "--format=%H"], capture_output=True,
                                text=True, check=True).stdout

    previewed, out = run_role(tmp_path, "dev", flags=("--check", "--diff"), gitops_log_level="ERROR")
    assert "-      - LOG_LEVEL=DEBUG" in out and "+      - LOG_LEVEL=ERROR" in out, out
    assert "+app1 dev" not in out
    assert open(kustomization).read() == before
    assert subprocess.run(["git", "--git-dir", str(remote), "log", "--format=%H"], capture_output=True, text=True,
                          check=True).stdout == log_before
    assert subprocess.run(["git", "status", "--porcelain"], cwd=facts["repo_path"], capture_output=True, text=True,
                          check=True).stdout == ""
    assert not previewed["pushed"]
