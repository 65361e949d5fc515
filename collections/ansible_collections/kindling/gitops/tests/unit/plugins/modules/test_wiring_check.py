# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""wiring_check as a module: kubectl kustomize and helm template replaced by the objects they would render."""

from __future__ import annotations

from unittest import mock

import pytest

from ansible_collections.kindling.gitops.plugins.module_utils import kustomize_validate, wiring
from ansible_collections.kindling.gitops.plugins.modules import wiring_check
from ansible_collections.kindling.gitops.tests.unit.plugins.modules.harness import ModuleFail, run_module as run
from ansible_collections.kindling.gitops.tests.unit.plugins.module_utils import test_wiring as data

KIND = """
nodes:
  - role: control-plane
    labels: {ingress-ready: "true"}
    extraPortMappings:
      - {containerPort: 80, hostPort: 8080, listenAddress: "127.0.0.1"}
      - {containerPort: 443, hostPort: 8443, listenAddress: "127.0.0.1"}
"""
ISSUERS = "kind: ClusterIssuer\nmetadata: {name: kindling-selfsigned}\n---\nkind: ClusterIssuer\nmetadata: {name: kindling-ca}\n"
RELEASES = [{"name": "traefik", "namespace": "traefik", "chart": "traefik", "repo_url": "https://x", "version": "41.3.0"},
            {"name": "kube-prometheus-stack", "namespace": "monitoring", "chart": "kube-prometheus-stack",
             "repo_url": "https://y", "version": "88.5.3"}]


@pytest.fixture
def args(tmp_path):
    task = tmp_path / "port_forward.yml"
    task.write_text("argv: ['port-forward', 'service/app1', ports.app ~ ':80', ports.metrics ~ ':9090']\n")
    return {"overlay_path": str(tmp_path), "kind_config": KIND, "releases": RELEASES, "ingress_release": "traefik",
            "monitoring_release": "kube-prometheus-stack",
            "verify": {"ingress_url": "http://127.0.0.1:8080", "ingress_host": "app1.dev.localhost",
                       "service_name": "app1", "port_forward_task": str(task)},
            "registry": {"hosts_toml": '[host."http://kind-registry:5000"]', "mirror_host": "localhost:5001",
                         "name": "kind-registry", "container_port": 5000, "network": "kind"},
            "argocd_repo_url": "git://kindling-git/gitops.git", "network_containers": ["kind-registry", "kindling-git"],
            "cluster_issuers": ISSUERS}


@pytest.fixture
def rendered():
    charts = data.charts()
    with mock.patch.object(kustomize_validate, "kustomize_build", return_value=data.overlay()), \
            mock.patch.object(wiring, "render_release", side_effect=lambda release, *a, **k: charts[release["name"]]):
        yield


def test_wired_passes_and_reports_chart_counts(args, rendered):
    result = run(wiring_check, args)
    assert result["changed"] is False and result["broken"] == [] and result["not_followed"] == []
    assert result["charts"] == {"traefik": 2, "kube-prometheus-stack": len(data.charts()["kube-prometheus-stack"])}


def test_a_broken_link_fails_with_one_line_per_link(args, rendered):
    args["verify"]["ingress_url"] = "http://127.0.0.1"
    args["argocd_repo_url"] = "/srv/gitops.git"
    result = run(wiring_check, args, ModuleFail)
    lines = result["msg"].splitlines()
    assert lines[0] == "wiring check: 2 broken link(s):" and len(lines) == 3
    assert lines[1].startswith("(a) verify_ingress_url http://127.0.0.1 ") and lines[2].startswith("(d) argocd_repo_url")


def test_charts_that_do_not_render_are_reported_not_followed(args):
    with mock.patch.object(kustomize_validate, "kustomize_build", return_value=data.overlay()), \
            mock.patch.object(wiring, "render_release", side_effect=RuntimeError("helm template traefik failed: no network")):
        result = run(wiring_check, args)
    assert result["charts"] == {}
    assert any("no network" in line for line in result["not_followed"])


def test_bad_options_fail_naming_the_field(args, rendered, tmp_path):
    assert run(wiring_check, dict(args, skip={"z": "why"}), ModuleFail)["field"] == "skip"
    assert run(wiring_check, dict(args, overlay_path=str(tmp_path / "none")), ModuleFail)["field"] == "overlay_path"
    assert run(wiring_check, dict(args, kind_config="nodes: [\n"), ModuleFail)["field"] == "kind_config"
    bad_task = dict(args["verify"], port_forward_task=str(tmp_path / "missing.yml"))
    assert run(wiring_check, dict(args, verify=bad_task), ModuleFail)["field"] == "verify.port_forward_task"
