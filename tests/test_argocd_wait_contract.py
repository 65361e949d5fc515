"""kindling.gitops.argocd_app_wait at its contract: the real module, the real kubernetes client and
kubernetes.core's client code against the Kubernetes API double (tests/doubles/k8s_api.py) over HTTP,
replaying Argo CD v3.4 Application statuses (tests/fixtures/k8s). No Argo CD can run here.

Every case runs in one ansible-playbook (support.batch): each case is a host of its own with an API double of
its own, so the cases wait side by side; each test asserts on its own case."""
from pathlib import Path

import pytest
import yaml

from doubles.k8s_api import KubeAPIDouble
from support.batch import Case, run_batch

pytestmark = [pytest.mark.contract, pytest.mark.xdist_group("test_argocd_wait_contract")]

FIXTURES = Path(__file__).parent / "fixtures" / "k8s"
NEW = "9f2c1e0d5b7a4c3e2f1a0b9c8d7e6f5a4b3c2d1e"
OLD = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"


def status(situation):
    text = yaml.safe_dump(yaml.safe_load((FIXTURES / "application-statuses.yaml").read_text())[situation])
    return yaml.safe_load(text.replace("{new}", NEW).replace("{old}", OLD))


def wait_task(**options):
    args = {"name": "app1-dev", "revision": NEW, "timeout": 6, "interval": 1, "kubeconfig": "{{ kubeconfig }}",
            "context": "kind-kindling", **options}
    return {"name": "wait", "kindling.gitops.argocd_app_wait": {k: v for k, v in args.items() if v is not None}}


BAD_OPTIONS = [({"revision": "main"}, "revision:"), ({"timeout": 0}, "timeout:"),
               ({"interval": 10, "timeout": 5}, "interval:"), ({"name": "App1"}, "name:"),
               ({"namespace": "Argo_CD"}, "namespace:")]

# name: (the statuses successive GETs return, the case's tasks)
CASES = {
    "progressing_then_healthy": (["stale_synced_healthy", "out_of_sync", "progressing", "healthy"], [wait_task()]),
    "refresh": (["healthy"], [wait_task(refresh="hard")]),
    "stale_revision": (["stale_synced_healthy"], [wait_task(timeout=3)]),
    "degraded": (["progressing", "degraded"], [wait_task(timeout=60)]),
    "sync_failed": (["sync_failed"], [wait_task(timeout=60)]),
    "stale_failure_after_refresh": (["refreshed_after_failed_sync", "operation_running", "progressing", "healthy"],
                                    [wait_task(timeout=30)]),
    "new_commit_failed_after_refresh": (["refreshed_after_failed_sync", "operation_running", "sync_failed"],
                                        [wait_task(timeout=30)]),
    "timeout": (["progressing"], [wait_task(timeout=2, interval=1)]),
    "check_mode": (["stale_synced_healthy"], [dict(wait_task(), check_mode=True)]),
    "missing": ([], [wait_task(name="app1-qa")]),
    # kubernetes.core's own option set (host + username/password + impersonation): no kubeconfig at all.
    "auth_options": (["healthy"], [wait_task(kubeconfig=None, context=None, host="{{ api_url }}", username="admin",
                                             password="double-password",
                                             impersonate_user="system:serviceaccount:argocd:kindling")]),
    # meta/runtime.yml's group/kindling.gitops.k8s: module_defaults give kubeconfig and context to the module.
    "action_group": (["healthy"], [{"name": "grouped", "module_defaults": {"group/kindling.gitops.k8s": {
        "kubeconfig": "{{ kubeconfig }}", "context": "kind-kindling"}}, "block": [wait_task(kubeconfig=None, context=None)]}]),
    **{f"bad_option_{index}": ([], [wait_task(**options)]) for index, (options, _field) in enumerate(BAD_OPTIONS)},
}


@pytest.fixture(scope="module")
def waited(tmp_path_factory):
    """{case: (result of its `wait` task, its API double)}, every case run in one ansible-playbook."""
    tmp_path = tmp_path_factory.mktemp("argocd-wait")
    doubles, cases = {}, []
    for name, (statuses, tasks) in CASES.items():
        api = doubles[name] = KubeAPIDouble().start()
        api.put(yaml.safe_load((FIXTURES / "application-app1-dev.yaml").read_text()))
        if statuses:
            api.progress("applications", "app1-dev", "argocd", [status(s) for s in statuses])
        kubeconfig = api.write_kubeconfig(tmp_path / f"kubeconfig-{name}")
        cases.append(Case(name, tasks, vars={"kubeconfig": str(kubeconfig), "api_url": api.url}))
    results = run_batch(tmp_path, cases)
    yield {name: (results[name].result("wait"), doubles[name], results[name]) for name in CASES}
    for api in doubles.values():
        api.stop()


def test_contract_progressing_then_healthy_at_the_pushed_revision_is_done(waited):
    result, _api, _run = waited["progressing_then_healthy"]
    assert not result.get("failed"), result.get("msg")
    assert result["done"] and result["sync"] == "Synced" and result["health"] == "Healthy"
    assert result["revision"] == NEW and result["operation_phase"] == "Succeeded"
    assert result["attempts"] == 4 and result["changed"] is False


def test_contract_refresh_annotation_is_set_before_waiting(waited):
    _result, api, _run = waited["refresh"]
    patches = api.calls("PATCH")
    assert len(patches) == 1 and patches[0]["content_type"] == "application/merge-patch+json"
    assert patches[0]["body"] == {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "hard"}}}
    assert patches[0]["path"] == "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/app1-dev"


def test_contract_stale_revision_synced_and_healthy_never_counts(waited):
    result, _api, _run = waited["stale_revision"]
    assert result["failed"]
    assert result["msg"].startswith("timed out after 3s")
    assert result["revision"] == OLD and not result["revision_matches"] and not result["done"]
    assert result["sync"] == "Synced" and result["health"] == "Healthy"


def test_contract_degraded_fails_early_with_resource_messages(waited):
    result, _api, _run = waited["degraded"]
    assert result["failed"] and result["attempts"] == 2
    assert result["unhealthy"] == [{"kind": "Deployment", "namespace": "app1-dev", "name": "app1", "sync": "Synced",
                                    "health": "Degraded",
                                    "message": 'Deployment "app1" exceeded its progress deadline'}]
    assert 'exceeded its progress deadline' in result["msg"] and "Degraded" in result["msg"]


def test_contract_failed_sync_operation_fails_with_its_message(waited):
    result, _api, _run = waited["sync_failed"]
    assert result["failed"] and result["operation_phase"] == "Failed" and result["attempts"] == 1
    assert "spec.template.spec.containers[0].image: Required value" in result["msg"]
    assert result["conditions"][0]["type"] == "SyncError"


def test_contract_stale_failure_after_a_refresh_is_not_blamed_on_the_new_commit(waited):
    """The sequence after a refresh: sync.revision moves to the new commit first while operationState still shows
    the older commit's failed sync; then the new operation runs; then it succeeds and the app is Healthy."""
    result, _api, _run = waited["stale_failure_after_refresh"]
    assert not result.get("failed"), result.get("msg")
    assert result["done"] and result["attempts"] == 4
    assert result["operation_revision"] == NEW and result["operation_phase"] == "Succeeded"


def test_contract_failed_sync_of_the_new_commit_after_a_refresh_still_fails_at_once(waited):
    result, _api, _run = waited["new_commit_failed_after_refresh"]
    assert result["failed"] and result["attempts"] == 3 and result["operation_revision"] == NEW
    assert result["msg"].startswith(f"Application did not deploy {NEW}: sync operation Failed")


def test_contract_timeout_is_bounded_and_reports_last_state(waited):
    result, _api, _run = waited["timeout"]
    assert result["failed"] and "timed out after 2s" in result["msg"]
    assert result["health"] == "Progressing" and result["elapsed"] < 10
    assert result["unhealthy"][0]["message"].startswith("Waiting for rollout to finish")


def test_contract_check_mode_looks_once_and_changes_nothing(waited):
    result, api, _run = waited["check_mode"]
    assert not result.get("failed") and result["done"] is False and result["attempts"] == 1
    assert api.calls("PATCH") == []


def test_contract_missing_application_is_one_clear_line(waited):
    result, _api, _run = waited["missing"]
    assert result["failed"] and result["msg"].startswith("Application argocd/app1-qa not found")


@pytest.mark.parametrize("index, field", [(index, field) for index, (_options, field) in enumerate(BAD_OPTIONS)])
def test_contract_bad_options_fail_before_any_api_call(waited, index, field):
    result, api, _run = waited[f"bad_option_{index}"]
    assert result["failed"] and result["msg"].startswith(field)
    assert api.requests == []


def test_contract_kubernetes_core_auth_options_reach_the_api(waited):
    """kubernetes.core's own option set (here host + username/password + impersonation, which a hand-made
    copy of its client did not have): the module reads the Application with no kubeconfig at all."""
    result, api, run = waited["auth_options"]
    assert not result.get("failed"), result.get("msg")
    assert result["done"] and api.calls("GET")
    assert "double-password" not in repr(run.tasks)


def test_contract_cluster_set_once_through_the_action_group(waited):
    """meta/runtime.yml's group/kindling.gitops.k8s: module_defaults give kubeconfig and context to the module."""
    result, api, _run = waited["action_group"]
    assert not result.get("failed"), result.get("msg")
    assert result["done"] and api.calls("GET")
