"""kindling.gitops.kind_cluster at its contract: the real module run by ansible-playbook against the fake
kind/docker in tests/doubles/bin (replaying kind v0.32.0 output), since no kind cluster can run here.

Every case runs in one ansible-playbook (support.batch): each case is a host of its own, with its own fake kind
state, call log and work dir, and the steps a case needs (run, change a file, run again) as its tasks; each test
asserts on its own case."""
import json
import stat

import pytest

from support.batch import Case, run_batch
from support.shared_values import VERSIONS

pytestmark = [pytest.mark.contract, pytest.mark.xdist_group("test_cluster_kind_contract")]

IMAGE = VERSIONS["kind_node_image"]
OTHER_IMAGE = "kindest/node:v1.35.4@sha256:" + "ab" * 32
CONFIG = {"nodes": [{"role": "control-plane", "labels": {"ingress-ready": "true"},
                     "extraPortMappings": [{"containerPort": 80, "hostPort": 8080, "listenAddress": "127.0.0.1"}]},
                    {"role": "worker"}]}


def changed_config(change):
    config = json.loads(json.dumps(CONFIG))
    change(config)
    return config


def cluster(name="cluster", config=CONFIG, check=False, diff=False, **options):
    """One kind_cluster task of a case; its work dir is the case's own."""
    args = {"name": "kctest", "kubeconfig": "{{ case_dir }}/work/kubeconfig", "node_image": IMAGE, "config": config,
            "wait": 60, **options}
    task = {"name": name, "kindling.gitops.kind_cluster": args}
    if check:
        task["check_mode"] = True
    if diff:
        task["diff"] = True
    return task


def moved_port(config):
    config["nodes"][0]["extraPortMappings"][0]["hostPort"] = 9090


DRIFTS = [
    (lambda c: c["nodes"][0]["labels"].update({"ingress-ready": "false"}), "nodes[0].labels"),
    (lambda c: c["nodes"].append({"role": "worker"}), "nodes (count or roles"),
    (lambda c: c.update({"containerdConfigPatches": ["[plugins]\n"]}), "containerdConfigPatches"),
]
BAD_CONFIGS = [
    ({"nodes": [{"role": "master"}]}, "config.nodes[0].role"),
    ({"nodes": [{"role": "control-plane", "extraPortMappings": [{"containerPort": 80, "hostPort": 70000}]}]},
     "config.nodes[0].extraPortMappings[0].hostPort"),
    ({"nodes": [{"role": "control-plane", "extraPortMapings": []}]}, "config.nodes[0]"),
    ({"nodes": [{"role": "worker"}]}, "config.nodes"),
]

CASES = {
    "create": [cluster()],
    "second_run": [cluster("first"), cluster("second"), cluster("third")],
    "check_mode": [cluster(check=True, diff=True)],
    "port_drift": [cluster("first"), cluster(config=changed_config(moved_port), diff=True)],
    **{f"drift_{index}": [cluster("first"), cluster(config=changed_config(change))]
       for index, (change, _field) in enumerate(DRIFTS)},
    "image_drift": [cluster("first"),
                    cluster("check", check=True, diff=True, node_image=OTHER_IMAGE, allow_recreate=True),
                    cluster("recreate", node_image=OTHER_IMAGE, allow_recreate=True),
                    cluster("again", node_image=OTHER_IMAGE)],
    "kind_fails": [{"name": "cluster", "kindling.gitops.kind_cluster": {
        "name": "kctest", "kubeconfig": "{{ case_dir }}/kubeconfig", "node_image": IMAGE}}],
    "no_record": [cluster("first"),
                  {"name": "forget the record", "ansible.builtin.file": {
                      "path": "{{ case_dir }}/work/kind-kctest.applied.json", "state": "absent"}},
                  cluster()],
    **{f"bad_config_{index}": [cluster(config=config)] for index, (config, _field) in enumerate(BAD_CONFIGS)},
    "unpinned_image": [cluster(node_image="kindest/node:latest")],
    "delete": [cluster("first"), cluster("delete", state="absent"), cluster("again", state="absent")],
}


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    """{case: (support.batch.CaseResult, its directory)}, every case run in one ansible-playbook."""
    tmp_path = tmp_path_factory.mktemp("kind-cluster")
    batch = []
    for name, tasks in CASES.items():
        directory = tmp_path / name
        directory.mkdir()
        env = {"FAKE_KIND_STATE": directory / "fake-kind.json", "FAKE_CLI_LOG": directory / "fake-cli.jsonl"}
        if name == "kind_fails":
            env["FAKE_KIND_FAIL"] = "pull"
        batch.append(Case(name, tasks, env=env, vars={"case_dir": str(directory)}))
    results = run_batch(tmp_path, batch)
    return {name: (results[name], tmp_path / name) for name in CASES}


def calls(directory, tool="kind"):
    log = directory / "fake-cli.jsonl"
    found = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return [c for c in found if c["tool"] == tool]


def creates(directory):
    return [c["argv"] for c in calls(directory) if c["argv"][:2] == ["create", "cluster"]]


def deletes(directory):
    return [c["argv"] for c in calls(directory) if c["argv"][:2] == ["delete", "cluster"]]


def test_contract_create_passes_pinned_image_config_on_stdin_and_writes_private_kubeconfig(cases):
    run, directory = cases["create"]
    result = run.result("cluster")
    assert not result.get("failed") and result["changed"], result.get("msg")
    kubeconfig = directory / "work" / "kubeconfig"
    assert creates(directory) == [["create", "cluster", "--name", "kctest", "--config", "-", "--image", IMAGE,
                                   "--kubeconfig", str(kubeconfig), "--wait", "60s"]]
    sent = json.loads([c for c in calls(directory) if c["argv"][0] == "create"][0]["stdin"])
    assert sent["apiVersion"] == "kind.x-k8s.io/v1alpha4" and sent["name"] == "kctest"
    assert sent["nodes"][0]["extraPortMappings"] == CONFIG["nodes"][0]["extraPortMappings"]
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
    assert "kind-kctest" in kubeconfig.read_text()
    assert result["nodes"] == ["kctest-control-plane", "kctest-worker"]
    assert result["context"] == "kind-kctest"


def test_contract_second_and_third_runs_are_unchanged_and_create_nothing(cases):
    run, directory = cases["second_run"]
    for name in ("second", "third"):
        again = run.result(name)
        assert not again.get("failed") and again["changed"] is False, (name, again)
    assert len(creates(directory)) == 1


def test_contract_check_mode_creates_nothing(cases):
    run, directory = cases["check_mode"]
    assert run.result("cluster")["changed"] is True
    assert creates(directory) == []
    assert not (directory / "work" / "kubeconfig").exists()


def test_contract_port_drift_fails_naming_the_field_and_keeps_the_cluster(cases):
    run, directory = cases["port_drift"]
    result = run.result("cluster")
    assert result["failed"]
    assert "nodes[0].extraPortMappings" in result["msg"] and "allow_recreate" in result["msg"]
    assert "Traceback" not in json.dumps(result)
    assert deletes(directory) == [] and len(creates(directory)) == 1


@pytest.mark.parametrize("index, field", [(index, field) for index, (_change, field) in enumerate(DRIFTS)])
def test_contract_creation_time_drift_is_named(cases, index, field):
    run, _directory = cases[f"drift_{index}"]
    result = run.result("cluster")
    assert result["failed"] and field in result["msg"], result["msg"]


def test_contract_image_drift_recreates_only_with_allow_recreate_and_shows_diff(cases):
    run, directory = cases["image_drift"]
    check = run.result("check")
    assert check["changed"] and check["recreated"]
    assert check["diff"]["before"]["nodes"][0]["image"] == IMAGE
    assert check["diff"]["after"]["nodes"][0]["image"] == OTHER_IMAGE
    recreate = run.result("recreate")
    assert not recreate.get("failed") and recreate["recreated"], recreate.get("msg")
    assert len(deletes(directory)) == 1 and creates(directory)[-1][7] == OTHER_IMAGE
    assert run.result("again")["changed"] is False


def test_contract_kind_failure_is_one_clear_line(cases):
    run, directory = cases["kind_fails"]
    result = run.result("cluster")
    assert result["failed"]
    assert result["msg"].startswith("kind create cluster failed (exit 1): ERROR: failed to create cluster: "
                                    "failed to pull image")
    assert "\n" not in result["msg"] and "Traceback" not in result.get("exception", "")
    assert not (directory / "kind-kctest.applied.json").exists()


def test_contract_existing_cluster_without_record_compares_docker_visible_fields(cases):
    run, _directory = cases["no_record"]
    result = run.result("cluster")
    assert not result.get("failed") and result["changed"] is False, result
    assert any("no record" in w for w in result.get("warnings", []))


@pytest.mark.parametrize("index, field", [(index, field) for index, (_config, field) in enumerate(BAD_CONFIGS)])
def test_contract_bad_config_fails_naming_the_field_and_writes_nothing(cases, index, field):
    run, directory = cases[f"bad_config_{index}"]
    result = run.result("cluster")
    assert result["failed"] and result["msg"].startswith(field + ":"), result["msg"]
    assert creates(directory) == [] and not (directory / "work").exists()


def test_contract_unpinned_node_image_is_refused(cases):
    run, directory = cases["unpinned_image"]
    result = run.result("cluster")
    assert result["failed"] and result["msg"].startswith("node_image:")
    assert calls(directory) == []


def test_contract_delete_removes_cluster_and_record_then_is_unchanged(cases):
    run, directory = cases["delete"]
    delete = run.result("delete")
    assert delete["changed"] and deletes(directory)[0][:4] == ["delete", "cluster", "--name", "kctest"]
    assert not (directory / "work" / "kind-kctest.applied.json").exists()
    assert run.result("again")["changed"] is False
