# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: app_dashboard
short_description: The app's Grafana dashboard (golden signals of one environment, per pod) as Grafana's JSON model
version_added: 0.2.0
description:
  - Built with grafana-foundation-sdk (Grafana's builders for Grafana 11.6's dashboard model).
  - Panels, in order, each queried per pod of the environment (a C(pod) variable, all pods by default)
    request rate, error ratio (5xx), latency p50/p95/p99 (from the app's histogram), requests in flight, CPU and
    memory against the container's limits (cAdvisor and kube-state-metrics), restarts, the app's alerts (ALERTS),
    and the deployed version, commit and image digest.
  - The queries name the app's Service as the scrape job, as prometheus-operator names a ServiceMonitor's targets.
  - Runs on the controller; it needs the grafana-foundation-sdk Python package there (requirements.txt).
author:
  - kindling.gitops maintainers (@kindling)
options:
  _input:
    description: The app's name (its Service, container and scrape job).
    type: str
    required: true
  environment:
    description: The environment (dev, qa, prod); part of the title and the uid (C(<app>-<environment>)).
    type: str
    required: true
  namespace:
    description: The environment's namespace, which every query selects.
    type: str
    required: true
  datasource_uid:
    description: The uid of the Prometheus datasource (kube-prometheus-stack provisions C(prometheus)).
    type: str
    default: prometheus
requirements:
  - grafana-foundation-sdk
"""

EXAMPLES = r"""
- name: Write the dashboard the Grafana sidecar loads
  ansible.builtin.copy:
    content: "{{ 'app1' | kindling.gitops.app_dashboard(environment='dev', namespace='app1-dev') | to_nice_json }}"
    dest: /tmp/app1-dev.json
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The dashboard (Grafana's dashboard JSON model, schemaVersion of Grafana 11.6).
  type: dict
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.kindling.gitops.plugins.module_utils import dashboard, rules


def app_dashboard(app_name, environment, namespace, datasource_uid=dashboard.DATASOURCE_UID):
    if not dashboard.HAS_SDK:
        raise AnsibleFilterError("app_dashboard: the grafana-foundation-sdk Python package is missing on the "
                                 "controller (pip install -r requirements.txt): %s" % dashboard.SDK_IMPORT_ERROR)
    try:
        for field, value in (("app_name", app_name), ("environment", environment), ("namespace", namespace)):
            rules.check_dns_label(field, value)
    except rules.InputError as error:
        raise AnsibleFilterError("app_dashboard: %s" % error)
    return dashboard.build(app_name, environment, namespace, datasource_uid=datasource_uid)


class FilterModule(object):
    def filters(self):
        return {"app_dashboard": app_dashboard}
