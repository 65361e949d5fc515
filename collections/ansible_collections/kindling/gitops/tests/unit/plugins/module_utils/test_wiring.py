# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The wiring links on small hand-made objects shaped like the real renders: each link passes as wired, and
breaking one value at a time breaks exactly that link, with one line naming both ends."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

import json

from ansible_collections.kindling.gitops.plugins.module_utils import wiring

NS = "app1-dev"
PROMETHEUS = {"type": "prometheus", "uid": "prometheus"}


def overlay():
    labels = {"app.kubernetes.io/name": "app1"}
    return [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app1-config-abc", "namespace": NS},
         "data": {"PORT": "8080", "METRICS_PORT": "9090"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "app1", "namespace": NS, "labels": dict(labels)},
         "spec": {"selector": dict(labels), "ports": [{"name": "http", "port": 80, "targetPort": "http"},
                                                      {"name": "metrics", "port": 9090, "targetPort": "metrics"}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app1", "namespace": NS},
         "spec": {"template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": [{
             "name": "app1", "image": "localhost:5001/app1:1.0.0@sha256:" + "a" * 64,
             "envFrom": [{"configMapRef": {"name": "app1-config-abc"}}],
             "ports": [{"name": "http", "containerPort": 8080}, {"name": "metrics", "containerPort": 9090}],
             "livenessProbe": {"httpGet": {"path": "/health", "port": "http"}},
             "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}}}]}}}},
        {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
         "metadata": {"name": "app1", "namespace": NS, "annotations": {"cert-manager.io/cluster-issuer": "kindling-ca"}},
         "spec": {"ingressClassName": "traefik", "rules": [{"host": "app1.dev.localhost", "http": {"paths": [
             {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "app1", "port": {"name": "http"}}}}]}}]}},
        {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "app1", "namespace": NS},
         "spec": {"selector": {"matchLabels": dict(labels)}, "endpoints": [{"port": "metrics", "path": "/metrics"}]}},
        {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule", "metadata": {"name": "app1", "namespace": NS},
         "spec": {"groups": [{"name": "app1", "rules": [{"alert": "Down", "expr": 'up{job="app1"} == 0'}]}]}},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "app1-dashboard", "namespace": NS, "labels": {"grafana_dashboard": "1"}},
         "data": {"app1-dashboard.json": json.dumps({"uid": "app1-dev", "panels": [
             {"datasource": PROMETHEUS, "targets": [{"datasource": PROMETHEUS, "expr": "up"}]}]})}},
    ]


def charts():
    return {
        "traefik": [
            {"kind": "IngressClass", "metadata": {"name": "traefik"}},
            {"kind": "Deployment", "metadata": {"name": "traefik", "namespace": "traefik"}, "spec": {"template": {"spec": {
                "nodeSelector": {"ingress-ready": "true", "kubernetes.io/os": "linux"},
                "containers": [{"name": "traefik", "ports": [{"name": "web", "containerPort": 8000, "hostPort": 80},
                                                             {"name": "websecure", "containerPort": 8443, "hostPort": 443}]}]}}}}],
        "kube-prometheus-stack": [
            {"kind": "Prometheus", "metadata": {"name": "kps-prometheus", "namespace": "monitoring"},
             "spec": {"serviceMonitorSelector": {}, "serviceMonitorNamespaceSelector": {},
                      "ruleSelector": {}, "ruleNamespaceSelector": {}}},
            # As the grafana chart (12.11.1, in kube-prometheus-stack 88.5.3) renders its k8s-sidecar containers.
            {"kind": "Deployment", "metadata": {"name": "kps-grafana", "namespace": "monitoring"},
             "spec": {"template": {"spec": {"containers": [
                 {"name": "grafana-sc-dashboard", "env": [{"name": "LABEL", "value": "grafana_dashboard"},
                                                          {"name": "LABEL_VALUE", "value": "1"},
                                                          {"name": "NAMESPACE", "value": "ALL"}]},
                 {"name": "grafana-sc-datasources", "env": [{"name": "LABEL", "value": "grafana_datasource"},
                                                            {"name": "LABEL_VALUE", "value": "1"}]},
                 {"name": "grafana"}]}}}},
            {"kind": "ConfigMap", "metadata": {"name": "kps-grafana-datasource", "namespace": "monitoring",
                                               "labels": {"grafana_datasource": "1"}},
             "data": {"datasource.yaml": "apiVersion: 1\ndatasources:\n- name: Prometheus\n  type: prometheus\n"
                                         "  uid: prometheus\n  url: http://kps-prometheus.monitoring:9090/\n"}},
            {"kind": "Service", "metadata": {"name": "kps-prometheus", "namespace": "monitoring"},
             "spec": {"ports": [{"name": "http-web", "port": 9090}]}}],
    }


def argocd():
    """The argocd role's objects as its templates render them for dev, and what they must point at."""
    return {
        "application": {"kind": "Application", "metadata": {"name": "app1-dev", "namespace": "argocd"}, "spec": {
            "project": "kindling",
            "source": {"repoURL": "git://kindling-git/gitops.git", "path": "apps/app1/overlays/dev", "targetRevision": "main"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": NS}}},
        "project": {"kind": "AppProject", "metadata": {"name": "kindling", "namespace": "argocd"}, "spec": {
            "sourceRepos": ["git://kindling-git/gitops.git"],
            "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "app1-" + env}
                             for env in ("dev", "qa", "prod")]}},
        "repo_url": "git://kindling-git/gitops.git", "overlay_path": "apps/app1/overlays/dev", "branch": "main",
    }


def inputs():
    return {
        "kind_config": {"nodes": [{"role": "control-plane", "labels": {"ingress-ready": "true"}, "extraPortMappings": [
            {"containerPort": 80, "hostPort": 8080, "listenAddress": "127.0.0.1"},
            {"containerPort": 443, "hostPort": 8443, "listenAddress": "127.0.0.1"}]}]},
        "verify": {"ingress_url": "http://127.0.0.1:8080", "ingress_host": "app1.dev.localhost", "service_name": "app1",
                   "service_ports": {"app": "http", "metrics": "metrics"}},
        "registry": {"mirror_host": "localhost:5001", "name": "kind-registry", "network": "kind", "kind_network": "kind"},
        "argocd": argocd(),
        "argocd_repo_url": "git://kindling-git/gitops.git",
        "network_containers": ["kind-registry", "kindling-git"],
        "cluster_issuers": [{"kind": "ClusterIssuer", "metadata": {"name": "kindling-selfsigned"}},
                            {"kind": "ClusterIssuer", "metadata": {"name": "kindling-ca"}}],
        "ingress_release": "traefik",
        "monitoring_release": "kube-prometheus-stack",
    }


def run(inputs_=None, overlay_=None, charts_=None):
    return wiring.check(inputs_ or inputs(), overlay_ or overlay(), charts() if charts_ is None else charts_)


def find(objects, kind):
    return next(o for o in objects if o["kind"] == kind)


def test_everything_wired_passes_and_every_link_is_followed():
    result = run()
    assert result["broken"] == [] and result["not_followed"] == []
    assert sorted(set(line[1:].partition(")")[0] for line in result["followed"])) == sorted(wiring.LINKS)


def dashboard_map(objects):
    return next(o for o in objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "app1-dashboard")


def set_sidecar_env(charts_, name, value):
    container = charts_["kube-prometheus-stack"][1]["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [e for e in container["env"] if e["name"] != name] + [{"name": name, "value": value}]


def application(data):
    return data["argocd"]["application"]["spec"]


def set_repo_url(data, url):
    """argocd_repo_url as the argocd role templates it into both objects."""
    application(data)["source"]["repoURL"] = url
    data["argocd"]["project"]["spec"]["sourceRepos"] = [url]


def _inputs(change):
    data = inputs()
    change(data)
    return data


def _overlay(change):
    data = overlay()
    change(data)
    return data


def _charts(change):
    data = charts()
    change(data)
    return data


BREAKS = [
    ("ingress", "verify_ingress_url http://127.0.0.1 ", _inputs(lambda d: d["verify"].update(ingress_url="http://127.0.0.1")), None, None),
    ("ingress", "192.168.1.5:8080->80", _inputs(lambda d: d["kind_config"]["nodes"][0]["extraPortMappings"][0].update(listenAddress="192.168.1.5")),
     None, None),
    ("ingress", "no pod binds hostPort 80", None, None,
     _charts(lambda c: c["traefik"][1]["spec"]["template"]["spec"]["containers"][0]["ports"][0].update(hostPort=8000))),
    ("ingress", "nodeSelector", None, None,
     _charts(lambda c: c["traefik"][1]["spec"]["template"]["spec"]["nodeSelector"].update({"ingress-ready": "yes"}))),
    ("ingress", "ingressClassName nginx", None, _overlay(lambda o: find(o, "Ingress")["spec"].update(ingressClassName="nginx")), None),
    ("ingress", "verify_ingress_host app1.dev.localhost", None,
     _overlay(lambda o: find(o, "Ingress")["spec"]["rules"][0].update(host="app1.qa.localhost")), None),
    ("ingress", "no such Service", None, _overlay(lambda o: find(o, "Ingress")["spec"]["rules"][0]["http"]["paths"][0]["backend"]
                                                  ["service"].update(name="app2")), None),
    ("ingress", "no Service port web", None, _overlay(lambda o: find(o, "Ingress")["spec"]["rules"][0]["http"]["paths"][0]["backend"]
                                                      ["service"].update(port={"name": "web"})), None),
    ("ingress", "no container port http", None, _overlay(lambda o: find(o, "Deployment")["spec"]["template"]["spec"]["containers"][0]
                                                         ["ports"][0].update(name="web")), None),
    ("ingress", "PORT=8081", None, _overlay(lambda o: find(o, "ConfigMap")["data"].update(PORT="8081")), None),
    ("port-forward", "verify_service_ports.app 8080", _inputs(lambda d: d["verify"]["service_ports"].update(app=8080)), None, None),
    ("port-forward", "METRICS_PORT=9091", None, _overlay(lambda o: find(o, "ConfigMap")["data"].update(METRICS_PORT="9091")), None),
    ("image", "no hosts.toml for localhost:5002", None, _overlay(lambda o: find(o, "Deployment")["spec"]["template"]["spec"]
                                                                 ["containers"][0].update(image="localhost:5002/app1:1")), None),
    ("image", "network bridge", _inputs(lambda d: d["registry"].update(network="bridge")), None, None),
    ("gitops-repo", "not a URL", _inputs(lambda d: set_repo_url(d, "/home/me/.work/gitops.git")), None, None),
    ("gitops-repo", "no such container", _inputs(lambda d: set_repo_url(d, "git://gitops-server/gitops.git")), None, None),
    ("gitops-repo", "loopback", _inputs(lambda d: set_repo_url(d, "http://127.0.0.1:3000/gitops.git")), None, None),
    ("argocd-app", "repoURL git://kindling-git/other.git -> the repository the pipeline pushes to", _inputs(
        lambda d: set_repo_url(d, "git://kindling-git/other.git")), None, None),
    ("argocd-app", "path apps/app1/overlays/qa -> the overlay the gitops role writes", _inputs(
        lambda d: application(d)["source"].update(path="apps/app1/overlays/qa")), None, None),
    ("argocd-app", "targetRevision release -> the branch", _inputs(
        lambda d: application(d)["source"].update(targetRevision="release")), None, None),
    ("argocd-app", "destination namespace app1-qa -> the overlay's namespace app1-dev", _inputs(
        lambda d: application(d)["destination"].update(namespace="app1-qa")), None, None),
    ("argocd-app", "sourceRepos git://kindling-git/old.git: not admitted", _inputs(
        lambda d: d["argocd"]["project"]["spec"].update(sourceRepos=["git://kindling-git/old.git"])), None, None),
    ("argocd-app", "namespace app1-dev -> AppProject argocd/kindling destinations", _inputs(
        lambda d: d["argocd"]["project"]["spec"]["destinations"].pop(0)), None, None),
    ("probes", "readinessProbe port web -> its container ports", None, _overlay(
        lambda o: find(o, "Deployment")["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"].update(
            port="web")), None),
    ("monitoring", "ServiceMonitor app1-dev/app1 selector", None,
     _overlay(lambda o: find(o, "ServiceMonitor")["spec"]["selector"]["matchLabels"].update({"app.kubernetes.io/name": "app2"})), None),
    ("monitoring", "endpoint port web", None, _overlay(lambda o: find(o, "ServiceMonitor")["spec"]["endpoints"][0].update(port="web")), None),
    ("monitoring", 'job="app2"', None, _overlay(lambda o: find(o, "PrometheusRule")["spec"]["groups"][0]["rules"][0].update(
        expr='up{job="app2"} == 0')), None),
    ("monitoring", "jobLabel", None, _overlay(lambda o: find(o, "ServiceMonitor")["spec"].update(jobLabel="app.kubernetes.io/part-of")), None),
    ("monitoring", "serviceMonitorSelector release=kps", None, None,
     _charts(lambda c: c["kube-prometheus-stack"][0]["spec"].update(serviceMonitorSelector={"matchLabels": {"release": "kps"}}))),
    ("monitoring", "ruleNamespaceSelector nil", None, None,
     _charts(lambda c: c["kube-prometheus-stack"][0]["spec"].pop("ruleNamespaceSelector"))),
    ("tls", "cluster-issuer letsencrypt", None, _overlay(lambda o: find(o, "Ingress")["metadata"]["annotations"].update(
        {"cert-manager.io/cluster-issuer": "letsencrypt"})), None),
    ("dashboard", "labels grafana_dashboard=0", None, _overlay(lambda o: dashboard_map(o)["metadata"]["labels"].update(
        grafana_dashboard="0")), None),
    ("dashboard", "sidecar searches monitoring", None, None, _charts(lambda c: set_sidecar_env(c, "NAMESPACE", "monitoring"))),
    ("dashboard", "datasource uid thanos", None, _overlay(lambda o: dashboard_map(o)["data"].update({"app1-dashboard.json": json.dumps(
        {"uid": "app1-dev", "panels": [{"datasource": {"type": "prometheus", "uid": "thanos"}}]})})), None),
    ("dashboard", "url http://kps-prometheus.monitoring:9091/", None, None, _charts(lambda c: c["kube-prometheus-stack"][2]["data"].update(
        {"datasource.yaml": c["kube-prometheus-stack"][2]["data"]["datasource.yaml"].replace("9090", "9091")}))),
    ("dashboard", "the chart renders none", None, None, _charts(lambda c: c["kube-prometheus-stack"].pop(1))),
]


@pytest.mark.parametrize("link, words, inputs_, overlay_, charts_", BREAKS, ids=["%s-%s" % (b[0], b[1]) for b in BREAKS])
def test_each_break_fails_that_link_with_one_line_naming_both_ends(link, words, inputs_, overlay_, charts_):
    result = run(inputs_, overlay_, charts_)
    assert any(line.startswith("(%s) " % link) and words in line and "->" in line for line in result["broken"]), \
        result["broken"]
    assert all("\n" not in line for line in result["broken"])
    links = set(line[1:].partition(")")[0] for line in result["broken"])
    # A break in the part the ingress and direct paths share (Service -> container -> PORT) shows in both, and in
    # the probes when it renames the port they name; a repository URL shows in the Application's links too.
    assert links <= {link} | ({"ingress", "port-forward", "probes"} if link in ("ingress", "port-forward") else set()) | (
        {"argocd-app"} if link == "gitops-repo" else set())


def test_links_that_cannot_be_followed_are_listed_with_the_reason():
    data = inputs()
    data.update(kind_config=None, charts_reason="helm not found on PATH", skip={"gitops-repo": "no cluster in this run"})
    result = wiring.check(data, overlay(), None)
    assert result["broken"] == []
    assert any(line.startswith("(ingress) verify_ingress_url -> kind") and "existing" in line for line in result["not_followed"])
    assert any("helm not found on PATH" in line for line in result["not_followed"])
    assert any(line.startswith("(gitops-repo)") and "no cluster in this run" in line for line in result["not_followed"])
    assert not any(line.startswith("(gitops-repo)") for line in result["followed"])
    summary = wiring.summary(result)
    assert summary.startswith("wiring: 5 of 9 links followed (port-forward, image, argocd-app, tls, probes); not followed: "
                              "ingress (not a kind cluster")
    assert summary.endswith("; gitops-repo (no cluster in this run); monitoring, dashboard (helm not found on PATH)")


def test_selectors_follow_kubernetes_semantics():
    assert wiring.labels_match({}, {"a": "1"}) and not wiring.labels_match(None, {"a": "1"})
    assert wiring.labels_match({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, {"a": "2"})
    assert not wiring.labels_match({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"b": "1"})
    assert wiring.image_registry_host("localhost:5001/app1@sha256:" + "a" * 64) == "localhost:5001"
    assert wiring.image_registry_host("app1:1") == "docker.io"


def test_helm_template_uses_the_local_archive_when_there(tmp_path):
    release = {"name": "traefik", "namespace": "traefik", "chart": "traefik", "version": "41.3.0",
               "repo_url": "https://traefik.github.io/charts"}
    argv = wiring.helm_template_argv(release, "helm", "1.36.1", "/v.json", str(tmp_path))
    assert argv[3:6] == ["traefik", "--repo", "https://traefik.github.io/charts"]
    (tmp_path / "traefik-41.3.0.tgz").write_bytes(b"")
    argv = wiring.helm_template_argv(release, "helm", "1.36.1", "/v.json", str(tmp_path))
    assert argv[3] == str(tmp_path / "traefik-41.3.0.tgz") and "--repo" not in argv
    assert "--include-crds" in argv and argv[argv.index("--kube-version") + 1] == "1.36.1"


def _counting_helm(tmp_path):
    """A stand-in for helm that prints one object naming its release and counts its runs."""
    helm = tmp_path / "helm"
    helm.write_text('#!/bin/sh\necho run >> "%s"\nprintf "kind: ConfigMap\\nmetadata: {name: %%s}\\n" "$2"\n'
                    % (tmp_path / "runs"))
    helm.chmod(0o755)
    return str(helm), lambda: len((tmp_path / "runs").read_text().splitlines()) if (tmp_path / "runs").exists() else 0


def test_a_render_is_kept_and_read_back_only_for_the_same_inputs(tmp_path):
    helm, runs = _counting_helm(tmp_path)
    charts, cache = tmp_path / "charts", tmp_path / "cache"
    charts.mkdir()
    (charts / "traefik-41.3.0.tgz").write_bytes(b"chart one")
    release = {"name": "traefik", "namespace": "traefik", "chart": "traefik", "version": "41.3.0",
               "repo_url": "https://traefik.github.io/charts", "values": {"a": 1}}
    first = wiring.render_release(release, helm, "1.36.1", str(charts), cache_dir=str(cache))
    assert first == [{"kind": "ConfigMap", "metadata": {"name": "traefik"}}] and runs() == 1
    assert wiring.render_release(dict(release), helm, "1.36.1", str(charts), cache_dir=str(cache)) == first
    assert runs() == 1, "the same inputs are read back"
    for changed in ({"values": {"a": 2}}, {"name": "other"}, {"namespace": "other"}):
        wiring.render_release(dict(release, **changed), helm, "1.36.1", str(charts), cache_dir=str(cache))
    wiring.render_release(release, helm, "1.35.0", str(charts), cache_dir=str(cache))
    assert runs() == 5, "values, name, namespace and Kubernetes version are each part of the key"
    (charts / "traefik-41.3.0.tgz").write_bytes(b"chart two")
    wiring.render_release(release, helm, "1.36.1", str(charts), cache_dir=str(cache))
    assert runs() == 6, "another archive under the same name is rendered again"
    wiring.render_release(release, helm, "1.36.1", str(charts))
    assert runs() == 7, "without a cache directory nothing is read back"
    assert not [name for name in (p.name for p in cache.iterdir()) if name.startswith(".render-")]


def test_a_chart_from_a_repository_is_never_kept(tmp_path):
    helm, runs = _counting_helm(tmp_path)
    release = {"name": "traefik", "namespace": "traefik", "chart": "traefik", "version": "41.3.0",
               "repo_url": "https://traefik.github.io/charts"}
    for attempt in (1, 2):
        wiring.render_release(release, helm, "1.36.1", str(tmp_path / "no-charts"), cache_dir=str(tmp_path / "cache"))
        assert runs() == attempt
    assert not (tmp_path / "cache").exists()


def _with_platform_rule(objects):
    rule = find(objects, "PrometheusRule")
    rule["spec"]["groups"][0]["rules"].append(
        {"alert": "Restarting", "expr": 'increase(kube_pod_container_status_restarts_total{job="kube-state-metrics"}[15m]) > 0'})
    return objects


def _kps_with_monitors(kube_state_metrics_job="kube-state-metrics"):
    data = charts()
    data["kube-prometheus-stack"] += [
        # kube-prometheus-stack 88.5.3 renders these (jobLabel app.kubernetes.io/name on the kube-state-metrics
        # Service; the kubelet's selector pins k8s-app, its Service is the operator's own).
        {"kind": "ServiceMonitor", "metadata": {"name": "kps-kube-state-metrics", "namespace": "monitoring"},
         "spec": {"jobLabel": "app.kubernetes.io/name",
                  "selector": {"matchLabels": {"app.kubernetes.io/instance": "kps"}}}},
        {"kind": "Service", "metadata": {"name": "kps-kube-state-metrics", "namespace": "monitoring", "labels": {
            "app.kubernetes.io/instance": "kps", "app.kubernetes.io/name": kube_state_metrics_job}}},
        {"kind": "ServiceMonitor", "metadata": {"name": "kps-kubelet", "namespace": "monitoring"},
         "spec": {"jobLabel": "k8s-app", "selector": {"matchLabels": {"k8s-app": "kubelet"}}}},
    ]
    return data


def test_rules_on_platform_jobs_follow_the_platform_s_servicemonitors():
    result = run(overlay_=_with_platform_rule(overlay()), charts_=_kps_with_monitors())
    assert result["broken"] == [] and result["not_followed"] == []
    assert any('job="kube-state-metrics" -> kube-prometheus-stack' in line for line in result["followed"])
    assert wiring.platform_monitor_jobs(_kps_with_monitors()["kube-prometheus-stack"]) == {
        "kube-state-metrics": "ServiceMonitor monitoring/kps-kube-state-metrics",
        "kubelet": "ServiceMonitor monitoring/kps-kubelet"}


def test_a_rule_on_a_job_no_servicemonitor_sets_is_broken():
    result = run(overlay_=_with_platform_rule(overlay()), charts_=_kps_with_monitors(kube_state_metrics_job="ksm"))
    assert [line for line in result["broken"] if 'job="kube-state-metrics"' in line]


def test_a_rule_on_a_platform_job_is_not_followed_without_the_charts():
    data = inputs()
    data.update(charts_reason="helm not found on PATH")
    result = wiring.check(data, _with_platform_rule(overlay()), None)
    assert result["broken"] == []
    assert any('job="kube-state-metrics"' in line and "helm not found" in line for line in result["not_followed"])


def test_a_project_admits_by_glob_and_denies_with_a_bang():
    assert wiring._admitted(["*"], "git://kindling-git/gitops.git")
    assert wiring._admitted(["git://kindling-git/*"], "git://kindling-git/gitops.git")
    assert not wiring._admitted(["*", "!git://kindling-git/*"], "git://kindling-git/gitops.git")
    assert wiring._admitted(["app1-*"], "app1-dev") and not wiring._admitted(["app1-*"], "app2-dev")


def _would_run(run_tags, skip_tags):
    """Ansible's rule for a task's tags, as Taggable.evaluate_tags applies it (without always/never)."""
    def would_run(tags):
        selected = "all" in run_tags or bool(set(tags) & set(run_tags))
        return selected and not set(tags) & set(skip_tags)
    return would_run


SETTINGS = {"cluster_provider": "kind", "cluster_flavor": "kubernetes", "verify_ingress": True,
            "verify_port_forward": True, "verify_direct_url": ""}


@pytest.mark.parametrize("stages, run_tags, skip_tags, settings, applies, skipped", [
    # playbooks/check.yml: every link.
    (None, ["all"], [], {}, True, {}),
    # site.yml's preflight, every stage.
    (["kind_cluster", "local_registry", "platform", "argocd", "gitops", "verify"], ["all"], [], {}, True, {}),
    # build.yml: nothing it does depends on the wiring.
    (["image"], ["all"], [], {}, False, None),
    # deploy.yml --tags build selects no stage that renders or installs.
    (["gitops", "argocd"], ["build"], [], {}, False, None),
    # site.yml without a cluster (playbooks/vars/without_cluster.yml).
    (None, ["all"], ["bootstrap", "argocd"], {"verify_ingress": False, "verify_direct_url": "http://127.0.0.1:18080"}, True,
     {"ingress": "verify_ingress is false", "port-forward": "verify_direct_url is set", "image": "no cluster in this run",
      "gitops-repo": "no cluster in this run", "argocd-app": "no cluster in this run"}),
    # deploy.yml: no verify stage, no local registry stage.
    (["gitops", "preview", "argocd"], ["all"], [], {}, True,
     {"ingress": "this run does not verify", "port-forward": "this run does not verify"}),
    (["gitops"], ["all"], [], {"cluster_flavor": "openshift", "cluster_provider": "existing"}, True,
     {"ingress": "openshift: the router serves a Route", "port-forward": "this run does not verify",
      "image": "not a kind cluster: no local registry wiring", "gitops-repo": "this play does not configure Argo CD",
      "argocd-app": "this play does not configure Argo CD", "tls": "openshift: a Route, not an Ingress"}),
])
def test_the_play_s_stages_and_tags_decide_the_links(stages, run_tags, skip_tags, settings, applies, skipped):
    result = wiring.plan(stages, _would_run(run_tags, skip_tags), dict(SETTINGS, **settings))
    assert result[0] is applies
    if skipped is not None:
        assert result[1] == skipped
