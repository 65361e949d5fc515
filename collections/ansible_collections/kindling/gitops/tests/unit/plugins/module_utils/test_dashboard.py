# -*- coding: utf-8 -*-
"""The dashboard as Grafana reads it: one environment's uid and queries, every panel on the Prometheus datasource,
a pod variable over the app's own series. (That every query returns data from the real app on a real Prometheus
is tests/test_prometheus_app.py's.)"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.kindling.gitops.plugins.module_utils import dashboard

pytestmark = pytest.mark.skipif(not dashboard.HAS_SDK, reason="grafana-foundation-sdk is not installed "
                                                              "(pip install -r requirements.txt)")


def test_one_environment_per_dashboard_every_panel_on_prometheus_and_its_pods():
    model = dashboard.build("app1", "qa", "app1-qa")
    assert (model["uid"], model["title"]) == ("app1-qa", "app1 (qa)")
    assert [p["title"] for p in model["panels"]] == [p[0] for p in dashboard.PANELS]
    for panel in model["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert 'namespace="app1-qa"' in target["expr"] and "app1-dev" not in target["expr"], target["expr"]
            assert "{sel}" not in target["expr"] and "{k8s}" not in target["expr"]
    [variable] = model["templating"]["list"]
    assert variable["name"] == "pod" and variable["includeAll"] and variable["allValue"] == ".+"
    assert variable["query"] == 'label_values(app_build_info{job="app1", namespace="app1-qa"}, pod)'


def test_tables_ask_instant_tables_and_graphs_name_each_pod():
    model = dashboard.build("app1", "dev", "app1-dev")
    for panel in model["panels"]:
        for target in panel["targets"]:
            if panel["type"] == "table":
                assert target["instant"] is True and target["format"] == "table", panel["title"]
            elif "by (pod)" in target["expr"]:
                assert target["legendFormat"] == "{{pod}}", panel["title"]


def test_queries_select_all_pods_of_the_environment_and_the_json_is_stable():
    for _title, expr in dashboard.queries("app1", "app1-dev"):
        assert "$pod" not in expr and 'pod=~".+"' in expr or expr.startswith("ALERTS")
    model = dashboard.build("app1", "dev", "app1-dev")
    assert dashboard.to_json(model) == dashboard.to_json(json.loads(dashboard.to_json(model)))
