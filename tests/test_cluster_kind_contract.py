"""kindling.gitops.kind_cluster at its contract: the real module run by ansible-playbook against the fake
kind/docker in tests/doubles/bin (replaying kind v0.32.0 output), since no kind cluster can run here."""
import json
import stat

import pytest

from doubles.ansible_run import fake_calls, playbook_env, run_playbook

pytestmark = pytest.mark.contract

IMAGE = "kindest/node:v1.36.1@sha256:3489c7674813ba5d8b1a9977baea8a6e553784dab7b84759d1014dbd78f7ebd5"
OTHER_IMAGE = "kindest/node:v1.35.4@sha256:" + "ab" * 32
CONFIG = {"nodes": [{"role": "control-plane", "labels": {"ingress-ready": "true"},
                     "extraPortMappings": [{"containerPort": 80, "hostPort": 8080, "listenAddress": "127.0.0.1"}]},
                    {"role": "worker"}]}


def kind_task(tmp_path, *flags, config=CONFIG, **options):
    args = {"name": "kctest", "kubeconfig": str(tmp_path / "work" / "kubeconfig"), "node_image": IMAGE,
            "config": config, "wait": 60, **options}
    playbook = tmp_path / "kind.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "cluster", "kindling.gitops.kind_cluster": args}]}]))
    return run_playbook(playbook, playbook_env(tmp_path), "-i", "localhost,", "-c", "local", *flags)


def creates(tmp_path):
    return [c["argv"] for c in fake_calls(tmp_path, "kind") if c["argv"][:2] == ["create", "cluster"]]


def deletes(tmp_path):
    return [c["argv"] for c in fake_calls(tmp_path, "kind") if c["argv"][:2] == ["delete", "cluster"]]


def test_contract_create_passes_pinned_image_config_on_stdin_and_writes_private_kubeconfig(tmp_path):
    run = kind_task(tmp_path)
    result = run.result("cluster")
    assert run.rc == 0 and result["changed"], result.get("msg")
    kubeconfig = tmp_path / "work" / "kubeconfig"
    assert creates(tmp_path) == [["create", "cluster", "--name", "kctest", "--config", "-", "--image", IMAGE,
                                  "--kubeconfig", str(kubeconfig), "--wait", "60s"]]
    sent = json.loads([c for c in fake_calls(tmp_path, "kind") if c["argv"][0] == "create"][0]["stdin"])
    assert sent["apiVersion"] == "kind.x-k8s.io/v1alpha4" and sent["name"] == "kctest"
    assert sent["nodes"][0]["extraPortMappings"] == CONFIG["nodes"][0]["extraPortMappings"]
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
    assert "kind-kctest" in kubeconfig.read_text()
    assert result["nodes"] == ["kctest-control-plane", "kctest-worker"]
    assert result["context"] == "kind-kctest"


def test_contract_second_run_is_unchanged_and_creates_nothing(tmp_path):
    kind_task(tmp_path)
    again = kind_task(tmp_path)
    assert again.rc == 0 and again.stats["changed"] == 0, again.result("cluster")
    assert len(creates(tmp_path)) == 1


def test_contract_check_mode_creates_nothing(tmp_path):
    run = kind_task(tmp_path, "--check", "--diff")
    assert run.result("cluster")["changed"] is True
    assert creates(tmp_path) == []
    assert not (tmp_path / "work" / "kubeconfig").exists()


def test_contract_port_drift_fails_naming_the_field_and_keeps_the_cluster(tmp_path):
    kind_task(tmp_path)
    moved = json.loads(json.dumps(CONFIG))
    moved["nodes"][0]["extraPortMappings"][0]["hostPort"] = 9090
    run = kind_task(tmp_path, "--diff", config=moved)
    result = run.result("cluster")
    assert run.rc != 0 and result["failed"]
    assert "nodes[0].extraPortMappings" in result["msg"] and "allow_recreate" in result["msg"]
    assert "Traceback" not in json.dumps(result)
    assert deletes(tmp_path) == [] and len(creates(tmp_path)) == 1


@pytest.mark.parametrize("change, field", [
    (lambda c: c["nodes"][0]["labels"].update({"ingress-ready": "false"}), "nodes[0].labels"),
    (lambda c: c["nodes"].append({"role": "worker"}), "nodes (count or roles"),
    (lambda c: c.update({"containerdConfigPatches": ["[plugins]\n"]}), "containerdConfigPatches"),
])
def test_contract_creation_time_drift_is_named(tmp_path, change, field):
    kind_task(tmp_path)
    changed = json.loads(json.dumps(CONFIG))
    change(changed)
    result = kind_task(tmp_path, config=changed).result("cluster")
    assert result["failed"] and field in result["msg"], result["msg"]


def test_contract_image_drift_recreates_only_with_allow_recreate_and_shows_diff(tmp_path):
    kind_task(tmp_path)
    check = kind_task(tmp_path, "--check", "--diff", node_image=OTHER_IMAGE, allow_recreate=True).result("cluster")
    assert check["changed"] and check["recreated"] and deletes(tmp_path) == []
    assert check["diff"]["before"]["nodes"][0]["image"] == IMAGE
    assert check["diff"]["after"]["nodes"][0]["image"] == OTHER_IMAGE
    run = kind_task(tmp_path, node_image=OTHER_IMAGE, allow_recreate=True)
    assert run.rc == 0 and run.result("cluster")["recreated"]
    assert len(deletes(tmp_path)) == 1 and creates(tmp_path)[-1][7] == OTHER_IMAGE
    assert kind_task(tmp_path, node_image=OTHER_IMAGE).stats["changed"] == 0


def test_contract_kind_failure_is_one_clear_line(tmp_path):
    args = {"name": "kctest", "kubeconfig": str(tmp_path / "kubeconfig"), "node_image": IMAGE}
    playbook = tmp_path / "kind.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "cluster", "kindling.gitops.kind_cluster": args}]}]))
    run = run_playbook(playbook, playbook_env(tmp_path, FAKE_KIND_FAIL="pull"), "-i", "localhost,", "-c", "local")
    result = run.result("cluster")
    assert result["failed"]
    assert result["msg"].startswith("kind create cluster failed (exit 1): ERROR: failed to create cluster: "
                                    "failed to pull image")
    assert "\n" not in result["msg"] and "Traceback" not in result.get("exception", "")
    assert not (tmp_path / "kind-kctest.applied.json").exists()


def test_contract_existing_cluster_without_record_compares_docker_visible_fields(tmp_path):
    kind_task(tmp_path)
    (tmp_path / "work" / "kind-kctest.applied.json").unlink()
    run = kind_task(tmp_path)
    assert run.rc == 0 and run.stats["changed"] == 0
    assert any("no record" in w for w in run.result("cluster").get("warnings", []))


@pytest.mark.parametrize("config, field", [
    ({"nodes": [{"role": "master"}]}, "config.nodes[0].role"),
    ({"nodes": [{"role": "control-plane", "extraPortMappings": [{"containerPort": 80, "hostPort": 70000}]}]},
     "config.nodes[0].extraPortMappings[0].hostPort"),
    ({"nodes": [{"role": "control-plane", "extraPortMapings": []}]}, "config.nodes[0]"),
    ({"nodes": [{"role": "worker"}]}, "config.nodes"),
])
def test_contract_bad_config_fails_naming_the_field_and_writes_nothing(tmp_path, config, field):
    result = kind_task(tmp_path, config=config).result("cluster")
    assert result["failed"] and result["msg"].startswith(field + ":"), result["msg"]
    assert creates(tmp_path) == [] and not (tmp_path / "work").exists()


def test_contract_unpinned_node_image_is_refused(tmp_path):
    result = kind_task(tmp_path, node_image="kindest/node:latest").result("cluster")
    assert result["failed"] and result["msg"].startswith("node_image:")
    assert fake_calls(tmp_path, "kind") == []


def test_contract_delete_removes_cluster_and_record_then_is_unchanged(tmp_path):
    kind_task(tmp_path)
    run = kind_task(tmp_path, state="absent")
    assert run.result("cluster")["changed"] and deletes(tmp_path)[0][:4] == ["delete", "cluster", "--name", "kctest"]
    assert not (tmp_path / "work" / "kind-kctest.applied.json").exists()
    assert kind_task(tmp_path, state="absent").stats["changed"] == 0
