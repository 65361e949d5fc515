# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
import yaml

from ansible_collections.kindling.gitops.plugins.module_utils import rules
from ansible_collections.kindling.gitops.plugins.module_utils import kustomize_overlay as overlay

DIGEST = "sha256:" + "c" * 64


def params(**extra):
    result = {"namespace": "app1-dev", "resources": ["../../base"], "replicas": [{"name": "app1", "count": 2}],
              "images": [{"name": "app1", "new_name": "localhost:5001/app1", "tag": "1.0.0", "digest": DIGEST}],
              "config_map": {"name": "app1-config", "literals": {"LOG_LEVEL": "DEBUG", "ENVIRONMENT": "dev"}},
              "ingress": {"kind": "Ingress", "name": "app1", "host": "app1.dev.localhost", "service_name": "app1",
                          "service_port": "http", "class_name": "nginx", "cluster_issuer": "kindling-ca",
                          "tls": True},
              "labels": {"team": "platform"}, "annotations": {"owner": 42}, "patches": []}
    result.update(extra)
    return result


def test_plan_is_deterministic_and_maps_every_option():
    files = overlay.plan_overlay(params())
    assert files == overlay.plan_overlay(params(labels={"team": "platform"}))
    assert sorted(files) == ["ingress.yaml", "kustomization.yaml"]
    kustomization = yaml.safe_load(files["kustomization.yaml"])
    assert kustomization["namespace"] == "app1-dev"
    assert kustomization["resources"] == ["../../base", "ingress.yaml"]
    assert kustomization["images"] == [{"name": "app1", "newName": "localhost:5001/app1", "newTag": "1.0.0",
                                        "digest": DIGEST}]
    assert kustomization["replicas"] == [{"name": "app1", "count": 2}]
    assert kustomization["configMapGenerator"] == [{"name": "app1-config", "behavior": "merge",
                                                    "literals": ["ENVIRONMENT=dev", "LOG_LEVEL=DEBUG"]}]
    assert kustomization["labels"][0]["includeSelectors"] is False
    assert kustomization["commonAnnotations"] == {"owner": "42"}
    ingress = yaml.safe_load(files["ingress.yaml"])
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "kindling-ca"}
    assert ingress["spec"]["tls"] == [{"hosts": ["app1.dev.localhost"], "secretName": "app1-tls"}]


def test_a_patch_given_as_data_is_written_once_as_yaml_text():
    patch = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app1"},
             "spec": {"template": {"spec": {"containers": [{"name": "app1", "resources": {"limits": {"cpu": "1"}}}]}}}}
    kustomization = yaml.safe_load(overlay.plan_overlay(params(patches=[{"patch": patch}]))["kustomization.yaml"])
    assert yaml.safe_load(kustomization["patches"][0]["patch"]) == patch


def test_route_on_openshift():
    files = overlay.plan_overlay(params(ingress={"kind": "Route", "name": "app1", "host": "app1.dev.localhost",
                                                 "service_name": "app1", "service_port": "http"}))
    route = yaml.safe_load(files["route.yaml"])
    assert route["kind"] == "Route" and route["spec"]["host"] == "app1.dev.localhost"
    assert "ingress.yaml" not in files


@pytest.mark.parametrize("bad, field", [
    ({"namespace": "App1"}, "namespace"),
    ({"replicas": [{"name": "app1", "count": -2}]}, "replicas[0].count"),
    ({"images": [{"name": "app1", "digest": "sha256:xyz"}]}, "images[0].digest"),
    ({"images": [{"name": "app1", "tag": ""}]}, "images[0].tag"),
    ({"resources": ["/abs/base"]}, "resources[0]"),
    ({"patches": [{"patch": "a: [b"}]}, "patches[0].patch"),
    ({"patches": [{"patch": 42}]}, "patches[0].patch"),
    ({"config_map": {"name": "app1-config", "literals": {"A B": "x"}}}, "config_map.literals"),
    # The base computes the container ports and the grace period from these: an overlay's value would break them.
    ({"config_map": {"name": "app1-config", "literals": {"SHUTDOWN_TIMEOUT": "60"}}}, "config_map.literals"),
    ({"config_map": {"name": "app1-config", "literals": {"PORT": "8000"}}}, "config_map.literals"),
])
def test_bad_input_names_the_field(bad, field):
    with pytest.raises(rules.InputError) as error:
        overlay.plan_overlay(params(**bad))
    assert error.value.field == field


def test_pending_changes_write_and_remove_only_generated_files(tmp_path):
    files = overlay.plan_overlay(params())
    changes = overlay.pending_changes(str(tmp_path), files)
    assert [name for name, before, _after in changes] == ["ingress.yaml", "kustomization.yaml"]
    overlay.write_changes(str(tmp_path), changes)
    assert overlay.pending_changes(str(tmp_path), files) == []

    (tmp_path / "route.yaml").write_text("# a file this module did not write\n")
    without_ingress = overlay.plan_overlay(params(ingress=None))
    changes = overlay.pending_changes(str(tmp_path), without_ingress)
    assert [(name, after is None) for name, _before, after in changes] == [
        ("kustomization.yaml", False), ("ingress.yaml", True)]
    overlay.write_changes(str(tmp_path), changes)
    assert not (tmp_path / "ingress.yaml").exists() and (tmp_path / "route.yaml").exists()


DASHBOARD = {"name": "app1-dashboard", "labels": {"grafana_dashboard": 1},
             "content": {"uid": "app1-dev", "title": "app1 (dev)", "panels": [{"type": "timeseries"}]}}


def test_a_dashboard_is_a_configmap_the_grafana_sidecar_selects_with_the_json_in_stable_bytes():
    files = overlay.plan_overlay(params(dashboard=DASHBOARD))
    kustomization = yaml.safe_load(files["kustomization.yaml"])
    assert kustomization["resources"] == ["../../base", "ingress.yaml", "dashboard.yaml"]
    assert files["dashboard.yaml"].startswith(overlay.HEADER)
    config_map = yaml.safe_load(files["dashboard.yaml"])
    assert config_map["kind"] == "ConfigMap" and config_map["metadata"] == {
        "name": "app1-dashboard", "labels": {"grafana_dashboard": "1"}}
    assert list(config_map["data"]) == ["app1-dashboard.json"]
    assert json.loads(config_map["data"]["app1-dashboard.json"]) == DASHBOARD["content"]
    reordered = dict(DASHBOARD, content=dict(reversed(list(DASHBOARD["content"].items()))))
    assert overlay.plan_overlay(params(dashboard=reordered)) == files


def test_a_dashboard_no_longer_asked_for_is_removed(tmp_path):
    overlay.write_changes(str(tmp_path), overlay.pending_changes(str(tmp_path), overlay.plan_overlay(params(dashboard=DASHBOARD))))
    changes = overlay.pending_changes(str(tmp_path), overlay.plan_overlay(params()))
    assert ("dashboard.yaml", (tmp_path / "dashboard.yaml").read_text(), None) in changes


@pytest.mark.parametrize("dashboard, field", [
    (dict(DASHBOARD, name="App1_Dashboard"), "dashboard.name"),
    (dict(DASHBOARD, labels={}), "dashboard.labels"),
    (dict(DASHBOARD, labels={"grafana dashboard": "1"}), "dashboard.labels"),
    (dict(DASHBOARD, content={"title": "no uid"}), "dashboard.content"),
    (dict(DASHBOARD, content={"uid": "x", "panels": "not a list"}), "dashboard.content"),
])
def test_a_bad_dashboard_names_the_field(dashboard, field):
    with pytest.raises(rules.InputError) as error:
        overlay.plan_overlay(params(dashboard=dashboard))
    assert error.value.field == field
