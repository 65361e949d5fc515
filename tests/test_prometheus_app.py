"""The app's alerts and scrape on a real Prometheus (Debian's `prometheus` and `promtool`, 2.42).

The PrometheusRule and ServiceMonitor come from the gitops role's real overlay (rendered once for dev with
`kubectl kustomize`). `promtool check rules` and `promtool test rules` run on the rule as rendered; the unit tests
are tests/prometheus/app1-rules.test.yml. A real Prometheus scrapes the real app (python -m app1 on loopback) with
the scrape job prometheus-operator would generate from the rendered ServiceMonitor (tests/doubles/prometheus_operator.py).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from gitops_support import ROOT
from doubles.prometheus_operator import endpoints_targets, service_monitor_scrape_config
from support.net import free_port, wait_for_port

# Its session- and module-scoped fixtures are made once, on one worker.
pytestmark = pytest.mark.xdist_group("test_prometheus_app")

TESTS_DIR = ROOT / "tests" / "prometheus"
APP_DIR = ROOT / "app"
SERIES = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\{(?P<labels>.*)\}$', re.S)
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)')

# The exporters' own label names, as their pinned versions document or build them. Once scraped, the series also
# carry the target labels named below (their ServiceMonitors have honorLabels: true, so these win over the
# target's namespace/pod/container).
# kube-state-metrics v2.20.0 (chart 8.4.0 in kube-prometheus-stack 88.5.3), docs/metrics/workload/pod-metrics.md.
KSM_LABELS = {"kube_pod_container_status_restarts_total": {"container", "namespace", "pod", "uid"},
              "kube_pod_container_resource_limits": {"resource", "unit", "container", "pod", "namespace", "node", "uid"}}
# kube-prometheus-stack 88.5.3: the kube-state-metrics ServiceMonitor (jobLabel app.kubernetes.io/name, port http).
KSM_TARGET = {"job", "instance", "endpoint", "service"}
# cAdvisor as the kubelet serves it: kubernetes pkg/kubelet/server/server.go containerPrometheusLabelsFunc (id, name,
# image, pod, namespace, container; blank when missing) plus the metric's own (cpu for container_cpu_usage_seconds_total).
CADVISOR_LABELS = {"container_cpu_usage_seconds_total": {"container", "id", "image", "name", "namespace", "pod", "cpu"},
                   "container_memory_working_set_bytes": {"container", "id", "image", "name", "namespace", "pod"}}
# kube-prometheus-stack 88.5.3 templates/exporters/kubelet/servicemonitor.yaml: job from k8s-app=kubelet, endpoint
# https-metrics, node from the Endpoints' Node target, metrics_path from cAdvisorRelabelings.
KUBELET_TARGET = {"job", "instance", "endpoint", "service", "node", "metrics_path"}


def parse_series(text):
    """'name{a="b", ...}' (as promtool input_series) -> (name, {label: value})."""
    match = SERIES.match(" ".join(text.split()))
    assert match, f"not a series selector: {text}"
    labels = dict(LABEL.findall(match["labels"]))
    return match["name"], labels


@pytest.fixture(scope="module")
def overlay(env_overlay):
    """The dev overlay as the gitops role writes it, rendered by kubectl kustomize: {(kind, name): object}."""
    return {(o["kind"], o["metadata"]["name"]): o for o in env_overlay("dev")["objects"]}


@pytest.fixture(scope="module")
def rule(overlay):
    [rule] = [o for (kind, _name), o in overlay.items() if kind == "PrometheusRule"]
    return rule


@pytest.fixture(scope="module")
def unit_tests(rule):
    """tests/prometheus/<app>-rules.test.yml, parsed."""
    path = TESTS_DIR / f"{rule['metadata']['name']}-rules.test.yml"
    assert path.is_file(), f"no promtool unit tests for the rendered rule {rule['metadata']['name']}: {path}"
    return path, yaml.safe_load(path.read_text())


def binary(name):
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian: apt-get install prometheus; scripts/services installs it)")
    return path


# Requested first by the tests that need them, so a missing binary skips before the overlay is rendered.
@pytest.fixture(scope="module")
def promtool():
    return binary("promtool")


@pytest.fixture(scope="module")
def prometheus_bin():
    return binary("prometheus")


@pytest.fixture
def rules_dir(tmp_path, rule, unit_tests):
    """The rendered rule's spec.groups as a rules file next to a copy of the unit tests (which name it)."""
    path, tests = unit_tests
    [rules_file] = tests["rule_files"]
    (tmp_path / rules_file).write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}, sort_keys=False))
    shutil.copy(path, tmp_path / path.name)
    return tmp_path, rules_file, path.name


def alerts_of(rule):
    return [r["alert"] for group in rule["spec"]["groups"] for r in group["rules"] if "alert" in r]


def test_the_rendered_rule_passes_promtool_check(promtool, rules_dir, rule):
    directory, rules_file, _tests = rules_dir
    result = subprocess.run([promtool, "check", "rules", rules_file], cwd=directory, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    count = sum(len(group["rules"]) for group in rule["spec"]["groups"])
    assert f"SUCCESS: {count} rules found" in result.stdout, result.stdout


def test_the_rule_alerts_on_the_app_down_restarting_and_near_its_limits(rule):
    """The alerts of the original pipeline's rules, on the series that exist (docs/gitops.md, Alerts)."""
    rules = {r["alert"]: r for group in rule["spec"]["groups"] for r in group["rules"]}
    job = rule["metadata"]["name"]
    prefix = job.capitalize()  # Jinja's capitalize, as the template names them
    assert f'up{{job="{job}"}} == 0' in rules[prefix + "Down"]["expr"]
    assert f'absent(up{{job="{job}"}})' in rules[prefix + "Absent"]["expr"]
    assert "kube_pod_container_status_restarts_total" in rules[prefix + "Restarting"]["expr"]
    for alert, usage, resource in (("CPUNearLimit", "container_cpu_usage_seconds_total", "cpu"),
                                   ("MemoryNearLimit", "container_memory_working_set_bytes", "memory")):
        expr = rules[prefix + alert]["expr"]
        assert usage in expr and f'resource="{resource}"' in expr, expr


def test_every_alert_has_a_firing_and_a_quiet_unit_test(rule, unit_tests):
    _path, tests = unit_tests
    cases = [case for group in tests["tests"] for case in group.get("alert_rule_test", [])]
    alerts = alerts_of(rule)
    firing, quiet = set(), set()
    for group in tests["tests"]:  # quiet: an input on which the alert never fires (not only while it is pending)
        for alert in {case["alertname"] for case in group.get("alert_rule_test", [])}:
            expected = [case.get("exp_alerts") for case in group["alert_rule_test"] if case["alertname"] == alert]
            (firing if any(expected) else quiet).add(alert)
    assert set(alerts) <= firing, f"alerts without a case where they fire: {sorted(set(alerts) - firing)}"
    assert set(alerts) <= quiet, f"alerts without a case where they must not fire: {sorted(set(alerts) - quiet)}"
    assert {case["alertname"] for case in cases} <= set(alerts), "unit tests of alerts the rule does not have"
    for case in cases:
        for alert in case.get("exp_alerts") or []:
            assert alert.get("exp_labels", {}).get("severity") and alert.get("exp_annotations", {}).get("summary"), (
                f"{case['alertname']} at {case['eval_time']}: expect its labels and annotations, not only that it fires")


def test_promtool_unit_tests_pass_on_the_rendered_rule(promtool, rules_dir):
    directory, _rules_file, tests_file = rules_dir
    result = subprocess.run([promtool, "test", "rules", tests_file], cwd=directory, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout, result.stdout


def test_platform_series_in_the_unit_tests_carry_the_exporters_labels(unit_tests):
    """kube-state-metrics and cAdvisor series in the unit tests: exactly the label names they are stored with."""
    _path, tests = unit_tests
    seen = set()
    for group in tests["tests"]:
        for item in group["input_series"]:
            name, labels = parse_series(item["series"])
            if name in KSM_LABELS:
                expected = KSM_LABELS[name] | KSM_TARGET
                assert labels.get("job") == "kube-state-metrics", item["series"]
            elif name in CADVISOR_LABELS:
                expected = CADVISOR_LABELS[name] | KUBELET_TARGET
                assert labels.get("job") == "kubelet" and labels.get("metrics_path") == "/metrics/cadvisor", item
            else:
                continue
            seen.add(name)
            assert set(labels) == expected, (f"{name}: labels {sorted(set(labels) ^ expected)} differ from what the "
                                             f"exporter and its ServiceMonitor give it")
    assert seen == set(KSM_LABELS) | set(CADVISOR_LABELS), f"platform series never used: {sorted(seen)}"


# ---- the operator's scrape job and Kubernetes SD, as tests/doubles/prometheus_operator.py models them ----

MONITOR = {"metadata": {"name": "web", "namespace": "web-dev"},
           "spec": {"selector": {"matchLabels": {"app.kubernetes.io/name": "web"}},
                    "endpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s"}]}}
SERVICE = {"metadata": {"name": "web", "namespace": "web-dev", "labels": {"app.kubernetes.io/name": "web"}},
           "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"},
                                                          {"name": "metrics", "port": 9090, "targetPort": "metrics"}]}}
DEPLOYMENT = {"metadata": {"name": "web"}, "spec": {"template": {
    "metadata": {"labels": {"app": "web"}},
    "spec": {"containers": [{"name": "web", "ports": [{"name": "http", "containerPort": 8080},
                                                      {"name": "metrics", "containerPort": 9090}]}]}}}}


def _copy(obj):
    return json.loads(json.dumps(obj))


@pytest.mark.parametrize("path, value, field", [
    (("spec", "namespaceSelector"), {"any": True}, "spec.namespaceSelector"),
    (("spec", "endpoints", 0, "relabelings"), [], "spec.endpoints[0].relabelings"),
    (("spec", "selector", "matchExpressions"), [], "spec.selector"),
])
def test_the_operator_model_refuses_what_it_does_not_model(path, value, field):
    monitor = _copy(MONITOR)
    node = monitor
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(AssertionError, match=re.escape(field)):
        service_monitor_scrape_config(monitor)


def test_the_operator_model_sets_job_endpoint_and_keeps_by_port_name_and_selector():
    job = service_monitor_scrape_config(_copy(MONITOR))
    assert job["job_name"] == "serviceMonitor/web-dev/web/0" and job["honor_labels"] is False
    assert (job["scrape_interval"], job["metrics_path"]) == ("30s", "/metrics")
    keeps = [r for r in job["relabel_configs"] if r.get("action") == "keep"]
    assert [k["regex"] for k in keeps] == ["(web);true", "metrics"], keeps
    assert {"source_labels": ["__meta_kubernetes_service_name"], "target_label": "job",
            "replacement": "${1}"} in job["relabel_configs"]
    assert job["relabel_configs"][-1] == {"target_label": "endpoint", "replacement": "metrics"}


def test_service_discovery_finds_a_target_per_service_port_and_none_when_nothing_matches():
    ports = {8080: 18080, 9090: 19090}
    groups = endpoints_targets(MONITOR, SERVICE, DEPLOYMENT, ports, closed_port=1)
    assert [(g["targets"], g["labels"]["__meta_kubernetes_endpoint_port_name"]) for g in groups] == [
        (["127.0.0.1:18080"], "http"), (["127.0.0.1:19090"], "metrics")]
    assert groups[1]["labels"]["__meta_kubernetes_pod_container_name"] == "web"

    other_pods = _copy(DEPLOYMENT)
    other_pods["spec"]["template"]["metadata"]["labels"] = {"app": "api"}
    assert endpoints_targets(MONITOR, SERVICE, other_pods, ports, closed_port=1) == []
    elsewhere = _copy(SERVICE)
    elsewhere["metadata"]["namespace"] = "web-qa"
    assert endpoints_targets(MONITOR, elsewhere, DEPLOYMENT, ports, closed_port=1) == []
    undeclared = _copy(SERVICE)
    undeclared["spec"]["ports"][1]["targetPort"] = "prometheus"
    assert [g["labels"]["__meta_kubernetes_endpoint_port_name"]
            for g in endpoints_targets(MONITOR, undeclared, DEPLOYMENT, ports, closed_port=1)] == ["http"]
    numbered = _copy(SERVICE)
    numbered["spec"]["ports"][1]["targetPort"] = 9091  # a number nothing declares: an address nothing listens on
    assert endpoints_targets(MONITOR, numbered, DEPLOYMENT, ports, closed_port=1)[1]["targets"] == ["127.0.0.1:1"]


# ---- a real Prometheus scrapes the real app ----

def required_metrics():
    """verify_required_metrics as Ansible evaluates the verify role's defaults for dev (version from app/VERSION)."""
    return _ansible_value("verify_required_metrics", ROOT / "roles" / "verify" / "defaults" / "main.yml")


def _ansible_value(name, vars_file):
    with tempfile.TemporaryDirectory() as scratch:
        playbook = os.path.join(scratch, "value.yml")
        out = os.path.join(scratch, "value.json")
        with open(playbook, "w") as handle:
            yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "vars_files": [str(vars_file)],
                             "tasks": [{"ansible.builtin.copy": {"content": "{{ %s | to_json }}" % name, "dest": out,
                                                                 "mode": "0600"}}]}], handle)
        process = subprocess.run(["ansible-playbook", "-i", str(ROOT / "inventories" / "dev"), playbook], cwd=ROOT,
                                 capture_output=True, text=True, timeout=120,
                                 env=dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg")))
        assert process.returncode == 0, process.stdout + process.stderr
        with open(out) as handle:
            return json.load(handle)


def _get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def query(base, promql):
    answer = _get(f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def _stop(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def app_process(tmp_path, overlay):
    """app1 as its image runs it (python -m app1) on free loopback ports, with the overlay ConfigMap's settings."""
    [config] = [o for (kind, name), o in overlay.items() if kind == "ConfigMap" and name.startswith("app1-config")]
    port, metrics_port = free_port(), free_port()
    env = dict(os.environ, **{k: v for k, v in config["data"].items() if k not in ("PORT", "METRICS_PORT")},
               PYTHONPATH=str(APP_DIR), HOST="127.0.0.1", PORT=str(port), METRICS_PORT=str(metrics_port))
    log = open(tmp_path / "app.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "app1"], env=env, stdout=log, stderr=log)
    try:
        wait_for_port(port, timeout=30)
        wait_for_port(metrics_port, timeout=30)
        # One request, so the request counter and histogram have series (a family without samples stores nothing).
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            assert response.status == 200
        # In the pod the app listens on the ConfigMap's PORT / METRICS_PORT; here on the free ports.
        yield {int(config["data"]["PORT"]): port, int(config["data"]["METRICS_PORT"]): metrics_port}
    finally:
        _stop(process)
        log.close()


@pytest.fixture
def prometheus(prometheus_bin, tmp_path, overlay, app_process):
    """A real Prometheus with the scrape job the operator would generate, over the targets Kubernetes SD would find."""
    [monitor] = [o for (kind, _n), o in overlay.items() if kind == "ServiceMonitor"]
    job = service_monitor_scrape_config(monitor)
    job["static_configs"] = endpoints_targets(monitor, overlay[("Service", monitor["metadata"]["name"])],
                                              overlay[("Deployment", monitor["metadata"]["name"])],
                                              local_ports=app_process, closed_port=free_port())
    assert job["static_configs"], "service discovery finds no target: the Service selects no pod of the Deployment"
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump({"scrape_configs": [job]}, sort_keys=False))
    port = free_port()
    log = open(tmp_path / "prometheus.log", "wb")
    process = subprocess.Popen([prometheus_bin, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("Prometheus did not become ready: " + (tmp_path / "prometheus.log").read_text())
            time.sleep(0.2)
        yield base, monitor, job
    finally:
        _stop(process)
        log.close()


def _seconds(duration):
    return sum(int(n) * {"s": 1, "m": 60, "h": 3600}[unit] for n, unit in re.findall(r"(\d+)([smh])", duration))


def test_a_real_prometheus_scrapes_the_real_app_as_the_service_monitor_says(prometheus_bin, prometheus, overlay,
                                                                            unit_tests):
    base, monitor, job = prometheus
    [container] = overlay[("Deployment", monitor["metadata"]["name"])]["spec"]["template"]["spec"]["containers"]
    endpoint = monitor["spec"]["endpoints"][0]
    service = monitor["metadata"]["name"]  # the Service the ServiceMonitor selects has the app's name
    # The first scrape comes within one interval (Prometheus spreads targets over it); allow one more and some slack.
    deadline = time.monotonic() + 2 * _seconds(endpoint["interval"]) + 15
    while True:
        targets = _get(f"{base}/api/v1/targets")["data"]
        active = [t for t in targets["activeTargets"] if t["scrapePool"] == job["job_name"]]
        if active and all(t["health"] != "unknown" for t in active):
            break
        assert time.monotonic() < deadline, f"no scrape within the deadline: {targets}"
        time.sleep(1)
    assert len(active) == 1, f"the ServiceMonitor's port must select exactly the metrics port: {active}"
    [target] = active
    assert target["health"] == "up", target
    labels = target["labels"]
    assert labels["job"] == service and labels["endpoint"] == endpoint["port"], labels
    assert labels["namespace"] == monitor["metadata"]["namespace"] and labels["service"] == service, labels
    assert labels["container"] == container["name"] and labels["pod"].startswith(service + "-"), labels
    assert urllib.parse.urlsplit(target["scrapeUrl"]).path == endpoint["path"], target
    assert target["scrapeInterval"] == endpoint["interval"], target
    # The Service's other port (http) was discovered and dropped by the operator's port-name keep.
    assert any(t["discoveredLabels"].get("__meta_kubernetes_endpoint_port_name") == "http"
               for t in targets["droppedTargets"]), targets["droppedTargets"]

    assert [r["value"][1] for r in query(base, f'up{{job="{service}"}}')] == ["1"]
    for item in required_metrics():
        item = {"name": item, "labels": {}} if isinstance(item, str) else item
        # A family or its samples, as the verify check reads them (counter _total, histogram _bucket/_count/_sum).
        matchers = [f'__name__=~"{item["name"]}(_total|_bucket|_count|_sum)?"', f'job="{service}"']
        matchers += [f'{k}="{v}"' for k, v in (item.get("labels") or {}).items()]
        assert query(base, "{" + ", ".join(matchers) + "}"), f"Prometheus stored no series for {item}"

    # The unit tests' app series are named and labelled exactly as this Prometheus stored the real app's.
    stored = _get(f"{base}/api/v1/series?" + urllib.parse.urlencode({"match[]": f'{{job="{service}"}}'}))["data"]
    shapes = {(s["__name__"], frozenset(s)) for s in stored}
    buckets = {s["le"] for s in stored if s["__name__"].endswith("_bucket")}
    _path, tests = unit_tests
    checked = set()
    for group in tests["tests"]:
        for item in group["input_series"]:
            name, series_labels = parse_series(item["series"])
            if series_labels.get("job") != service:
                continue
            shape = (name, frozenset(series_labels) | {"__name__"})
            assert shape in shapes, (f"unit-test series {name} {sorted(series_labels)} is not what Prometheus stores "
                                     f"from the app: {sorted((n, sorted(ls)) for n, ls in shapes if n == name)}")
            if name.endswith("_bucket"):
                assert series_labels["le"] in buckets, f"le={series_labels['le']} is not one of the app's {buckets}"
            checked.add(name)
    assert {"up", "app_request_count_total", "app_request_latency_seconds_bucket", "app_requests_in_flight",
            "app_build_info"} <= checked, checked


# ---- the app's Grafana dashboard: every panel on real series ----

from ansible_collections.kindling.gitops.plugins.module_utils import dashboard  # noqa: E402

# What a query may name besides the app's own labels: the target labels prometheus-operator's relabelling gives a
# ServiceMonitor's targets (tests/doubles/prometheus_operator.py), and Prometheus's ALERTS (alertname, alertstate
# and the rule's labels: the app's rules aggregate by namespace and carry severity).
APP_TARGET = {"job", "instance", "namespace", "pod", "container", "service", "endpoint"}
KSM_LABELS_ALL = dict(KSM_LABELS, kube_pod_container_info={"container", "image_spec", "image", "image_id",
                                                           "container_id", "namespace", "pod", "uid"})
# kube_pod_container_info: kube-state-metrics v2.20.0 internal/store/pod.go createPodContainerInfoFamilyGenerator
# (labelKeys container, image_spec, image, image_id, container_id; the pod's namespace, pod and uid).
ALERTS_LABELS = {"alertname", "alertstate", "namespace", "severity"}
SELECTOR = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}')
GROUPING = re.compile(r'\b(?:by|on|without|ignoring)\s*\(([^)]*)\)')
MATCHER_NAME = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)')


def app_families():
    """{series name: label names} of what the real app exports (its own registry, as /metrics serves it)."""
    sys.path.insert(0, str(APP_DIR))
    try:
        from app1.metrics import Metrics
    finally:
        sys.path.remove(str(APP_DIR))
    metrics = Metrics()
    metrics.set_build_info("1.0.0", "dev", "0123abcd")
    metrics.observe("GET", "/", 200, 0.01)
    families = {}
    for family in metrics.registry.collect():
        for sample in family.samples:
            families.setdefault(sample.name, set()).update(sample.labels)
    return families


@pytest.mark.fast
def test_every_panel_names_series_and_labels_their_exporters_give():
    known = {name: labels | APP_TARGET for name, labels in app_families().items()}
    known.update({name: labels | KSM_TARGET for name, labels in KSM_LABELS_ALL.items()})
    known.update({name: labels | KUBELET_TARGET for name, labels in CADVISOR_LABELS.items()})
    known["ALERTS"] = ALERTS_LABELS
    problems = []
    for title, expr in dashboard.queries("app1", "app1-dev"):
        selected = SELECTOR.findall(expr)
        assert selected, f"{title}: no series selector in {expr}"
        names = set()
        for name, matchers in selected:
            if name not in known:
                problems.append(f"{title}: {name} is not a series the app or the platform's exporters give")
                continue
            names.add(name)
            for label in MATCHER_NAME.findall(matchers):
                if label not in known[name]:
                    problems.append(f"{title}: {name} has no label {label} (it has {sorted(known[name])})")
        for group in GROUPING.findall(expr):
            for label in filter(None, (part.strip() for part in group.split(","))):
                if not any(label in known[name] for name in names):
                    problems.append(f"{title}: grouping by {label}, which none of {sorted(names)} carries")
    assert problems == []


def _process_usage(pid):
    """(CPU seconds, resident bytes) of a process, as cAdvisor reads a container's from its cgroup."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    with open(f"/proc/{pid}/status") as handle:
        rss = next(int(line.split()[1]) * 1024 for line in handle if line.startswith("VmRSS:"))
    return cpu, rss


def _quantity(text):
    units = {"m": 0.001, "Ki": 1024, "Mi": 1024 ** 2, "Gi": 1024 ** 3, "k": 1000, "M": 1000 ** 2, "G": 1000 ** 3}
    match = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(text))
    return float(match[1]) * units.get(match[2], 1)


class PlatformExporters:
    """kube-state-metrics and the kubelet's cAdvisor as a scrape sees them, for the one pod of the app that runs
    here (a process): the label sets above (KSM_LABELS_ALL, CADVISOR_LABELS), the limits and image the overlay's
    Deployment sets, and the process's own CPU and memory. Serves /metrics (KSM) and /metrics/cadvisor."""

    def __init__(self, namespace, pod, container, process_id, limits, image):
        import http.server
        import threading
        ids = {"namespace": namespace, "pod": pod, "container": container}
        uid = "0b7c1f6e-0000-4000-8000-000000000001"

        def ksm():
            lines = [_series("kube_pod_container_status_restarts_total", dict(ids, uid=uid), 0)]
            for resource, unit in (("cpu", "core"), ("memory", "byte")):
                lines.append(_series("kube_pod_container_resource_limits", dict(
                    ids, uid=uid, node="kindling-control-plane", resource=resource, unit=unit),
                    _quantity(limits[resource])))
            lines.append(_series("kube_pod_container_info", dict(
                ids, uid=uid, image_spec=image, image=image.split("@")[0], image_id=image,
                container_id="containerd://" + "c" * 64), 1))
            return lines

        def cadvisor():
            cpu, rss = _process_usage(process_id)
            common = dict(ids, id=f"/kubepods/burstable/pod{uid}/{'c' * 64}", image=image, name="c" * 64)
            return [_series("container_cpu_usage_seconds_total", dict(common, cpu="total"), cpu),
                    _series("container_memory_working_set_bytes", common, rss)]

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                lines = {"/metrics": ksm, "/metrics/cadvisor": cadvisor}.get(self.path)
                body = ("\n".join(lines()) + "\n").encode() if lines else b""
                self.send_response(200 if lines else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _series(name, labels, value):
    rendered = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    return f"{name}{{{rendered}}} {value}"


@pytest.fixture
def dashboard_stack(prometheus_bin, tmp_path, overlay, rules_dir):
    """The real app (with app/tests' route that answers a chosen status, to make server errors), the platform's
    exporters for its pod, and a real Prometheus scraping all three every second (the ServiceMonitor says 30 s;
    only the pace differs) with the app's rendered rules evaluated every second."""
    [config] = [o for (kind, name), o in overlay.items() if kind == "ConfigMap" and name.startswith("app1-config")]
    [monitor] = [o for (kind, _n), o in overlay.items() if kind == "ServiceMonitor"]
    deployment = overlay[("Deployment", monitor["metadata"]["name"])]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    port, metrics_port = free_port(), free_port()
    env = dict(os.environ, **{k: v for k, v in config["data"].items() if k not in ("PORT", "METRICS_PORT")},
               PYTHONPATH=str(APP_DIR), HOST="127.0.0.1", PORT=str(port), METRICS_PORT=str(metrics_port))
    logs = [open(tmp_path / "app.log", "wb"), open(tmp_path / "prometheus.log", "wb")]
    app = subprocess.Popen([sys.executable, str(APP_DIR / "tests" / "server_with_test_routes.py")], env=env,
                           stdout=logs[0], stderr=logs[0], start_new_session=True)
    processes, exporters = [app], None
    try:
        wait_for_port(port, timeout=30)
        wait_for_port(metrics_port, timeout=30)
        hit(f"http://127.0.0.1:{port}/", 1)  # a counter has a series only once counted: a rate needs one before
        job = service_monitor_scrape_config(monitor)
        job["static_configs"] = endpoints_targets(monitor, overlay[("Service", monitor["metadata"]["name"])], deployment,
                                                  local_ports={int(config["data"]["PORT"]): port,
                                                               int(config["data"]["METRICS_PORT"]): metrics_port},
                                                  closed_port=free_port())
        job["scrape_interval"] = "1s"
        pod = job["static_configs"][0]["labels"]["__meta_kubernetes_pod_name"]
        exporters = PlatformExporters(monitor["metadata"]["namespace"], pod, container["name"], app.pid,
                                      container["resources"]["limits"], container["image"])
        # Their ServiceMonitors in kube-prometheus-stack 88.5.3 keep the exporters' own labels (honorLabels: true).
        platform_jobs = [
            {"job_name": "kube-state-metrics", "honor_labels": True, "scrape_interval": "1s",
             "static_configs": [{"targets": [exporters.address], "labels": {
                 "job": "kube-state-metrics", "endpoint": "http", "service": "kube-prometheus-stack-kube-state-metrics"}}]},
            {"job_name": "kubelet-cadvisor", "honor_labels": True, "scrape_interval": "1s",
             "metrics_path": "/metrics/cadvisor",
             "static_configs": [{"targets": [exporters.address], "labels": {
                 "job": "kubelet", "metrics_path": "/metrics/cadvisor", "endpoint": "https-metrics",
                 "service": "kube-prometheus-stack-kubelet", "node": "kindling-control-plane"}}]}]
        directory, rules_file, _tests = rules_dir
        prometheus_config = tmp_path / "prometheus.yml"
        prometheus_config.write_text(yaml.safe_dump({
            "global": {"evaluation_interval": "1s"}, "rule_files": [str(directory / rules_file)],
            "scrape_configs": [job] + platform_jobs}, sort_keys=False))
        prom_port = free_port()
        processes.append(subprocess.Popen(
            [prometheus_bin, f"--config.file={prometheus_config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{prom_port}"], stdout=logs[1], stderr=logs[1]))
        base = f"http://127.0.0.1:{prom_port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                targets = _get(f"{base}/api/v1/targets")["data"]["activeTargets"]
                if len(targets) == 3 and all(t["health"] == "up" for t in targets):
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "prometheus.log").read_text()[-3000:]
            time.sleep(0.5)
        yield base, app, f"http://127.0.0.1:{port}", monitor["metadata"]["namespace"]
    finally:
        os.killpg(app.pid, signal.SIGKILL)  # granian's worker process too
        for process in reversed(processes):
            _stop(process)
        if exporters:
            exporters.close()
        for log in logs:
            log.close()


def panel_results(base, namespace):
    """{(panel title, query): series} for every query of the dashboard, as Grafana asks them with all pods and
    a rate window of 15 s (its $__rate_interval for a 1 s scrape interval is 4 intervals, at least 15 s)."""
    return {(title, expr): query(base, expr.replace("$__rate_interval", "15s"))
            for title, expr in dashboard.queries("app1", namespace)}


def hit(url, times):
    for _ in range(times):
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                response.read()
        except urllib.error.HTTPError:
            pass


def test_every_panel_of_the_dashboard_shows_the_real_app_and_the_error_ratio_moves_when_it_answers_errors(
        dashboard_stack):
    base, _app, app_url, namespace = dashboard_stack
    time.sleep(2)  # samples from before the load, so its rates are not 0/0
    hit(app_url + "/", 40)
    hit(app_url + "/health", 20)
    time.sleep(4)  # a few scrapes, so every rate has two samples in its window
    error_ratio = [expr for title, expr in dashboard.queries("app1", namespace) if title.startswith("Error ratio")][0]
    before = query(base, error_ratio.replace("$__rate_interval", "15s"))
    assert [float(s["value"][1]) for s in before] == [0.0], before

    # Over several scrapes: a 5xx series is new, and a rate counts only what it sees grow between samples.
    for _ in range(8):
        hit(app_url + "/test/fail?status=503", 5)
        hit(app_url + "/", 1)
        time.sleep(0.7)
    deadline = time.monotonic() + 30
    while True:
        results = panel_results(base, namespace)
        empty = sorted({title for (title, _expr), series in results.items() if not series})
        if not empty or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert empty == [], f"panels without data: {empty}"
    after = results[("Error ratio (5xx)", error_ratio)]
    assert [float(s["value"][1]) > 0.1 for s in after] == [True], after
    alerts = results[("Alerts", next(e for t, e in dashboard.queries("app1", namespace) if t == "Alerts"))]
    assert "App1HighErrorRate" in {s["metric"]["alertname"] for s in alerts}, alerts
    versions = results[("Deployed version and image", next(
        e for t, e in dashboard.queries("app1", namespace) if t.startswith("Deployed") and "app_build_info" in e))]
    assert [s["metric"]["version"] for s in versions] == [(ROOT / "app" / "VERSION").read_text().strip()], versions
    record_series(base, namespace)


def record_series(base, namespace):
    """With KINDLING_DASHBOARD_SERIES=FILE, every panel's series over the test's minute, for scripts/draw-dashboard
    (docs/app.md's picture)."""
    target = os.environ.get("KINDLING_DASHBOARD_SERIES")
    if not target:
        return
    end = time.time()
    recorded = {"_title": f"app1 (dev), namespace {namespace}: the dashboard test's minute"}
    for title, _kind, _unit, targets, _width in dashboard.PANELS:
        panel = recorded.setdefault(title, {})
        for expr, legend in targets:
            promql = dashboard.expand(expr, "app1", namespace, pod=".+").replace("$__rate_interval", "15s")
            answer = _get(f"{base}/api/v1/query_range?" + urllib.parse.urlencode(
                {"query": promql, "start": end - 60, "end": end, "step": 1}))["data"]["result"]
            for series in answer:
                name = re.sub(r"\{\{(\w+)\}\}", lambda m: series["metric"].get(m[1], ""), legend) or ", ".join(
                    f"{k}={v}" for k, v in sorted(series["metric"].items()) if k not in ("__name__", "job", "instance"))
                panel[name] = [[float(t), float(v)] for t, v in series["values"]]
    Path(target).write_text(json.dumps(recorded))
