"""The argocd role's default repoURL: on kind with a local GitOps repository it is the git server's
git_server_url (the role's default, without the inventories' argocd.yml), elsewhere gitops_repo_url; applied
through kubernetes.core.k8s to the Kubernetes API double (no Argo CD can run here)."""
import json

import pytest

from doubles.ansible_run import ROOT, playbook_env, run_playbook
from doubles.k8s_api import KubeAPIDouble

pytestmark = pytest.mark.contract


@pytest.fixture
def api():
    double = KubeAPIDouble().start()
    yield double
    double.stop()


def applied_repo_urls(api, tmp_path, **variables):
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
    playbook = tmp_path / "argocd.yml"
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "gather_facts": False, "vars_files": [str(ROOT / "versions.yml")],
        "vars": {"kubeconfig_path": str(kubeconfig), "kube_context": "kind-kindling", "kindling_env": "dev",
                 "app_name": "app1", "app_namespace": "app1-dev", "gitops_branch": "main", "argocd_server_host": "",
                 **variables},
        "roles": [{"role": str(ROOT / "roles" / "argocd")}]}]))
    environ = playbook_env(tmp_path)
    environ.pop("GITOPS_TOKEN", None)
    run = run_playbook(playbook, environ, "-i", "localhost,", "-c", "local")
    assert run.rc == 0, run.failure()
    app = api.get("applications", "app1-dev", "argocd")
    project = api.get("appprojects", "kindling", "argocd")
    return app["spec"]["source"]["repoURL"], project["spec"]["sourceRepos"]


def test_on_kind_the_application_reads_the_git_server(api, tmp_path):
    repo_url, sources = applied_repo_urls(api, tmp_path, gitops_repo_url=str(tmp_path / "gitops.git"),
                                          git_server_enabled=True, git_server_url="git://kindling-git/gitops.git")
    assert repo_url == "git://kindling-git/gitops.git" and sources == [repo_url]


def test_without_the_git_server_the_application_reads_gitops_repo_url(api, tmp_path):
    remote = "https://git.example.test/platform/gitops.git"
    repo_url, sources = applied_repo_urls(api, tmp_path, gitops_repo_url=remote, git_server_enabled=False,
                                          git_server_url="git://kindling-git/gitops.git")
    assert repo_url == remote and sources == [remote]
