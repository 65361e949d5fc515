"""Environments over time on one shared cluster: a release record is valid only on the cluster it was made on
(kube-system's uid, served by the API double), and status.yml shows every environment without changing anything.
Crafted records and the Kubernetes API double; no pipeline run."""
import json
import subprocess

import pytest
import yaml

from doubles.ansible_run import ROOT, playbook_env
from doubles.k8s_api import KubeAPIDouble

# docker: the teardown's preflight asks the engine (the shared registry and git server are its containers).
pytestmark = [pytest.mark.contract, pytest.mark.docker]

DIGEST = "sha256:" + "d" * 64
COMMIT = "c" * 40


def run(tmp_path, playbook, *args, **env):
    completed = subprocess.run(["ansible-playbook", str(playbook), *args], cwd=ROOT, capture_output=True, text=True,
                               timeout=300, env=playbook_env(tmp_path, ANSIBLE_STDOUT_CALLBACK="json", **env))
    try:
        return completed.returncode, json.loads(completed.stdout)
    except ValueError:
        raise AssertionError(f"rc={completed.returncode}\n{completed.stdout}\n{completed.stderr}")


def task_results(data, name):
    return [task["hosts"]["localhost"] for play in data["plays"] for task in play["tasks"]
            if task["task"]["name"] == name and "localhost" in task["hosts"]]


@pytest.fixture
def api():
    double = KubeAPIDouble().start()
    yield double
    double.stop()


def unchanged(tmp_path, api, recorded_cluster, no_cluster=False):
    """release_unchanged (playbooks/vars/release.yml) for an unchanged candidate whose verification is recorded,
    after tasks/cluster_identity.yml read the double's identity."""
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
    verified = {"image": {"digest": DIGEST}, "commit": COMMIT, "verified": True}
    if recorded_cluster:
        verified["cluster"] = recorded_cluster
    playbook = tmp_path / "unchanged.yml"
    playbook.write_text(yaml.safe_dump([{
        "hosts": "localhost", "connection": "local", "gather_facts": False,
        "vars_files": [str(ROOT / "playbooks/vars/release.yml")],
        "vars": {"kindling_skip_verified": True, "kindling_no_cluster": no_cluster, "release_verified": verified,
                 "release_candidate": {"digest": DIGEST, "commit": COMMIT, "changed": False},
                 "kubeconfig_path": str(kubeconfig), "kube_context": "kind-kindling"},
        "tasks": [{"ansible.builtin.import_tasks": str(ROOT / "playbooks/tasks/cluster_identity.yml")},
                  {"name": "Say whether the release is unchanged", "ansible.builtin.debug": {"var": "release_unchanged"}}],
    }]))
    rc, data = run(tmp_path, playbook, "-i", "localhost,")
    assert rc == 0, data
    return task_results(data, "Say whether the release is unchanged")[0]["release_unchanged"]


def kube_system_uid(api):
    return api.get("namespaces", "kube-system")["metadata"]["uid"]


def verify(tmp_path, api, app, work_dir, **extra):
    """verify.yml against the healthy app (reached directly), on the double's cluster; (verification, verified.json)."""
    variables = {"kindling_work_dir": str(work_dir), "kubeconfig_path": str(api.write_kubeconfig(tmp_path / "kubeconfig")),
                 "verify_direct_url": app.base_url, "verify_direct_metrics_url": app.metrics_url,
                 "verify_pods": False, "verify_ingress": False, "preview_enabled": False, **extra}
    rc, data = run(tmp_path, "playbooks/verify.yml", "-i", "inventories/dev", "-e", json.dumps(variables))
    assert rc == 0, data
    summary = task_results(data, "Summary of the run")[-1]["msg"]
    return summary["verification"], json.loads((work_dir / "release" / "verified.json").read_text())


@pytest.mark.slow
def test_the_same_release_on_a_recreated_cluster_is_verified_again(tmp_path, api):
    from doubles.faulty_app import FaultyApp
    work_dir = tmp_path / ".work" / "dev"
    (work_dir / "release").mkdir(parents=True)
    (work_dir / "release" / "deployed.json").write_text(json.dumps({"env": "dev", "image": {"digest": DIGEST},
                                                                    "commit": COMMIT}))
    app = FaultyApp(None, (ROOT / "app" / "VERSION").read_text().strip()).start()
    # What site.yml's deploy stage hands verify.yml when it pushed nothing new.
    unchanged_run = {"kindling_skip_verified": True, "kindling_gitops": {"commit": COMMIT, "changed": False, "pushed": False}}
    try:
        verification, verified = verify(tmp_path, api, app, work_dir)
        assert verification.startswith("passed (") and verified["cluster"] == kube_system_uid(api)
        assert verify(tmp_path, api, app, work_dir, **unchanged_run)[0].startswith("passed earlier, unchanged since")
        api.recreate()
        verification, verified = verify(tmp_path, api, app, work_dir, **unchanged_run)
    finally:
        app.stop()
    assert verification.startswith("passed (") and verified["cluster"] == kube_system_uid(api)


def test_a_verification_recorded_before_clusters_were_recorded_is_not_kept_on_a_cluster(tmp_path, api):
    # The kept and the re-created cases: test_the_same_release_on_a_recreated_cluster_is_verified_again.
    assert unchanged(tmp_path, api, None) is False


def test_without_a_cluster_the_identity_is_empty_and_an_unchanged_release_keeps_its_verification(tmp_path, api):
    assert unchanged(tmp_path, api, None, no_cluster=True) is True
    assert not [call for call in api.requests if call["path"].startswith("/api/")]


def application(env):
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": f"app1-{env}", "namespace": "argocd"},
            "spec": {"destination": {"namespace": f"app1-{env}"}},
            "status": {"sync": {"status": "Synced", "revision": COMMIT}, "health": {"status": "Healthy"}}}


def environments_on(api, work_root, envs):
    """envs deployed on the double's cluster: a work dir each (records made on this cluster), an Application and
    a namespace each; dev's work dir holds the kubeconfig, as kind_cluster writes it."""
    for env in envs:
        folder = work_root / env / "release"
        folder.mkdir(parents=True)
        record = {"env": env, "image": {"digest": DIGEST}, "commit": COMMIT, "cluster": kube_system_uid(api)}
        (folder / "deployed.json").write_text(json.dumps(record))
        (folder / "verified.json").write_text(json.dumps(dict(record, verified=True)))
        api.put(application(env))
        api.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"app1-{env}"}})
    return api.write_kubeconfig(work_root / envs[0] / "kubeconfig")


def teardown(tmp_path, work_root, kubeconfig, *args):
    # The fake kind's cluster, without node containers: the Docker engine has none of it to unwire.
    (tmp_path / "fake-kind.json").write_text(json.dumps({"clusters": {"kindling": {"config": {}, "containers": {},
                                                                                   "api_port": 40000}}}))
    extra = {"kindling_work_dir": str(work_root / "dev"), "kubeconfig_path": str(kubeconfig), "teardown_confirm": "dev"}
    rc, data = run(tmp_path, "playbooks/teardown.yml", "-i", "inventories/dev", "-e", json.dumps(extra), *args)
    messages = [r.get("msg", "") for play in data["plays"] for task in play["tasks"]
                for r in [task["hosts"].get("localhost", {})] if task["task"]["name"] == "Say what was removed and kept"]
    return rc, data, messages[-1] if messages else ""


def test_teardown_of_one_environment_removes_it_and_keeps_what_the_others_share(tmp_path, api):
    work_root = tmp_path / ".work"
    kubeconfig = environments_on(api, work_root, ["dev", "qa"])
    kubeconfig = kubeconfig.rename(tmp_path / "kubeconfig")
    rc, data, message = teardown(tmp_path, work_root, kubeconfig)
    assert rc == 0, message or data
    assert api.get("applications", "app1-dev", "argocd") is None and api.get("namespaces", "app1-dev") is None
    assert not (work_root / "dev").exists()
    assert api.get("applications", "app1-qa", "argocd") is not None and api.get("namespaces", "app1-qa") is not None
    assert (work_root / "qa" / "release" / "verified.json").is_file()
    assert "kindling" in json.loads((tmp_path / "fake-kind.json").read_text())["clusters"]
    shared = [(task["task"]["name"], task["hosts"]["localhost"]) for play in data["plays"] for task in play["tasks"]
              if task["task"]["name"].split(" : ")[0] in ("local_registry", "git_server", "kind_cluster")]
    assert shared and all(result.get("skipped") for _name, result in shared), shared
    assert message.startswith("teardown dev: removed Application argocd/app1-dev, namespace app1-dev, work dir ")
    assert "kept registry kind-registry, git server kindling-git, kind cluster kindling (qa still in use" in message


def test_teardown_of_the_last_environment_removes_the_shared_cluster_registry_and_git_server(tmp_path, api):
    work_root = tmp_path / ".work"
    kubeconfig = environments_on(api, work_root, ["dev"]).rename(tmp_path / "kubeconfig")
    # Names of this test's own: the Docker engine is shared, its kind-registry may be another run's.
    unique = "teardown-" + tmp_path.name[-12:].lower().replace("_", "-")
    names = {"local_registry_name": unique + "-registry", "git_server_name": unique + "-git"}
    rc, data, message = teardown(tmp_path, work_root, kubeconfig, "-e", json.dumps(names))
    assert rc == 0, message or data
    assert json.loads((tmp_path / "fake-kind.json").read_text())["clusters"] == {}
    assert message.endswith(f"registry {unique}-registry, git server {unique}-git, kind cluster kindling "
                            "(no other environment is left)")


def test_teardown_in_check_mode_changes_nothing_and_says_what_it_would_remove(tmp_path, api):
    work_root = tmp_path / ".work"
    kubeconfig = environments_on(api, work_root, ["dev", "qa"]).rename(tmp_path / "kubeconfig")
    before = {key: json.dumps(obj, sort_keys=True) for key, obj in api.objects.items()}
    rc, data, message = teardown(tmp_path, work_root, kubeconfig, "--check")
    assert rc == 0 and data["stats"]["localhost"]["changed"] > 0, message or data
    assert {key: json.dumps(obj, sort_keys=True) for key, obj in api.objects.items()} == before
    assert (work_root / "dev" / "release" / "verified.json").is_file()
    assert message.startswith("check mode, nothing changed: teardown dev would remove Application argocd/app1-dev")
    # Asked to, it would remove the shared cluster while qa still uses it, and changes nothing either.
    rc, data, message = teardown(tmp_path, work_root, kubeconfig, "--check", "-e", "teardown_cluster=true")
    assert rc == 0 and message.endswith("kind cluster kindling (teardown_cluster=true)"), message or data
    assert {key: json.dumps(obj, sort_keys=True) for key, obj in api.objects.items()} == before
    assert "kindling" in json.loads((tmp_path / "fake-kind.json").read_text())["clusters"]


def status(tmp_path, work_root, kubeconfig, *args, **extra):
    variables = {"kindling_work_dir": str(work_root / "dev"), "kubeconfig_path": str(kubeconfig), **extra}
    rc, data = run(tmp_path, "playbooks/status.yml", "-i", "inventories/dev", "-e", json.dumps(variables), *args)
    assert rc == 0, data
    shown = task_results(data, "Show every environment")[0]["msg"]
    read = [task for play in data["plays"] for task in play["tasks"]
            if task["task"]["name"] == "Read every environment's records, its Argo CD Application and the cluster's identity"]
    return data, shown, read[0]["hosts"]["localhost"]


def test_status_shows_one_row_per_environment_and_changes_nothing(tmp_path, api):
    work_root = tmp_path / ".work"
    kubeconfig = environments_on(api, work_root, ["dev", "qa"]).rename(tmp_path / "kubeconfig")
    # qa's records were made on a cluster that was deleted and created again since.
    for name in ("deployed.json", "verified.json"):
        path = work_root / "qa" / "release" / name
        path.write_text(json.dumps(dict(json.loads(path.read_text()), cluster="00000000-dead-4000-8000-000000000000")))
    api.objects = {key: obj for key, obj in api.objects.items() if key[2:] != ("applications", "argocd", "app1-qa")}
    data, shown, result = status(tmp_path, work_root, kubeconfig, "--check")
    assert data["stats"]["localhost"]["changed"] == 0
    assert shown[0].split()[:2] == ["ENV", "DEPLOYED"]
    rows = {line.split()[0]: line for line in shown[1:4]}
    assert list(rows) == ["dev", "qa", "prod"]
    assert "sha256:dddddddddddd ccccccc" in rows["dev"] and "Synced, Healthy, cccccccccccc" in rows["dev"]
    assert "passed ccccccc at 20" in rows["dev"] and rows["dev"].endswith("current")
    assert "no Application" in rows["qa"] and rows["qa"].endswith("another cluster (re-verify)")
    assert "nothing" in rows["prod"] and "never" in rows["prod"]
    assert shown[4] == "cluster: kube-system uid " + kube_system_uid(api)
    assert {call["method"] for call in api.requests} == {"GET"}
    assert (work_root / "dev" / "release" / "verified.json").is_file()


def test_status_without_a_cluster_says_no_cluster_and_asks_none(tmp_path, api):
    work_root = tmp_path / ".work"
    kubeconfig = environments_on(api, work_root, ["dev"]).rename(tmp_path / "kubeconfig")
    calls = len(api.requests)
    _data, shown, _result = status(tmp_path, work_root, kubeconfig, kindling_no_cluster=True)
    assert "no cluster" in shown[1] and shown[-1].startswith("cluster: no cluster")
    assert len(api.requests) == calls
