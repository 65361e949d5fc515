"""Preflight of the GitOps repository URL as the cluster will see it (playbooks/tasks/preflight_gitops_repo.yml),
with each inventory's own variables: on kind the default is served by the git server container; a path on the
build host is refused for a cluster that is not kind; problems are named one per line, before any change."""
import json

import pytest

from doubles.ansible_run import ROOT, playbook_env, run_playbook

ENVS = ["dev", "qa", "prod"]


def preflight(tmp_path, env="dev", flags=(), **extra_vars):
    """The tasks file alone, with the inventory's variables, the shared values and a play that configures Argo CD."""
    playbook = tmp_path / "preflight.yml"
    playbook.write_text(json.dumps([{
        "hosts": "build", "gather_facts": False, "vars": {"check_stage_roles": [{"role": "argocd", "entry": "main"}]},
        # The shared values, as every play of playbooks/ has them.
        "roles": [str(ROOT / "roles" / "kindling_defaults")],
        # tags: always, as in the pipeline's preflight (site.yml's first play, each stage's pre_tasks).
        "tasks": [{"ansible.builtin.import_tasks": str(ROOT / "playbooks" / "tasks" / "preflight_gitops_repo.yml"),
                   "tags": ["always"]},
                  {"name": "urls", "tags": ["always"], "ansible.builtin.debug": {"msg": {
                      "argocd_repo_url": "{{ argocd_repo_url }}", "git_server_enabled": "{{ git_server_enabled | bool }}",
                      "git_server_url": "{{ git_server_url }}", "gitops_repo_url": "{{ gitops_repo_url }}"}}}]}]))
    return run_playbook(playbook, playbook_env(tmp_path, fakes=False), "-i", str(ROOT / "inventories" / env),
                        "-e", json.dumps({"kindling_work_dir": str(tmp_path / "work"), **extra_vars}), *flags)


def problems(run):
    result = run.result("Check the GitOps repository URL the cluster will read")
    return [item["msg"] for item in result.get("results", []) if item.get("failed")]


@pytest.mark.parametrize("env", ENVS)
def test_on_kind_argo_cd_reads_the_local_repository_through_the_git_server(tmp_path, env):
    run = preflight(tmp_path, env)
    assert run.rc == 0, problems(run)
    urls = run.result("urls")["msg"]
    assert urls["gitops_repo_url"] == str(tmp_path / "gitops.git")
    assert urls["git_server_enabled"] is True
    assert urls["argocd_repo_url"] == urls["git_server_url"] == "git://kindling-git/gitops.git"


def test_existing_cluster_with_a_remote_needs_no_git_server(tmp_path):
    remote = "https://git.example.test/platform/gitops.git"
    run = preflight(tmp_path, cluster_provider="existing", gitops_repo_url=remote)
    assert run.rc == 0, problems(run)
    urls = run.result("urls")["msg"]
    assert urls["git_server_enabled"] is False and urls["argocd_repo_url"] == remote


@pytest.mark.parametrize("variables, words", [
    ({"cluster_provider": "existing"}, ["argocd_repo_url", "gitops_repo_url", "existing"]),
    ({"cluster_provider": "existing", "gitops_repo_url": "file:///srv/gitops.git"}, ["argocd_repo_url", "gitops_repo_url"]),
    ({"argocd_repo_url": "/srv/elsewhere.git"}, ["argocd_repo_url", "git_server_url", "git://kindling-git/gitops.git"]),
    ({"argocd_repo_url": "https://git.example.test/other.git"}, ["argocd_repo_url", "gitops_repo_url", "git_server_url"]),
    ({"git_server_enabled": False}, ["argocd_repo_url", "kind"]),
    ({"cluster_provider": "existing", "gitops_repo_url": "ftp://git.example.test/gitops.git"}, ["argocd_repo_url", "https://"]),
])
def test_a_url_the_cluster_cannot_read_fails_in_one_line_naming_the_variables(tmp_path, variables, words):
    run = preflight(tmp_path, **variables)
    assert run.rc != 0
    found = problems(run)
    assert len(found) == 1, found
    for word in words:
        assert word in found[0], found[0]
    assert "\n" not in found[0]


@pytest.mark.parametrize("flags", [("--skip-tags", "bootstrap,argocd"), ("--tags", "build")])
def test_a_run_that_puts_nothing_on_a_cluster_does_not_check_the_url(tmp_path, flags):
    """The cluster-less run (--no-cluster is --skip-tags bootstrap,argocd) and --tags build never reach Argo CD."""
    run = preflight(tmp_path, flags=flags, cluster_provider="existing")
    assert run.rc == 0, problems(run)
    assert problems(run) == []


def test_each_problem_is_its_own_line_and_a_password_is_never_shown(tmp_path):
    run = preflight(tmp_path, argocd_repo_url="https://user:s3cret-pw@git.example.test/other.git")
    found = problems(run)
    assert len(found) == 2, found
    assert any("credentials" in line for line in found) and any("git_server_url" in line for line in found)
    assert "s3cret-pw" not in json.dumps(run.data)


def test_bootstrap_stops_before_any_change(tmp_path):
    work_dir = tmp_path / "work"
    run = run_playbook(ROOT / "playbooks" / "bootstrap.yml", playbook_env(tmp_path),
                       "-i", str(ROOT / "inventories" / "dev"),
                       "-e", json.dumps({"kindling_work_dir": str(work_dir), "cluster_provider": "existing"}))
    assert run.rc != 0
    name, _ = run.failure()
    assert name.endswith("Check the GitOps repository URL the cluster will read")
    assert run.stats["changed"] == 0 and not work_dir.exists()


@pytest.mark.parametrize("playbook", ["site.yml", "bootstrap.yml"])
def test_a_bad_git_server_variable_stops_the_run_before_any_change(tmp_path, playbook):
    work_dir = tmp_path / "work"
    run = run_playbook(ROOT / "playbooks" / playbook, playbook_env(tmp_path), "-i", str(ROOT / "inventories" / "dev"),
                       "-e", json.dumps({"kindling_work_dir": str(work_dir), "git_server_state": "gone"}))
    assert run.rc != 0
    name, result = run.failure()
    assert name.endswith("Check the variables set for a stage role")
    failed = [(item["item"]["role"], item["msg"]) for item in result["results"] if item.get("failed")]
    assert len(failed) == 1 and failed[0][0] == "git_server" and "git_server_state" in failed[0][1], failed
    assert run.stats["changed"] == 0 and not work_dir.exists()
