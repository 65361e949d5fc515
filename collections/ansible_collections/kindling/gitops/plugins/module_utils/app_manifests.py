# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The app's Kustomize base (Deployment, Service, ServiceMonitor, PrometheusRule and the kustomization listing
them) and the PodDisruptionBudget an overlay adds with more than one replica, as objects.

Each port, port name and selector label is said once, here, and every object that names it reads it from
here: the container's ports and the PORT/METRICS_PORT the app reads, the Service's ports and the probes'
and ServiceMonitor's port names. Plain Python: unit-testable without Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.kindling.gitops.plugins.module_utils import rules

# The app's two listeners (app/app1/settings.py's defaults, which the ConfigMap below sets explicitly):
# (port name, container port, Service port, the environment variable the app reads it from).
HTTP = ("http", 8080, 80, "PORT")
METRICS = ("metrics", 9090, 9090, "METRICS_PORT")
PORTS = (HTTP, METRICS)
# Draining, the Kubernetes way. A pod being deleted leaves the Service's ready endpoints at once, but kube-proxy
# and the ingress controller take a moment to stop sending to it: the preStop pause keeps the app serving
# meanwhile. Then SIGTERM starts the server's graceful stop, which gives requests in flight SHUTDOWN_TIMEOUT
# (set in the ConfigMap below) to finish. The grace period counts from the start of preStop; past it the kubelet
# kills the container, so it covers both, plus a moment for the process to exit.
PRESTOP_PAUSE_SECONDS = 5
SHUTDOWN_TIMEOUT_SECONDS = 10
EXIT_MARGIN_SECONDS = 5
# The ConfigMap values the Deployment is computed from (its ports, its grace period): an overlay may not change them.
BASE_CONFIG_KEYS = tuple(env for _n, _p, _s, env in PORTS) + ("SHUTDOWN_TIMEOUT",)
NAME_LABEL = "app.kubernetes.io/name"
FILES = ("kustomization.yaml", "deployment.yaml", "service.yaml", "servicemonitor.yaml", "prometheusrule.yaml")


def _selector(name):
    return {NAME_LABEL: name}


def deployment(name, run_as_user):
    liveness = {"httpGet": {"path": "/health", "port": HTTP[0]}, "periodSeconds": 10, "failureThreshold": 3}
    readiness = {"httpGet": {"path": "/ready", "port": HTTP[0]}, "periodSeconds": 5, "failureThreshold": 2}
    container = {
        "name": name,
        # Overlays replace this name with registry/repository:tag@digest (kustomize images).
        "image": name,
        "ports": [{"name": port_name, "containerPort": port} for port_name, port, _service, _env in PORTS],
        "envFrom": [{"configMapRef": {"name": name + "-config"}}],
        "livenessProbe": liveness,
        "readinessProbe": readiness,
        # The kubelet's own sleep (GA since Kubernetes 1.34): the image has no shell or sleep binary to exec.
        "lifecycle": {"preStop": {"sleep": {"seconds": PRESTOP_PAUSE_SECONDS}}},
        # No requests or limits here: each environment's overlay patches in its own (gitops_resources).
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        # The root filesystem is read-only; Werkzeug spools large request bodies in /tmp.
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "revisionHistoryLimit": 3,
            "selector": {"matchLabels": _selector(name)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": _selector(name),
                             "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": str(METRICS[1]),
                                             "prometheus.io/path": "/metrics"}},
                "spec": {
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": PRESTOP_PAUSE_SECONDS + SHUTDOWN_TIMEOUT_SECONDS + EXIT_MARGIN_SECONDS,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": run_as_user, "runAsGroup": run_as_user,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "16Mi"}}],
                },
            },
        },
    }


def service(name):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": _selector(name),
                     "ports": [{"name": port_name, "port": service_port, "targetPort": port_name}
                               for port_name, _port, service_port, _env in PORTS]}}


def _monitoring_metadata(name, labels):
    metadata = {"name": name}
    if labels:
        metadata["labels"] = dict(sorted(labels.items()))
    return metadata


def service_monitor(name, labels):
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor",
            "metadata": _monitoring_metadata(name, labels),
            "spec": {"selector": {"matchLabels": _selector(name)},
                     "endpoints": [{"port": METRICS[0], "path": "/metrics", "interval": "30s"}]}}


def _alert(name, expr, duration, severity, summary):
    return {"alert": name, "expr": expr, "for": duration, "labels": {"severity": severity},
            "annotations": {"summary": summary}}


def prometheus_rule(name, labels):
    """Alerts only on series that exist once the platform runs (docs/gitops.md, "Alerts", says which and why):
    - the app's own (app/app1/metrics.py), scraped through the ServiceMonitor: job is the Service's name
      (prometheus-operator's default without jobLabel), the target adds namespace, pod, container, service,
      endpoint="metrics";
    - Prometheus' own `up` for that job;
    - kube-state-metrics (job kube-state-metrics, honorLabels: namespace/pod/container are the container's);
    - cAdvisor through kube-prometheus-stack's kubelet ServiceMonitor (job kubelet, metrics_path
      /metrics/cadvisor, honorLabels). Matching container=<name> (the Deployment's container) leaves out the
      pod cgroup (container="") and the pause container ("POD").
    """
    job = 'job="%s"' % name
    alert = name.capitalize()
    where = "{{ $labels.namespace }}"
    pod = "{{ $labels.namespace }}/{{ $labels.pod }}"
    cadvisor = 'job="kubelet", metrics_path="/metrics/cadvisor", container="%s"' % name
    limits = 'job="kube-state-metrics", resource="%%s", container="%s"' % name

    def near_limit(suffix, aggregate, usage, resource, shown, consequence):
        by = "%s by (namespace, pod, container)" % aggregate
        return _alert(alert + suffix,
                      "%s (%s) / %s (kube_pod_container_resource_limits{%s}) > 0.9" % (by, usage, by, limits % resource),
                      "15m", "warning",
                      "%s in %s uses {{ $value | humanizePercentage }} of its %s limit (%s)." % (name, pod, shown, consequence))
    rules_ = [
        _alert(alert + "HighErrorRate",
               'sum by (namespace) (rate(app_request_count_total{%s, http_status=~"5.."}[5m]))'
               ' / sum by (namespace) (rate(app_request_count_total{%s}[5m])) > 0.05' % (job, job),
               "10m", "critical", "More than 5%% of %s's requests fail with a 5xx in %s." % (name, where)),
        _alert(alert + "HighLatency",
               "histogram_quantile(0.95, sum by (namespace, le) (rate(app_request_latency_seconds_bucket{%s}[5m])))"
               " > 0.5" % job,
               "10m", "warning", "95th percentile latency of %s is above 500 ms in %s." % (name, where)),
        _alert(alert + "Saturated", "sum by (namespace) (app_requests_in_flight{%s}) > 50" % job,
               "5m", "warning", "More than 50 requests in flight in %s in %s." % (name, where)),
        _alert(alert + "VersionsMixed",
               "count by (namespace) (count by (namespace, version) (app_build_info{%s})) > 1" % job,
               "30m", "warning",
               "Two versions of %s have been running side by side for 30 minutes (a stuck rollout)." % name),
        _alert(alert + "Down", "up{%s} == 0" % job, "5m", "critical",
               "%s pod %s has not answered Prometheus on its metrics port for 5 minutes." % (name, pod)),
        _alert(alert + "Absent", "absent(up{%s})" % job, "10m", "critical",
               "Prometheus has had no target for %s for 10 minutes (no pods, or the ServiceMonitor does not select"
               " its Service)." % name),
        _alert(alert + "Restarting",
               'increase(kube_pod_container_status_restarts_total{job="kube-state-metrics", container="%s"}[15m])'
               " > 0" % name,
               "5m", "warning",
               "%s's container in pod %s restarted in the last 15 minutes (crashed, OOM-killed or failed its"
               " liveness probe)." % (name, pod)),
        near_limit("CPUNearLimit", "sum", "rate(container_cpu_usage_seconds_total{%s}[5m])" % cadvisor, "cpu", "CPU",
                   "the kernel throttles it at the limit"),
        near_limit("MemoryNearLimit", "max", "container_memory_working_set_bytes{%s}" % cadvisor, "memory", "memory",
                   "the kernel OOM-kills it at the limit"),
    ]
    return {"apiVersion": "monitoring.coreos.com/v1", "kind": "PrometheusRule",
            "metadata": _monitoring_metadata(name, labels),
            "spec": {"groups": [{"name": name, "rules": rules_}]}}


def kustomization(name):
    """The base every environment's overlay starts from; overlays set namespace, replicas, image digest and
    config. The ConfigMap is read with envFrom; kustomize's name hash rolls the pods when a value changes."""
    literals = (["ENVIRONMENT=unset", "LOG_LEVEL=INFO", "SHUTDOWN_TIMEOUT=%d" % SHUTDOWN_TIMEOUT_SECONDS]
                + ["%s=%s" % (env, port) for _n, port, _s, env in PORTS])
    return {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
            "labels": [{"pairs": {NAME_LABEL: name, "app.kubernetes.io/part-of": "kindling"},
                        "includeSelectors": False, "includeTemplates": True}],
            "resources": list(FILES[1:]),
            "configMapGenerator": [{"name": name + "-config", "literals": literals}]}


def base_objects(params):
    """{file name: object} of the base, or InputError naming the bad option."""
    name = rules.check_dns_label("base.name", params.get("name"))
    run_as_user = params.get("run_as_user")
    if isinstance(run_as_user, bool) or not isinstance(run_as_user, int) or not 1 <= run_as_user <= 2147483647:
        raise rules.InputError("base.run_as_user", "%r must be a non-root UID (1 to 2147483647)" % (run_as_user,))
    labels = rules.check_labels("base.monitoring_labels", params.get("monitoring_labels"))
    return {"kustomization.yaml": kustomization(name), "deployment.yaml": deployment(name, run_as_user),
            "service.yaml": service(name), "servicemonitor.yaml": service_monitor(name, labels),
            "prometheusrule.yaml": prometheus_rule(name, labels)}


def pod_disruption_budget(params):
    """Only with more than one replica: with one, a PDB would block every node drain."""
    name = rules.check_dns_label("pod_disruption_budget.name", params.get("name"))
    unavailable = params.get("max_unavailable")
    if isinstance(unavailable, str) and unavailable.strip().isdigit():
        unavailable = int(unavailable)
    if isinstance(unavailable, str) and re.match(r"^([1-9][0-9]?|100)%$", unavailable):
        pass  # a percentage of the replicas, as the PodDisruptionBudget API takes it
    elif isinstance(unavailable, bool) or not isinstance(unavailable, int) or not 1 <= unavailable <= 2147483647:
        raise rules.InputError("pod_disruption_budget.max_unavailable",
                               "%r must be a count of pods (at least 1: 0 would block every voluntary disruption) "
                               "or a percentage such as 25%%" % (unavailable,))
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name},
            "spec": {"maxUnavailable": unavailable, "selector": {"matchLabels": _selector(name)}}}
