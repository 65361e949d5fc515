"""The kind_cluster role at its contract (fake kind/docker from tests/doubles/bin), for what molecule/kind_cluster
does not show (it creates a cluster, re-runs with no change, and checks the config kind got): a changed port is
refused, cluster_provider: existing runs nothing about kind, bad choices are named.

Every case runs in one ansible-playbook (support.batch), each a host of its own with its own fake kind state and
call log; each test asserts on its own case."""
import json

import pytest

from doubles.ansible_run import ROOT
from support.batch import Case, role_task, run_batch

pytestmark = [pytest.mark.contract, pytest.mark.xdist_group("test_cluster_kind_role_contract")]


def role(name="kind_cluster", **variables):
    return role_task("kind_cluster", name, **variables)


BAD_CHOICES = [({"kind_cluster_state": "paused"}, "kind_cluster_state"),
               ({"cluster_provider": "minikube"}, "kind_cluster_provider")]
KUBECONFIG = {"name": "a kubeconfig of an existing cluster", "ansible.builtin.copy": {
    "dest": "{{ kubeconfig_path }}", "content": "apiVersion: v1\nkind: Config\n", "mode": "0600"}}
WORK_DIR = {"name": "the work dir", "ansible.builtin.file": {"path": "{{ kubeconfig_path | dirname }}",
                                                            "state": "directory", "mode": "0700"}}

# name: (tasks, host variables)
CASES = {
    "changed_port": ([role("create"), role(kind_cluster_http_port=8081)], {}),
    "existing": ([WORK_DIR, KUBECONFIG, role()], {"cluster_provider": "existing"}),
    "existing_without_kubeconfig": ([role()], {"cluster_provider": "existing"}),
    **{f"bad_choice_{index}": ([role()], bad) for index, (bad, _field) in enumerate(BAD_CHOICES)},
}


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    """{case: (support.batch.CaseResult, its directory)}, every case run in one ansible-playbook."""
    tmp_path = tmp_path_factory.mktemp("kind-role")
    batch = []
    for name, (tasks, variables) in CASES.items():
        directory = tmp_path / name
        directory.mkdir()
        batch.append(Case(name, tasks, env={"FAKE_KIND_STATE": directory / "fake-kind.json",
                                            "FAKE_CLI_LOG": directory / "fake-cli.jsonl"},
                          vars={"kubeconfig_path": str(directory / "work" / "kubeconfig"), "kube_context": "kind-kindling",
                                "kind_cluster_name": "kctest", **variables}))
    results = run_batch(tmp_path, batch, vars_files=[ROOT / "versions.yml"])
    return {name: (results[name], tmp_path / name) for name in CASES}


def calls(directory, tool):
    log = directory / "fake-cli.jsonl"
    found = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return [c for c in found if c["tool"] == tool]


def test_contract_changed_port_fails_without_allow_recreate(cases):
    run, _directory = cases["changed_port"]
    name, result = run.failure()
    assert "nodes[0].extraPortMappings" in result["msg"]


def test_contract_existing_provider_runs_nothing_about_kind(cases):
    run, directory = cases["existing"]
    assert run.failure() is None, run.failure()
    assert calls(directory, "kind") == [] and calls(directory, "docker") == []


def test_contract_existing_provider_without_kubeconfig_fails_naming_it(cases):
    run, _directory = cases["existing_without_kubeconfig"]
    name, result = run.failure()
    assert "kubeconfig_path" in result["msg"]


@pytest.mark.parametrize("index, field", [(index, field) for index, (_bad, field) in enumerate(BAD_CHOICES)])
def test_contract_bad_choice_fails_naming_it_before_kind_runs(cases, index, field):
    """The argument spec's choices, checked when the role starts (the role's assert does not repeat them)."""
    run, directory = cases[f"bad_choice_{index}"]
    name, result = run.failure()
    assert field in result["msg"] and calls(directory, "kind") == []
