"""kindling.gitops.argocd_app_wait at its contract: the real module, the real kubernetes client and
kubernetes.core's client code against the Kubernetes API double (tests/doubles/k8s_api.py) over HTTP,
replaying Argo CD v3.4 Application statuses (tests/fixtures/k8s). No Argo CD can run here."""
import json
from pathlib import Path

import pytest
import yaml

from doubles.ansible_run import playbook_env, run_playbook
from doubles.k8s_api import KubeAPIDouble

pytestmark = pytest.mark.contract

FIXTURES = Path(__file__).parent / "fixtures" / "k8s"
NEW = "9f2c1e0d5b7a4c3e2f1a0b9c8d7e6f5a4b3c2d1e"
OLD = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"


def status(situation):
    text = yaml.safe_dump(yaml.safe_load((FIXTURES / "application-statuses.yaml").read_text())[situation])
    return yaml.safe_load(text.replace("{new}", NEW).replace("{old}", OLD))


@pytest.fixture
def api(tmp_path):
    double = KubeAPIDouble().start()
    double.put(yaml.safe_load((FIXTURES / "application-app1-dev.yaml").read_text()))
    yield double
    double.stop()


def wait(api, tmp_path, *flags, **options):
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
    args = {"name": "app1-dev", "revision": NEW, "timeout": 6, "interval": 1, "kubeconfig": str(kubeconfig),
            "context": "kind-kindling", **options}
    playbook = tmp_path / "wait.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "wait", "kindling.gitops.argocd_app_wait": args}]}]))
    run = run_playbook(playbook, playbook_env(tmp_path), "-i", "localhost,", "-c", "local", *flags)
    return run, run.result("wait")


def test_contract_progressing_then_healthy_at_the_pushed_revision_is_done(api, tmp_path):
    api.progress("applications", "app1-dev", "argocd",
                 [status("stale_synced_healthy"), status("out_of_sync"), status("progressing"), status("healthy")])
    run, result = wait(api, tmp_path)
    assert run.rc == 0, result.get("msg")
    assert result["done"] and result["sync"] == "Synced" and result["health"] == "Healthy"
    assert result["revision"] == NEW and result["operation_phase"] == "Succeeded"
    assert result["attempts"] == 4 and result["changed"] is False


def test_contract_refresh_annotation_is_set_before_waiting(api, tmp_path):
    api.progress("applications", "app1-dev", "argocd", [status("healthy")])
    wait(api, tmp_path, refresh="hard")
    patches = api.calls("PATCH")
    assert len(patches) == 1 and patches[0]["content_type"] == "application/merge-patch+json"
    assert patches[0]["body"] == {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "hard"}}}
    assert patches[0]["path"] == "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/app1-dev"


def test_contract_stale_revision_synced_and_healthy_never_counts(api, tmp_path):
    api.progress("applications", "app1-dev", "argocd", [status("stale_synced_healthy")])
    run, result = wait(api, tmp_path, timeout=3)
    assert run.rc != 0 and result["failed"]
    assert result["msg"].startswith("timed out after 3s")
    assert result["revision"] == OLD and not result["revision_matches"] and not result["done"]
    assert result["sync"] == "Synced" and result["health"] == "Healthy"


def test_contract_degraded_fails_early_with_resource_messages(api, tmp_path):
    api.progress("applications", "app1-dev", "argocd", [status("progressing"), status("degraded")])
    run, result = wait(api, tmp_path, timeout=60)
    assert result["failed"] and result["attempts"] == 2
    assert result["unhealthy"] == [{"kind": "Deployment", "namespace": "app1-dev", "name": "app1", "sync": "Synced",
                                    "health": "Degraded",
                                    "message": 'Deployment "app1" exceeded its progress deadline'}]
    assert 'exceeded its progress deadline' in result["msg"] and "Degraded" in result["msg"]


def test_contract_failed_sync_operation_fails_with_its_message(api, tmp_path):
    api.progress("applications", "app1-dev", "argocd", [status("sync_failed")])
    run, result = wait(api, tmp_path, timeout=60)
    assert result["failed"] and result["operation_phase"] == "Failed" and result["attempts"] == 1
    assert "spec.template.spec.containers[0].image: Required value" in result["msg"]
    assert result["conditions"][0]["type"] == "SyncError"


def test_contract_stale_failure_after_a_refresh_is_not_blamed_on_the_new_commit(api, tmp_path):
    """The sequence after a refresh: sync.revision moves to the new commit first while operationState still shows
    the older commit's failed sync; then the new operation runs; then it succeeds and the app is Healthy."""
    api.progress("applications", "app1-dev", "argocd",
                 [status("refreshed_after_failed_sync"), status("operation_running"), status("progressing"),
                  status("healthy")])
    run, result = wait(api, tmp_path, timeout=30)
    assert run.rc == 0, result.get("msg")
    assert result["done"] and result["attempts"] == 4
    assert result["operation_revision"] == NEW and result["operation_phase"] == "Succeeded"


def test_contract_failed_sync_of_the_new_commit_after_a_refresh_still_fails_at_once(api, tmp_path):
    api.progress("applications", "app1-dev", "argocd",
                 [status("refreshed_after_failed_sync"), status("operation_running"), status("sync_failed")])
    run, result = wait(api, tmp_path, timeout=30)
    assert run.rc != 0 and result["attempts"] == 3 and result["operation_revision"] == NEW
    assert result["msg"].startswith(f"Application did not deploy {NEW}: sync operation Failed")


def test_contract_timeout_is_bounded_and_reports_last_state(api, tmp_path):
    api.progress("applications", "app1-dev", "argocd", [status("progressing")])
    run, result = wait(api, tmp_path, timeout=2, interval=1)
    assert result["failed"] and "timed out after 2s" in result["msg"]
    assert result["health"] == "Progressing" and result["elapsed"] < 10
    assert result["unhealthy"][0]["message"].startswith("Waiting for rollout to finish")


def test_contract_check_mode_looks_once_and_changes_nothing(api, tmp_path):
    api.progress("applications", "app1-dev", "argocd", [status("stale_synced_healthy")])
    run, result = wait(api, tmp_path, "--check")
    assert run.rc == 0 and result["done"] is False and result["attempts"] == 1
    assert api.calls("PATCH") == []


def test_contract_missing_application_is_one_clear_line(api, tmp_path):
    run, result = wait(api, tmp_path, name="app1-qa")
    assert result["failed"] and result["msg"].startswith("Application argocd/app1-qa not found")


@pytest.mark.parametrize("options, field", [({"revision": "main"}, "revision:"), ({"timeout": 0}, "timeout:"),
                                            ({"interval": 10, "timeout": 5}, "interval:"),
                                            ({"name": "App1"}, "name:"), ({"namespace": "Argo_CD"}, "namespace:")])
def test_contract_bad_options_fail_before_any_api_call(api, tmp_path, options, field):
    run, result = wait(api, tmp_path, **options)
    assert result["failed"] and result["msg"].startswith(field)
    assert api.requests == []


def test_contract_kubernetes_core_auth_options_reach_the_api(api, tmp_path):
    """kubernetes.core's own option set (here host + username/password + impersonation, which a hand-made
    copy of its client did not have): the module reads the Application with no kubeconfig at all."""
    api.progress("applications", "app1-dev", "argocd", [status("healthy")])
    run, result = wait(api, tmp_path, kubeconfig=None, context=None, host=api.url, username="admin",
                       password="double-password", impersonate_user="system:serviceaccount:argocd:kindling")
    assert run.rc == 0, result.get("msg")
    assert result["done"] and api.calls("GET")
    assert "double-password" not in json.dumps(run.data)


def test_contract_cluster_set_once_through_the_action_group(api, tmp_path):
    """meta/runtime.yml's group/kindling.gitops.k8s: module_defaults give kubeconfig and context to the module."""
    api.progress("applications", "app1-dev", "argocd", [status("healthy")])
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
    playbook = tmp_path / "grouped.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "module_defaults": {
        "group/kindling.gitops.k8s": {"kubeconfig": str(kubeconfig), "context": "kind-kindling"}}, "tasks": [
        {"name": "wait", "kindling.gitops.argocd_app_wait": {"name": "app1-dev", "revision": NEW, "timeout": 6,
                                                             "interval": 1}}]}]))
    run = run_playbook(playbook, playbook_env(tmp_path), "-i", "localhost,", "-c", "local")
    result = run.result("wait")
    assert run.rc == 0, result.get("msg")
    assert result["done"] and api.calls("GET")
