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
    return {"overlay_path": str(tmp_path), "kind_config": KIND, "releases": RELEASES, "ingress_release": "traefik",
            "monitoring_release": "kube-prometheus-stack",
            "verify": {"ingress_url": "http://127.0.0.1:8080", "ingress_host": "app1.dev.localhost",
                       "service_name": "app1", "service_ports": {"app": 80, "metrics": "metrics"}},
            "registry": {"mirror_host": "localhost:5001", "name": "kind-registry", "network": "kind"},
            "argocd": data.argocd(),
            "argocd_repo_url": "git://kindling-git/gitops.git", "network_containers": ["kind-registry", "kindling-git"],
            "cluster_issuers": ISSUERS, "kube_version": "1.36.1"}


@pytest.fixture
def rendered():
    charts = data.charts()
    with mock.patch.object(kustomize_validate, "kustomize_build", return_value=data.overlay()), \
            mock.patch.object(wiring, "render_release", side_effect=lambda release, *a, **k: charts[release["name"]]):
        yield


def test_wired_passes_and_reports_chart_counts(args, rendered):
    result = run(wiring_check, args)
    assert result["changed"] is False and result["broken"] == [] and result["not_followed"] == []
    assert result["summary"].startswith("wiring: 9 of 9 links followed (ingress, port-forward,")
    assert result["charts"] == {"traefik": 2, "kube-prometheus-stack": len(data.charts()["kube-prometheus-stack"])}


def test_a_broken_link_fails_with_one_line_per_link(args, rendered):
    args["verify"]["ingress_url"] = "http://127.0.0.1"
    args["argocd"]["application"]["spec"]["destination"]["namespace"] = "app1-qa"
    result = run(wiring_check, args, ModuleFail)
    lines = result["msg"].splitlines()
    assert lines[0] == "wiring check: 2 broken link(s):" and len(lines) == 4
    assert lines[1].startswith("(ingress) verify_ingress_url http://127.0.0.1 ")
    assert lines[2].startswith("(argocd-app) Application argocd/app1-dev destination namespace app1-qa")
    assert lines[3].startswith("wiring: 7 of 9 links followed") and "broken: ingress, argocd-app" in lines[3]


def test_charts_that_do_not_render_are_reported_not_followed(args):
    with mock.patch.object(kustomize_validate, "kustomize_build", return_value=data.overlay()), \
            mock.patch.object(wiring, "render_release", side_effect=RuntimeError("helm template traefik failed: no network")):
        result = run(wiring_check, args)
    assert result["charts"] == {}
    assert any("no network" in line for line in result["not_followed"])


def test_bad_options_fail_naming_the_field(args, rendered, tmp_path):
    assert run(wiring_check, dict(args, skip={"a": "why"}), ModuleFail)["field"] == "skip"
    assert run(wiring_check, dict(args, overlay_path=str(tmp_path / "none")), ModuleFail)["field"] == "overlay_path"
    assert run(wiring_check, dict(args, kind_config="nodes: [\n"), ModuleFail)["field"] == "kind_config"


def test_rendering_the_charts_needs_the_kubernetes_version(args, rendered):
    del args["kube_version"]
    result = run(wiring_check, args, ModuleFail)
    assert result["field"] == "kube_version" and result["msg"].startswith("kube_version: ")
