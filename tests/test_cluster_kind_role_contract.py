"""The kind_cluster role at its contract (fake kind/docker from tests/doubles/bin), for what molecule/kind_cluster
does not show (it creates a cluster, re-runs with no change, and checks the config kind got): a changed port is
refused, cluster_provider: existing runs nothing about kind, bad choices are named."""
import json

import pytest

from doubles.ansible_run import ROOT, fake_calls, playbook_env, run_playbook

pytestmark = pytest.mark.contract


def kind_role(tmp_path, *flags, **variables):
    playbook = tmp_path / "cluster.yml"
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "gather_facts": False, "vars_files": [str(ROOT / "versions.yml")],
        "vars": {"kubeconfig_path": str(tmp_path / "work" / "kubeconfig"), "kube_context": "kind-kindling",
                 "kind_cluster_name": "kctest", **variables},
        "roles": [{"role": str(ROOT / "roles" / "kind_cluster")}]}]))
    return run_playbook(playbook, playbook_env(tmp_path), "-i", "localhost,", "-c", "local", *flags)


def test_contract_changed_port_fails_without_allow_recreate(tmp_path):
    kind_role(tmp_path)
    name, result = kind_role(tmp_path, kind_cluster_http_port=8081).failure()
    assert "nodes[0].extraPortMappings" in result["msg"]


def test_contract_existing_provider_runs_nothing_about_kind(tmp_path):
    kubeconfig = tmp_path / "work" / "kubeconfig"
    kubeconfig.parent.mkdir()
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    run = kind_role(tmp_path, cluster_provider="existing")
    assert run.rc == 0 and fake_calls(tmp_path, "kind") == [] and fake_calls(tmp_path, "docker") == []


def test_contract_existing_provider_without_kubeconfig_fails_naming_it(tmp_path):
    name, result = kind_role(tmp_path, cluster_provider="existing").failure()
    assert "kubeconfig_path" in result["msg"]


@pytest.mark.parametrize("bad, field", [({"kind_cluster_state": "paused"}, "kind_cluster_state"),
                                        ({"cluster_provider": "minikube"}, "kind_cluster_provider")])
def test_contract_bad_choice_fails_naming_it_before_kind_runs(tmp_path, bad, field):
    """The argument spec's choices, checked when the role starts (the role's assert does not repeat them)."""
    name, result = kind_role(tmp_path, **bad).failure()
    assert field in result["msg"] and fake_calls(tmp_path, "kind") == []
