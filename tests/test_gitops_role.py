"""The gitops role against a token-protected smart-HTTP GitOps remote: clone, render, push, and no token on disk."""
import subprocess

from gitops_support import GitHTTPServer, bare_remote, clone, git, remote_log, run_role


def test_role_pushes_with_a_token_that_never_reaches_disk_or_output(tmp_path):
    token = "ghp_" + "Zq9" * 12
    bare_remote(tmp_path)
    with GitHTTPServer(tmp_path, "x-access-token", token) as server:
        facts, out = run_role(tmp_path, "dev", environ={"GITOPS_TOKEN": token},
                              gitops_repo_url=server.url("remote.git"), gitops_username="x-access-token")
        assert server.auth_failures > 0, "the remote must have demanded credentials"
    assert facts["pushed"] and "app1 dev: deploy" in remote_log(tmp_path / "remote.git")[0]
    assert token not in out
    clone = facts["repo_path"]
    config = subprocess.run(["git", "config", "--list", "--show-origin"], cwd=clone, capture_output=True,
                            text=True, check=True).stdout
    remotes = subprocess.run(["git", "remote", "-v"], cwd=clone, capture_output=True, text=True, check=True).stdout
    assert token not in config and token not in remotes and "x-access-token" not in remotes
    leftovers = subprocess.run(["grep", "-rl", token, str(tmp_path / ".work")], capture_output=True, text=True).stdout
    assert leftovers == "", f"the token was written to: {leftovers}"


def resolved(remote, env, tmp_path) -> str:
    """What env's Argo CD Application syncs: kustomize's build of its directory on main, as Argo CD makes it."""
    tree = tmp_path / f"resolve-{env}"
    clone(remote, tree)
    return subprocess.run(["kubectl", "kustomize", str(tree / "apps" / "app1" / "overlays" / env)],
                          capture_output=True, text=True, check=True).stdout


def test_a_run_for_one_env_never_changes_what_another_env_syncs(tmp_path):
    remote = bare_remote(tmp_path)
    run_role(tmp_path, "qa", gitops_repo_url=str(remote))
    qa_before = resolved(remote, "qa", tmp_path / "before")
    # A value the base is made from (the container's UID), changed by a dev run only.
    facts, _ = run_role(tmp_path, "dev", gitops_repo_url=str(remote), gitops_run_as_user=20002)
    assert facts["pushed"]
    assert resolved(remote, "qa", tmp_path / "after") == qa_before
    assert "runAsUser: 20002" in resolved(remote, "dev", tmp_path / "after")
    changed = git("--git-dir", str(remote), "show", "--name-only", "--format=", "main").split()
    assert changed and all(path.startswith("apps/app1/overlays/dev/") for path in changed), changed
