# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The app's Grafana dashboard, built with grafana-foundation-sdk (Grafana's own builders): the golden signals of
one environment, per pod. PANELS is the one list of what is shown and how it is queried; the dashboard, the
tests that run every query on a real Prometheus, and docs/app.md's picture all read it.

Series and labels, as Prometheus stores them:
- the app's own (app1/metrics.py): app_request_count_total{method, endpoint, http_status},
  app_request_latency_seconds_bucket{endpoint, le}, app_requests_in_flight, app_build_info{version, environment,
  commit}; each with the target labels prometheus-operator gives a ServiceMonitor's targets (job = the Service,
  namespace, pod, container, service, endpoint);
- the platform's (kube-prometheus-stack): kube-state-metrics' kube_pod_container_resource_limits{resource, unit},
  kube_pod_container_status_restarts_total and kube_pod_container_info{image, image_id, image_spec} (job
  kube-state-metrics), the kubelet's cAdvisor container_cpu_usage_seconds_total and
  container_memory_working_set_bytes (job kubelet, metrics_path /metrics/cadvisor); and Prometheus's ALERTS.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

try:
    from grafana_foundation_sdk.builders import dashboard as sdk_dashboard
    from grafana_foundation_sdk.builders import prometheus as sdk_prometheus
    from grafana_foundation_sdk.builders import stat as sdk_stat
    from grafana_foundation_sdk.builders import table as sdk_table
    from grafana_foundation_sdk.builders import timeseries as sdk_timeseries
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models import dashboard as sdk_models
    from grafana_foundation_sdk.models import prometheus as sdk_prometheus_models
    HAS_SDK = True
    SDK_IMPORT_ERROR = None
except ImportError as error:  # the module reports it with missing_required_lib
    HAS_SDK = False
    SDK_IMPORT_ERROR = error

# Where the sidecar of kube-prometheus-stack's Grafana looks (its values grafana.sidecar.dashboards.label /
# labelValue; the platform's values set the same pair, and the wiring check follows the link).
DATASOURCE_UID = "prometheus"
RATE = "$__rate_interval"

# (title, panel type, unit, [(PromQL, legend)], width). {app}: the app's name (its Service, container and job);
# {sel}: the selector of this environment's pods of the app, for the app's own series; {k8s}: the same for the
# platform's series about the app's container.
PANELS = (
    ("Request rate", "timeseries", "reqps", [
        ('sum by (pod) (rate(app_request_count_total{{{sel}}}[' + RATE + ']))', "{{pod}}")], 12),
    ("Error ratio (5xx)", "timeseries", "percentunit", [
        # A pod that never answered a 5xx has no such series: "or ... * 0" shows it at 0, not as no data.
        ('(sum by (pod) (rate(app_request_count_total{{{sel}, http_status=~"5.."}}[' + RATE + ']))'
         ' or sum by (pod) (rate(app_request_count_total{{{sel}}}[' + RATE + '])) * 0)'
         ' / sum by (pod) (rate(app_request_count_total{{{sel}}}[' + RATE + ']))', "{{pod}}")], 12),
    ("Latency", "timeseries", "s", [
        ('histogram_quantile(%s, sum by (le) (rate(app_request_latency_seconds_bucket{{{sel}}}[' % q + RATE + '])))',
         "p%s" % int(float(q) * 100)) for q in ("0.50", "0.95", "0.99")], 12),
    ("Requests in flight", "timeseries", "short", [
        ('sum by (pod) (app_requests_in_flight{{{sel}}})', "{{pod}}")], 12),
    ("CPU of the limit", "timeseries", "percentunit", [
        ('sum by (pod) (rate(container_cpu_usage_seconds_total{{job="kubelet", metrics_path="/metrics/cadvisor", {k8s}}}'
         '[' + RATE + ']))'
         ' / sum by (pod) (kube_pod_container_resource_limits{{job="kube-state-metrics", resource="cpu", {k8s}}})',
         "{{pod}}")], 8),
    ("Memory of the limit", "timeseries", "percentunit", [
        ('sum by (pod) (container_memory_working_set_bytes{{job="kubelet", metrics_path="/metrics/cadvisor", {k8s}}})'
         ' / sum by (pod) (kube_pod_container_resource_limits{{job="kube-state-metrics", resource="memory", {k8s}}})',
         "{{pod}}")], 8),
    ("Restarts", "stat", "short", [
        ('sum by (pod) (kube_pod_container_status_restarts_total{{job="kube-state-metrics", {k8s}}})', "{{pod}}")], 8),
    ("Alerts", "table", "", [
        ('ALERTS{{namespace="{namespace}", alertname=~"{alert_prefix}.*"}}', "{{alertname}} {{alertstate}}")], 12),
    ("Deployed version and image", "table", "", [
        ('max by (pod, version, commit) (app_build_info{{{sel}}})', ""),
        ('max by (pod, image_spec, image_id) (kube_pod_container_info{{job="kube-state-metrics", {k8s}}})', "")],
     12),
)


def queries(app_name, namespace):
    """[(panel title, PromQL)] of every panel, with this environment's selectors and "All" pods."""
    return [(title, expr) for title, _type, _unit, targets, _width in PANELS
            for expr in (expand(expr, app_name, namespace, pod='.+') for expr, _legend in targets)]


def expand(expr, app_name, namespace, pod="$pod"):
    """A PANELS query for this environment: the app's and the platform's selectors, pods matching `pod`."""
    sel = 'job="%s", namespace="%s", pod=~"%s"' % (app_name, namespace, pod)
    k8s = 'namespace="%s", pod=~"%s", container="%s"' % (namespace, pod, app_name)
    return expr.format(sel=sel, k8s=k8s, namespace=namespace, alert_prefix=app_name.capitalize())


def build(app_name, environment, namespace, datasource_uid=DATASOURCE_UID):
    """The dashboard as Grafana's JSON model (a dict), for one environment of the app."""
    datasource = sdk_models.DataSourceRef(type_val="prometheus", uid=datasource_uid)
    pods = (sdk_dashboard.QueryVariable("pod").label("Pod").datasource(datasource)
            .query('label_values(app_build_info{job="%s", namespace="%s"}, pod)' % (app_name, namespace))
            .refresh(sdk_models.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .multi(True).include_all(True).all_value(".+"))
    board = (sdk_dashboard.Dashboard("%s (%s)" % (app_name, environment))
             .uid("%s-%s" % (app_name, environment))
             .description("Golden signals of %s in %s (namespace %s), per pod." % (app_name, environment, namespace))
             .tags(["kindling", app_name, environment])
             .time("now-1h", "now").refresh("30s").readonly()
             .with_variable(pods))
    builders = {"timeseries": sdk_timeseries.Panel, "stat": sdk_stat.Panel, "table": sdk_table.Panel}
    for title, kind, unit, targets, width in PANELS:
        panel = builders[kind]().title(title).datasource(datasource).span(width).height(8)
        if unit:
            panel = panel.unit(unit)
        for index, (expr, legend) in enumerate(targets):
            query = (sdk_prometheus.Dataquery().ref_id("ABCDEFGH"[index]).datasource(datasource)
                     .expr(expand(expr, app_name, namespace)))
            if kind == "table":
                query = query.instant().format(sdk_prometheus_models.PromQueryFormat.TABLE)
            elif legend:
                query = query.legend_format(legend)
            panel = panel.with_target(query)
        board = board.with_panel(panel)
    return json.loads(JSONEncoder(sort_keys=True).encode(board.build()))


def to_json(model):
    """The dashboard as the file the sidecar reads: stable (sorted keys), so an unchanged one writes no change."""
    return json.dumps(model, indent=2, sort_keys=True) + "\n"
