"""kindling.gitops.gitops_commit against real bare git remotes (on disk and over smart HTTP with a token)."""
import subprocess

import pytest

from gitops_support import GitHTTPServer, bare_remote, clone, git, remote_log, run_module

pytestmark = pytest.mark.fast


@pytest.fixture
def remote_and_clone(tmp_path):
    remote = bare_remote(tmp_path)
    work = clone(remote, tmp_path / "work")
    return remote, work


def write_overlay(work, text="replicas: 1\n"):
    overlay = work / "apps" / "app1" / "overlays" / "dev"
    overlay.mkdir(parents=True, exist_ok=True)
    (overlay / "kustomization.yaml").write_text(text)
    return overlay


def commit(work, **extra):
    args = {"repo_path": str(work), "paths": ["apps/app1"], "commit_message": "app1 dev: deploy localhost:5001/app1:1.0.0-abc"}
    args.update(extra)
    return run_module("gitops_commit", args, **{k: extra.pop(k) for k in ("check_mode", "diff") if k in extra})


def test_first_run_commits_and_pushes_second_run_changes_nothing(remote_and_clone):
    remote, work = remote_and_clone
    write_overlay(work)
    first = commit(work)
    assert first["changed"] and first["pushed"] and first["committed"], first
    log = remote_log(remote)
    assert log[0].split()[0] == first["commit"] and "app1 dev" in log[0]
    assert first["previous_commit"] == log[1].split()[0]

    second = commit(work)
    assert not second["changed"] and not second["pushed"] and not second["committed"], second
    assert remote_log(remote) == log, "a run with nothing to commit must not add a commit"


def test_check_mode_shows_the_patch_and_commits_nothing(remote_and_clone):
    remote, work = remote_and_clone
    write_overlay(work, "replicas: 7\n")
    before = remote_log(remote)
    result = run_module("gitops_commit", {"repo_path": str(work), "paths": ["apps/app1"], "commit_message": "m"},
                        check_mode=True, diff=True)
    assert result["changed"] and not result["pushed"], result
    assert "+replicas: 7" in result["diff"]["prepared"]
    assert remote_log(remote) == before
    assert git("status", "--porcelain", cwd=work) == "?? apps/", "check mode must leave the index alone"


def test_concurrent_push_is_rebased_onto(remote_and_clone, tmp_path):
    remote, work = remote_and_clone
    other = clone(remote, tmp_path / "other")
    (other / "apps" / "app1" / "overlays" / "qa").mkdir(parents=True)
    (other / "apps" / "app1" / "overlays" / "qa" / "kustomization.yaml").write_text("replicas: 2\n")
    git("add", "-A", cwd=other)
    git("commit", "-q", "-m", "app1 qa: deploy from another runner", cwd=other)
    git("push", "-q", "origin", "main", cwd=other)

    write_overlay(work)
    result = commit(work)
    assert result["pushed"] and result["attempts"] == 2, result
    subjects = [line.split(" ", 1)[1] for line in remote_log(remote)]
    assert subjects[:2] == ["app1 dev: deploy localhost:5001/app1:1.0.0-abc", "app1 qa: deploy from another runner"]
    assert git("rev-parse", "HEAD", cwd=work) == remote_log(remote)[0].split()[0]


def test_real_conflict_fails_clearly_and_restores_the_clone(remote_and_clone, tmp_path):
    remote, work = remote_and_clone
    write_overlay(work, "replicas: 1\n")
    assert commit(work)["pushed"]
    other = clone(remote, tmp_path / "other")
    write_overlay(other, "replicas: 5\n")
    git("commit", "-q", "-am", "someone else edits the same line", cwd=other)
    git("push", "-q", "origin", "main", cwd=other)
    write_overlay(work, "replicas: 3\n")
    head_before = git("rev-parse", "HEAD", cwd=work)
    status_before = git("status", "--porcelain", cwd=work)

    result = commit(work)
    assert result["failed"] and "conflict" in result["msg"], result
    # One true instruction: the rebase was aborted, so git's own hints (resolve, `git rebase --continue`) are wrong.
    assert "apps/app1/overlays/dev/kustomization.yaml" in result["msg"], result["msg"]
    assert "the rebase was aborted" in result["msg"], result["msg"]
    for hint in ("--continue", "--skip", "Resolve all conflicts", "hint:"):
        assert hint not in result["msg"], result["msg"]
    assert not (work / ".git" / "rebase-merge").exists() and not (work / ".git" / "rebase-apply").exists()
    assert git("rev-parse", "HEAD", cwd=work) == head_before
    assert git("status", "--porcelain", cwd=work) == status_before
    assert (work / "apps/app1/overlays/dev/kustomization.yaml").read_text() == "replicas: 3\n"
    assert "someone else" in remote_log(remote)[0]


def test_rejecting_remote_fails_clearly_and_restores_the_clone(remote_and_clone):
    remote, work = remote_and_clone
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch: pushes need a review' >&2\nexit 1\n")
    hook.chmod(0o755)
    write_overlay(work)
    head_before = git("rev-parse", "HEAD", cwd=work)
    before = remote_log(remote)

    result = commit(work)
    assert result["failed"] and "protected branch" in result["msg"], result
    assert git("rev-parse", "HEAD", cwd=work) == head_before, "the local commit must be undone"
    assert git("status", "--porcelain", cwd=work) == "?? apps/"
    assert remote_log(remote) == before


def test_revert_undoes_a_commit_and_is_idempotent(remote_and_clone):
    remote, work = remote_and_clone
    write_overlay(work, "replicas: 1\n")
    good = commit(work)["commit"]
    write_overlay(work, "replicas: 9\n")
    bad = commit(work)["commit"]

    reverted = commit(work, revert=bad, commit_message="app1 dev: roll back 1.0.1")
    assert reverted["pushed"] and reverted["previous_commit"] == bad, reverted
    assert git("--git-dir", str(remote), "show", "main:apps/app1/overlays/dev/kustomization.yaml") == "replicas: 1"
    assert git("--git-dir", str(remote), "rev-parse", "main^{tree}") == git("rev-parse", good + "^{tree}", cwd=work)
    assert f"This reverts commit {bad}." in git("--git-dir", str(remote), "log", "-1", "--format=%B", "main")

    again = commit(work, revert=bad, commit_message="app1 dev: roll back 1.0.1")
    assert not again["changed"], again


def test_revert_refuses_a_commit_outside_its_paths_and_a_revert(remote_and_clone):
    """A rollback reverts only its own environment's deploy: never another environment's commit, never a revert
    (that would redeploy what was rolled back)."""
    remote, work = remote_and_clone
    dev = "apps/app1/overlays/dev"
    write_overlay(work, "replicas: 1\n")
    commit(work)
    write_overlay(work, "replicas: 9\n")
    bad = commit(work)["commit"]
    (work / "apps" / "app1" / "overlays" / "qa").mkdir()
    (work / "apps" / "app1" / "overlays" / "qa" / "kustomization.yaml").write_text("replicas: 2\n")
    other = commit(work, commit_message="app1 qa: deploy")["commit"]
    before = remote_log(remote)

    refused = commit(work, revert=other, paths=[dev], commit_message="app1 dev: roll back")
    assert refused["failed"] and refused["field"] == "revert", refused
    assert refused["msg"] == (f"revert: {other} changes apps/app1/overlays/qa/kustomization.yaml, outside {dev}; "
                              "it is not this tree's commit, nothing was reverted")
    assert remote_log(remote) == before and git("rev-parse", "HEAD", cwd=work) == other

    rollback = commit(work, revert=bad, paths=[dev], commit_message="app1 dev: roll back")["commit"]
    refused = commit(work, revert=rollback, paths=[dev], commit_message="app1 dev: roll back")
    assert refused["failed"] and refused["field"] == "revert", refused
    assert refused["msg"] == (f"revert: {rollback} is itself a revert (of {bad}); reverting it would deploy again "
                              "what was rolled back, so nothing was reverted (deploy a release instead)")
    assert git("rev-parse", "HEAD", cwd=work) == rollback


def test_bad_input_fails_naming_the_field(remote_and_clone):
    _remote, work = remote_and_clone
    result = commit(work, revert="not-a-sha")
    assert result["failed"] and result["msg"].startswith("revert:"), result
    result = commit(work, branch="release")
    assert result["failed"] and result["msg"].startswith("branch:"), result
    result = commit(work, paths=["../elsewhere"])
    assert result["failed"] and result["msg"].startswith("paths[0]:"), result
    result = commit(work, frobnicate=True)
    assert result["failed"] and "frobnicate" in result["msg"], result


def test_remote_url_with_a_password_is_refused(remote_and_clone):
    _remote, work = remote_and_clone
    git("remote", "set-url", "origin", "https://bot:hunter2@git.invalid/gitops.git", cwd=work)
    write_overlay(work)
    result = commit(work)
    assert result["failed"] and result["msg"].startswith("remote:") and "hunter2" not in result["msg"], result


def test_token_reaches_the_remote_only_through_the_environment(tmp_path):
    """A smart-HTTP remote that demands the token: the push works, and no trace of the token stays on disk."""
    token = "tok-" + "5ecret" * 4
    bare_remote(tmp_path)
    with GitHTTPServer(tmp_path, "x-access-token", token) as server:
        work = tmp_path / "work-http"
        subprocess.run(["git", "-c", f"http.extraHeader=Authorization: Basic "
                        + __import__("base64").b64encode(f"x-access-token:{token}".encode()).decode(),
                        "clone", "-q", server.url("remote.git"), str(work)], check=True, capture_output=True)
        write_overlay(work)
        denied = commit(work)
        assert denied["failed"] and server.auth_failures > 0, denied
        assert token not in denied["msg"]

        result = commit(work, token=token, username="x-access-token")
        assert result["pushed"], result
        assert token not in str(result)
    assert "app1 dev" in remote_log(tmp_path / "remote.git")[0]
    assert token not in (work / ".git" / "config").read_text()
    assert token not in git("remote", "-v", cwd=work)
    assert token not in git("config", "--list", "--show-origin", cwd=work)
