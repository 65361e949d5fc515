"""The preflight role (roles/preflight, the kindling.gitops.preflight action) in the real playbooks, with each
inventory's own variables: every setting a selected stage reads is checked before the first change, the GitOps
repository URL only when the run reaches Argo CD (Ansible's own tag selection decides), and an extra variable
nothing declares is named with the closest declared one. What each check decides is unit-tested in the
collection (tests/unit/plugins/module_utils/test_preflight.py); here: that the playbooks run it first, with
the inventories' values, and that nothing is written when it fails."""
import json
import shutil
import subprocess

import pytest

from doubles.ansible_run import ROOT, playbook_env, run_playbook

CLUSTER_LESS = ("--skip-tags", "bootstrap,argocd", "-e", "@playbooks/vars/without_cluster.yml")


def run(tmp_path, playbook="site.yml", flags=(), env="dev", **extra_vars):
    work_dir = tmp_path / "work"
    result = run_playbook(ROOT / "playbooks" / playbook, playbook_env(tmp_path), "-i", str(ROOT / "inventories" / env),
                          "-e", json.dumps({"kindling_work_dir": str(work_dir), **extra_vars}), *flags)
    return result, work_dir


def preflight_lines(result):
    name, failed = result.failure()
    assert name.endswith("Check every variable, binary and URL the selected stages use, before the first change"), name
    return failed["msg"].splitlines()


def preflight_play(tmp_path, role, entry):
    """A playbook of the preflight role alone, checking one stage, tagged always as site.yml's first play is."""
    playbook = tmp_path / "preflight.yml"
    playbook.write_text(json.dumps([{
        "hosts": "build", "gather_facts": False, "tags": ["always"],
        "vars": {"check_stage_roles": [{"role": role, "entry": entry}]}, "vars_files": [str(ROOT / "versions.yml")],
        "roles": [str(ROOT / "roles" / "kindling_defaults"), str(ROOT / "roles" / "preflight")]}]))
    return playbook


def test_every_bad_setting_of_the_selected_stages_is_named_before_any_change(tmp_path):
    result, work_dir = run(tmp_path, flags=CLUSTER_LESS, app_replicas=100000000000, verify_latency_budget_ms=-5,
                           verify_attempts=-1, gitops_app_dir="../../outside", gitops_branch="../evil",
                           gitops_resources={"limits": {"cpu": "100x"}},
                           gitops_servicemonitor_labels={"app/": "x"}, gitops_replicas=3)
    assert result.rc != 0
    fields = [line.split(":")[0] for line in preflight_lines(result)]
    # gitops_overlay_path derives from gitops_app_dir, so it is outside too (and named: the overlay is written there).
    assert fields == ["app_replicas", "gitops_app_dir", "gitops_branch", "gitops_overlay_path", "gitops_resources.limits.cpu",
                      "gitops_servicemonitor_labels", "verify_attempts", "verify_latency_budget_ms"]
    warnings = " ".join(json.dumps(result.data).split())
    assert "gitops_replicas is set but no role or playbook of this project reads it; did you mean app_replicas?" in warnings
    assert result.stats["changed"] == 0 and not work_dir.exists()
    assert not (tmp_path / "outside").exists()


def test_a_bad_choice_of_a_shared_value_stops_bootstrap_before_kind_creates_anything(tmp_path):
    result, work_dir = run(tmp_path, "bootstrap.yml", ingress_provider="nginx", git_server_state="gone")
    assert result.rc != 0
    lines = preflight_lines(result)
    # The roles that pass ingress_provider on (their defaults refer to the one home) are named too.
    assert [line.split(":")[0] for line in lines] == [
        "argocd_ingress_provider", "git_server_state", "ingress_provider", "platform_ingress_provider"], lines
    assert result.stats["changed"] == 0 and not work_dir.exists()


def test_bootstrap_onto_an_existing_cluster_refuses_a_repository_on_this_machine_before_any_change(tmp_path):
    result, work_dir = run(tmp_path, "bootstrap.yml", cluster_provider="existing")
    assert result.rc != 0
    line, = preflight_lines(result)
    assert line.startswith("argocd_repo_url is ") and "existing" in line, line
    assert result.stats["changed"] == 0 and not work_dir.exists()


@pytest.mark.parametrize("flags", [("--skip-tags", "bootstrap,argocd"), ("--tags", "build")])
def test_a_run_that_puts_nothing_on_a_cluster_does_not_check_the_url(tmp_path, flags):
    """The cluster-less run (--no-cluster is --skip-tags bootstrap,argocd) and --tags build never reach Argo CD:
    the role in a play that configures Argo CD, tagged always as site.yml's first play is."""
    playbook = preflight_play(tmp_path, "argocd", "main")
    arguments = ("-i", str(ROOT / "inventories" / "dev"), "-e", json.dumps({"kindling_work_dir": str(tmp_path / "work"),
                                                                            "cluster_provider": "existing"}))
    refused = run_playbook(playbook, playbook_env(tmp_path), *arguments)
    assert refused.rc != 0 and preflight_lines(refused)[0].startswith("argocd_repo_url is ")
    result = run_playbook(playbook, playbook_env(tmp_path), *arguments, *flags)
    checked = result.result("Check every variable, binary and URL the selected stages use, before the first change")
    assert not checked.get("failed"), checked


def test_a_yaml_error_in_group_vars_names_the_file_and_line_before_any_change(tmp_path):
    """ansible-core alone says "YAML parsing failed"; the project's ansible.cfg enables kindling.gitops.yaml_syntax."""
    inventory = tmp_path / "inventories" / "dev"
    shutil.copytree(ROOT / "inventories" / "dev", inventory)
    broken = inventory / "group_vars" / "all" / "main.yml"
    broken.write_text(broken.read_text() + "app_replicas: [1, 2\n")
    lines = broken.read_text().count("\n")
    result = subprocess.run(["ansible-playbook", str(ROOT / "playbooks" / "site.yml"), "-i", str(inventory),
                             "-e", json.dumps({"kindling_work_dir": str(tmp_path / "work")})],
                            env={**playbook_env(tmp_path), "ANSIBLE_STDOUT_CALLBACK": "default"}, cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert f"{broken}:{lines + 1}:1: YAML syntax error: while parsing a flow sequence" in result.stderr, result.stderr
    assert not (tmp_path / "work").exists()


def test_a_direct_deploy_into_an_environment_that_takes_promotions_is_refused_unless_named(tmp_path):
    """qa and prod take releases from the env before them (promote_from): site.yml there would ship whatever the
    working tree holds, past promote's gate. promote.yml itself passes (tests/test_playbooks_promote.py)."""
    refused, work_dir = run(tmp_path, env="qa", flags=CLUSTER_LESS)
    assert refused.rc != 0
    assert preflight_lines(refused) == [
        "qa takes its releases from dev by promotion (promote_from: dev): run `ansible-playbook -i inventories/qa "
        "playbooks/promote.yml`; to deploy this working tree to qa anyway, ask for it by name with -e direct_deploy=qa"]
    assert refused.stats["changed"] == 0 and not work_dir.exists()

    playbook = preflight_play(tmp_path, "gitops", "publish")
    asked = run_playbook(playbook, playbook_env(tmp_path), "-i", str(ROOT / "inventories" / "qa"), "-e",
                         json.dumps({"kindling_work_dir": str(tmp_path / "work"), "direct_deploy": "qa"}))
    checked = asked.result("Check every variable, binary and URL the selected stages use, before the first change")
    assert not checked.get("failed"), checked
