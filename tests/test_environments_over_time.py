"""Environments over time on one shared cluster: a release record is valid only on the cluster it was made on
(kube-system's uid, served by the API double), and status.yml shows every environment without changing anything.
Crafted records and the Kubernetes API double; no pipeline run."""
import json
import subprocess

import pytest
import yaml

from doubles.ansible_run import ROOT, playbook_env
from doubles.k8s_api import KubeAPIDouble

pytestmark = pytest.mark.contract

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


def test_a_verification_recorded_on_this_cluster_is_kept_and_not_after_the_cluster_was_recreated(tmp_path, api):
    made_on = kube_system_uid(api)
    assert unchanged(tmp_path, api, made_on) is True
    api.recreate()
    assert kube_system_uid(api) != made_on
    assert unchanged(tmp_path, api, made_on) is False
    # A record from before clusters were recorded is not this cluster's either.
    assert unchanged(tmp_path, api, None) is False


def test_without_a_cluster_the_identity_is_empty_and_an_unchanged_release_keeps_its_verification(tmp_path, api):
    assert unchanged(tmp_path, api, None, no_cluster=True) is True
    assert not [call for call in api.requests if call["path"].startswith("/api/")]
