# -*- coding: utf-8 -*-
"""The app's base made in one place: every object that names a port, a port name or the selector label reads it
from app_manifests, so a change there moves all of them."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.kindling.gitops.plugins.module_utils import app_manifests as manifests
from ansible_collections.kindling.gitops.plugins.module_utils import rules


def objects(**extra):
    return manifests.base_objects(dict({"name": "app1", "run_as_user": 10001, "monitoring_labels": {}}, **extra))


def test_every_port_and_port_name_comes_from_one_table(monkeypatch):
    monkeypatch.setattr(manifests, "HTTP", ("web", 8000, 81, "PORT"))
    monkeypatch.setattr(manifests, "METRICS", ("prom", 9100, 9100, "METRICS_PORT"))
    monkeypatch.setattr(manifests, "PORTS", (manifests.HTTP, manifests.METRICS))
    base = objects()
    container = base["deployment.yaml"]["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"] == [{"name": "web", "containerPort": 8000}, {"name": "prom", "containerPort": 9100}]
    assert container["livenessProbe"]["httpGet"]["port"] == container["readinessProbe"]["httpGet"]["port"] == "web"
    assert base["deployment.yaml"]["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == "9100"
    assert base["service.yaml"]["spec"]["ports"] == [{"name": "web", "port": 81, "targetPort": "web"},
                                                     {"name": "prom", "port": 9100, "targetPort": "prom"}]
    assert base["servicemonitor.yaml"]["spec"]["endpoints"][0]["port"] == "prom"
    assert "PORT=8000" in base["kustomization.yaml"]["configMapGenerator"][0]["literals"]
    assert "METRICS_PORT=9100" in base["kustomization.yaml"]["configMapGenerator"][0]["literals"]


def test_the_name_selects_the_pods_names_the_job_and_the_alerts():
    base = objects(name="shop", monitoring_labels={"release": "kps"})
    selector = {"app.kubernetes.io/name": "shop"}
    assert base["deployment.yaml"]["spec"]["selector"]["matchLabels"] == selector
    assert base["service.yaml"]["spec"]["selector"] == selector
    assert base["servicemonitor.yaml"]["spec"]["selector"]["matchLabels"] == selector
    assert base["servicemonitor.yaml"]["metadata"]["labels"] == base["prometheusrule.yaml"]["metadata"]["labels"]
    alerts = base["prometheusrule.yaml"]["spec"]["groups"][0]["rules"]
    assert all(alert["alert"].startswith("Shop") for alert in alerts)
    # prometheus-operator names the job after the Service (no jobLabel): the rules read that job.
    assert all('job="shop"' in alert["expr"] or 'container="shop"' in alert["expr"] for alert in alerts)
    assert sorted(base) == sorted(manifests.FILES)


@pytest.mark.parametrize("bad, field", [
    ({"name": "App1"}, "base.name"),
    ({"run_as_user": 0}, "base.run_as_user"),
    ({"run_as_user": 2 ** 31}, "base.run_as_user"),
    ({"monitoring_labels": {"app/": "x"}}, "base.monitoring_labels"),
])
def test_bad_base_input_names_the_field(bad, field):
    with pytest.raises(rules.InputError) as error:
        objects(**bad)
    assert error.value.field == field


@pytest.mark.parametrize("value, expected", [(2, 2), ("1", 1), ("25%", "25%")])
def test_a_pod_disruption_budget_takes_a_count_or_a_percentage(value, expected):
    pdb = manifests.pod_disruption_budget({"name": "app1", "max_unavailable": value})
    assert pdb["spec"] == {"maxUnavailable": expected, "selector": {"matchLabels": {"app.kubernetes.io/name": "app1"}}}


@pytest.mark.parametrize("value", [0, "0", "150%", "one", True])
def test_a_pod_disruption_budget_that_blocks_every_drain_or_means_nothing_is_refused(value):
    with pytest.raises(rules.InputError) as error:
        manifests.pod_disruption_budget({"name": "app1", "max_unavailable": value})
    assert error.value.field == "pod_disruption_budget.max_unavailable"


def test_the_pod_drains_for_the_preStop_pause_then_has_the_shutdown_timeout_within_its_grace_period(monkeypatch):
    monkeypatch.setattr(manifests, "PRESTOP_PAUSE_SECONDS", 17)
    monkeypatch.setattr(manifests, "SHUTDOWN_TIMEOUT_SECONDS", 42)
    base = objects()
    pod = base["deployment.yaml"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["lifecycle"] == {"preStop": {"sleep": {"seconds": 17}}}
    assert "SHUTDOWN_TIMEOUT=42" in base["kustomization.yaml"]["configMapGenerator"][0]["literals"]
    # The kubelet kills at the grace period, counted from the start of preStop: both fit, with time to exit.
    assert pod["terminationGracePeriodSeconds"] > 17 + 42
