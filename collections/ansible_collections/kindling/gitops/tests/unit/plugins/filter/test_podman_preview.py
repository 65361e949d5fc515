# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""podman_preview: what podman kube play gets from a rendered overlay."""

from __future__ import annotations

import copy

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.kindling.gitops.plugins.filter.podman_preview import podman_preview

RENDERED = [
    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app1-config", "namespace": "app1-dev"},
     "data": {"ENVIRONMENT": "dev"}},
    {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "app1", "namespace": "app1-dev"},
     "spec": {"ports": [{"name": "http", "port": 8080, "targetPort": "http"}]}},
    {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app1", "namespace": "app1-dev"},
     "spec": {"replicas": 3, "template": {"spec": {"containers": [
         {"name": "app1", "image": "localhost:5001/app1@sha256:" + "b" * 64,
          "ports": [{"name": "http", "containerPort": 8080}, {"name": "metrics", "containerPort": 9090}]}]}}}},
    {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "app1"}},
    {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "app1"}},
    {"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "app1"}},
    None,
]


def test_keeps_playable_kinds_renames_and_binds_loopback_ports():
    original = copy.deepcopy(RENDERED)
    out = podman_preview(RENDERED, name="kindling-preview-app1-dev", ports={8080: 18080, "9090": "19090"})
    assert [m["kind"] for m in out] == ["ConfigMap", "Service", "Deployment"]
    deployment = out[2]
    assert deployment["metadata"]["name"] == "kindling-preview-app1-dev"
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["template"]["spec"]["containers"][0]["ports"] == [
        {"name": "http", "containerPort": 8080, "hostPort": 18080, "hostIP": "127.0.0.1"},
        {"name": "metrics", "containerPort": 9090, "hostPort": 19090, "hostIP": "127.0.0.1"}]
    assert RENDERED == original, "the input must not be modified"


@pytest.mark.parametrize("manifests, ports, message", [
    ([m for m in RENDERED if m and m["kind"] != "Deployment"], {8080: 18080}, "exactly one Deployment, found 0"),
    (RENDERED + [RENDERED[2]], {8080: 18080}, "exactly one Deployment, found 2"),
    (RENDERED, {8081: 18080}, "no containerPort 8081"),
    (RENDERED, {8080: 70000}, "ports[8080]: 70000 is not a TCP port"),
    (RENDERED, {}, "ports must map"),
    ("kind: Deployment", {8080: 18080}, "must be a list of manifests"),
])
def test_unusable_input_fails_naming_the_problem(manifests, ports, message):
    with pytest.raises(AnsibleFilterError, match=message.replace("[", r"\[").replace("]", r"\]")):
        podman_preview(manifests, name="p", ports=ports)


def test_env_is_set_on_every_container_replacing_the_overlays_value():
    rendered = copy.deepcopy(RENDERED)
    container = rendered[2]["spec"]["template"]["spec"]["containers"][0]
    container["env"] = [{"name": "DRAIN_SECONDS", "value": "2"}, {"name": "LOG_LEVEL", "value": "INFO"}]
    out = podman_preview(rendered, name="p", ports={8080: 18080}, env={"DRAIN_SECONDS": 0})
    assert out[2]["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "LOG_LEVEL", "value": "INFO"}, {"name": "DRAIN_SECONDS", "value": "0"}]
    without = podman_preview(rendered, name="p", ports={8080: 18080})
    assert without[2]["spec"]["template"]["spec"]["containers"][0]["env"] == container["env"]
    with pytest.raises(AnsibleFilterError, match="env must map"):
        podman_preview(rendered, name="p", ports={8080: 18080}, env=["DRAIN_SECONDS=0"])
