"""The platform role at its contract, for what molecule/platform does not show (it installs the pinned charts
and the issuers, re-runs with no change, and reads them back): the real role, kubernetes.core.helm/
helm_repository/k8s against the fake helm (tests/doubles/bin/helm, replaying helm v3.19 output) and the
Kubernetes API double, since no chart repository or cluster is reachable here: the order and bounds of the
installs, a no-op run asking no repository, failed and pending releases, issuers that never turn Ready, check
mode, the other providers and flavors, and uninstalling.

Every role run is a case of one ansible-playbook (support.batch): each case is a host of its own with its own
API double, fake helm state and call log; a case's steps (a failed install, then the run that repairs it) are its
tasks; each test asserts on its own case."""
import json

import pytest
import yaml

from doubles.ansible_run import ROOT
from doubles.k8s_api import KubeAPIDouble
from support.batch import Case, role_task, run_batch
from support.shared_values import CLUSTER_ISSUER

# slow: the batch runs the whole role for every case (a minute or more).
pytestmark = [pytest.mark.contract, pytest.mark.slow, pytest.mark.xdist_group("test_platform_role_contract")]

PINS = yaml.safe_load((ROOT / "versions.yml").read_text())["kindling_versions"]["charts"]
READY = {"conditions": [{"type": "Ready", "status": "True", "reason": "KeyPairVerified",
                         "message": "Signing CA verified", "lastTransitionTime": "2026-11-26T04:00:00Z"}]}
NOT_READY = {"conditions": [{"type": "Ready", "status": "False", "reason": "ErrInitIssuer",
                             "message": f"secret {CLUSTER_ISSUER} not found"}]}


def role(name="platform", check=False, fail=None, rescue=False, **variables):
    """One run of the role in a case; fail: FAKE_HELM_FAIL for this run; rescue: the case goes on after it fails."""
    apply = {}
    if check:
        apply["check_mode"] = True
    if fail:
        apply["environment"] = {"FAKE_HELM_FAIL": fail}
    task = role_task("platform", name, apply=apply, **variables)
    if rescue:
        return {"name": f"{name} (expected to fail)", "block": [task],
                "rescue": [{"name": f"{name} failed, as expected", "ansible.builtin.debug": {"msg": "failed"}}]}
    return task


def after(run, name):
    """The task results of a case after its task `name` (the include of one run)."""
    index = max(i for i, (n, _r) in enumerate(run.tasks) if n == name)
    return run.tasks[index + 1:]


def keep_calls(name):
    """A step between two runs: a copy of the helm call log as it is now."""
    return {"name": name, "ansible.builtin.copy": {"src": "{{ case_dir }}/fake-cli.jsonl",
                                                    "dest": "{{ case_dir }}/" + name + ".jsonl", "remote_src": True,
                                                    "mode": "0644"}}


# name: (tasks, host variables, the double's clusterissuers controller status)
CASES = {
    "installed": ([role("first"), keep_calls("calls-after-first"), role("again")], {}, READY),
    "issuer_never_ready": ([role(platform_ready_timeout=2)], {}, NOT_READY),
    "failed_release": ([role("broken", fail="upgrade", rescue=True), keep_calls("calls-after-broken"),
                        role("repaired")], {}, READY),
    "pending_install": ([role()], {}, READY),
    "pending_upgrade": ([role()], {}, READY),
    "check_mode": ([role(check=True)], {}, READY),
    "ingress_nginx": ([role()], {"ingress_provider": "ingress-nginx"}, READY),
    "existing_cluster": ([role()], {"cluster_provider": "existing"}, READY),
    "openshift": ([role()], {"cluster_flavor": "openshift"}, READY),
    "bad_provider": ([role()], {"ingress_provider": "nginx"}, READY),
    "helm_fails": ([role(fail="upgrade")], {}, READY),
    "absent": ([role("install"), keep_calls("calls-after-install"), role("uninstall", platform_state="absent")], {},
               READY),
}


def seed_release(tmp_path, name, namespace, status, revision=1, values=None, history=()):
    pin = PINS[name.replace("-", "_")]
    path = tmp_path / "fake-helm.json"
    state = json.loads(path.read_text()) if path.exists() else {"repos": {}, "releases": {}}
    state["releases"][f"{namespace}/{name}"] = {
        "name": name, "namespace": namespace, "revision": str(revision), "status": status,
        "updated": "2026-11-26 04:00:00.000000000 +0000 UTC", "chart": f"{pin['chart']}-{pin['version']}",
        "app_version": pin["app_version"], "values": values or {}, "history": list(history)}
    path.write_text(json.dumps(state))


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    """{case: (support.batch.CaseResult, its API double, its directory)}, every case run in one ansible-playbook."""
    tmp_path = tmp_path_factory.mktemp("platform")
    doubles, batch = {}, []
    for name, (tasks, variables, issuers) in CASES.items():
        directory = tmp_path / name
        directory.mkdir()
        api = doubles[name] = KubeAPIDouble().start()
        api.controller("clusterissuers", issuers)
        api.controller("certificates", READY)
        if name == "pending_install":
            seed_release(directory, "cert-manager", "cert-manager", "pending-install")
        if name == "pending_upgrade":
            pin = PINS["cert_manager"]
            seed_release(directory, "cert-manager", "cert-manager", "pending-upgrade", revision=2, history=[
                {"name": "cert-manager", "namespace": "cert-manager", "revision": "1", "status": "deployed",
                 "chart": f"cert-manager-{pin['version']}", "app_version": pin["app_version"], "values": {"old": True}}])
        batch.append(Case(name, tasks, env={"FAKE_HELM_STATE": directory / "fake-helm.json",
                                            "FAKE_KIND_STATE": directory / "fake-kind.json",
                                            "FAKE_CLI_LOG": directory / "fake-cli.jsonl"},
                          vars={"case_dir": str(directory), "kubeconfig_path": str(api.write_kubeconfig(directory / "kubeconfig")),
                                "kube_context": "kind-kindling", "cluster_provider": "kind", "platform_ready_timeout": 5,
                                **variables}))
    results = run_batch(tmp_path, batch, vars_files=[ROOT / "versions.yml"])
    yield {name: (results[name], doubles[name], tmp_path / name) for name in CASES}
    for api in doubles.values():
        api.stop()


def calls(directory, tool="helm", log="fake-cli.jsonl"):
    path = directory / log
    found = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [c for c in found if c["tool"] == tool]


def installs(directory, log="fake-cli.jsonl"):
    return [c for c in calls(directory, log=log) if "upgrade" in c["argv"]]


def releases(directory):
    path = directory / "fake-helm.json"
    return json.loads(path.read_text())["releases"] if path.exists() else {}


def test_contract_installs_pinned_charts_in_order_with_bounded_waits(cases):
    run, api, directory = cases["installed"]
    assert run.failure() is None, run.failure()
    first = installs(directory, log="calls-after-first.jsonl")
    assert [c["argv"][-1] for c in first] == ["cert-manager", "traefik", "metrics-server", "kube-prometheus-stack",
                                              "argo-cd"]
    for call in first:
        pin = PINS[call["argv"][-1].replace("-", "_")]
        assert f"--version={pin['version']}" in call["argv"] and f"--repo={pin['repo_url']}" in call["argv"]
        assert "--wait" in call["argv"] and call["argv"][call["argv"].index("--timeout") + 1] == "10m0s"
        assert "--create-namespace" in call["argv"]
        assert call["env"]["kubeconfig_servers"] == [api.url]
        assert call["env"]["HELM_KUBECONTEXT"] == "kind-kindling"
    assert [c["env"]["HELM_NAMESPACE"] for c in first] == ["cert-manager", "traefik", "kube-system", "monitoring",
                                                            "argocd"]
    installed = releases(directory)
    assert installed["cert-manager/cert-manager"]["chart"] == "cert-manager-v1.21.1"
    assert installed["cert-manager/cert-manager"]["values"]["crds"]["enabled"] is True
    assert installed["kube-system/metrics-server"]["values"]["args"] == ["--kubelet-insecure-tls"]
    assert installed["traefik/traefik"]["values"]["ports"]["web"]["hostPort"] == 80
    prometheus = installed["monitoring/kube-prometheus-stack"]["values"]["prometheus"]["prometheusSpec"]
    assert prometheus["serviceMonitorSelectorNilUsesHelmValues"] is False
    assert prometheus["podMonitorSelectorNilUsesHelmValues"] is False
    assert prometheus["ruleSelectorNilUsesHelmValues"] is False
    # base and kind files are deep-merged: both argo-cd files' keys are in the one release
    argo = installed["argocd/argo-cd"]["values"]
    assert argo["configs"]["params"]["server.insecure"] is True and argo["redis-ha"]["enabled"] is False


def test_contract_issuer_never_ready_fails_within_the_bound(cases):
    run, _api, _directory = cases["issuer_never_ready"]
    name, result = run.failure()
    assert "CA ClusterIssuer" in name
    assert "Ready" in result["msg"] or "wait" in result["msg"].lower(), result["msg"]


def test_contract_no_op_run_asks_no_chart_repository_and_prints_no_helm_diff_warning(cases):
    """A release deployed at the pinned chart with the same values: only local reads (helm list/get), no
    `helm show chart --repo`, no `repo` command, no upgrade, and kubernetes.core.helm's helm-diff warning never shows."""
    run, _api, directory = cases["installed"]
    again = after(run, "again")
    assert [n for n, r in again if r.get("changed")] == []
    before = len(calls(directory, log="calls-after-first.jsonl"))
    again_calls = calls(directory)[before:]
    assert again_calls, "the second run read no release status"
    network = [c["argv"] for c in again_calls if any(a.startswith("--repo") for a in c["argv"])
               or c["argv"][:1] == ["repo"] or c["argv"][:2] == ["show", "chart"]]
    assert network == []
    assert {c["argv"][0] for c in again_calls} <= {"list", "get", "version"}, [c["argv"] for c in again_calls]
    warnings = [w for _, r in again for w in r.get("warnings", [])]
    assert not [w for w in warnings if "helm diff" in w.lower()], warnings


def test_contract_a_failed_release_is_repaired_on_the_next_run(cases):
    """A failed install (helm --wait timed out) recorded as failed with the very values the role wants is still
    broken: the next run upgrades it (kubernetes.core.helm force) instead of reporting ok."""
    run, _api, directory = cases["failed_release"]
    assert run.results("broken failed, as expected"), "the broken run did not fail"
    cert_manager = releases(directory)["cert-manager/cert-manager"]
    assert cert_manager["status"] == "deployed" and cert_manager["revision"] == "2"
    broken_installs = len(installs(directory, log="calls-after-broken.jsonl"))
    (upgrade,) = [c["argv"] for c in installs(directory)[broken_installs:] if c["argv"][-1] == "cert-manager"]
    assert "--force" in upgrade
    repaired = after(run, "repaired")
    assert [r for n, r in repaired if n.endswith("Helm release cert-manager")][-1]["changed"] is True
    assert not [n for n, r in repaired if r.get("failed")]


def test_contract_a_pending_install_is_removed_and_installed_again(cases):
    """An interrupted first install (pending-install): helm hides it from `helm list` and refuses to upgrade it."""
    run, _api, directory = cases["pending_install"]
    assert run.failure() is None, run.failure()
    helm = [c["argv"] for c in calls(directory)]
    uninstall = next(i for i, a in enumerate(helm) if a[0] == "uninstall" and a[-1] == "cert-manager")
    install = next(i for i, a in enumerate(helm) if "upgrade" in a and a[-1] == "cert-manager")
    assert uninstall < install
    assert releases(directory)["cert-manager/cert-manager"]["status"] == "deployed"


def test_contract_a_pending_upgrade_is_rolled_back_then_upgraded(cases):
    run, _api, directory = cases["pending_upgrade"]
    assert run.failure() is None, run.failure()
    helm = [c["argv"] for c in calls(directory)]
    rollback = next(i for i, a in enumerate(helm) if a[0] == "rollback")
    upgrade = next(i for i, a in enumerate(helm) if "upgrade" in a and a[-1] == "cert-manager")
    assert rollback < upgrade and helm[rollback][:2] == ["rollback", "cert-manager"]
    release = releases(directory)["cert-manager/cert-manager"]
    assert release["status"] == "deployed" and release["revision"] == "4" and "old" not in release["values"]


def helm_double(tmp_path, *argv):
    import os
    import subprocess
    return subprocess.run([str(ROOT / "tests" / "doubles" / "bin" / "helm"), *argv], capture_output=True, text=True,
                          env=dict(os.environ, FAKE_HELM_STATE=str(tmp_path / "fake-helm.json")))


@pytest.mark.parametrize("status", ["pending-install", "pending-upgrade", "pending-rollback"])
def test_helm_double_hides_pending_releases_from_list_and_refuses_to_upgrade_them(tmp_path, status):
    """helm v3.19.0: list.go shows deployed+failed by default; upgrade.go refuses a pending release (errPending)."""
    seed_release(tmp_path, "traefik", "traefik", status)
    listed = helm_double(tmp_path, "list", "--output=yaml", "--filter", "traefik", "--namespace", "traefik")
    assert yaml.safe_load(listed.stdout) == []
    for flag in ("--all", "--pending"):
        listed = helm_double(tmp_path, "list", "--output=yaml", flag, "--filter", "traefik", "--namespace", "traefik")
        assert [r["status"] for r in yaml.safe_load(listed.stdout)] == [status]
    upgrade = helm_double(tmp_path, "upgrade", "-i", "--repo=https://traefik.github.io/charts", "--namespace",
                          "traefik", "traefik", "traefik")
    assert upgrade.returncode == 1
    assert upgrade.stderr == "Error: UPGRADE FAILED: another operation (install/upgrade/rollback) is in progress\n"


def test_helm_double_lists_and_upgrades_a_failed_first_install(tmp_path):
    seed_release(tmp_path, "traefik", "traefik", "failed")
    listed = helm_double(tmp_path, "list", "--output=yaml", "--filter", "traefik", "--namespace", "traefik")
    assert [r["status"] for r in yaml.safe_load(listed.stdout)] == ["failed"]
    upgrade = helm_double(tmp_path, "upgrade", "-i", "--repo=https://traefik.github.io/charts", "--namespace",
                          "traefik", "traefik", "traefik")
    assert upgrade.returncode == 0 and "does not exist" not in upgrade.stdout
    assert releases(tmp_path)["traefik/traefik"]["status"] == "deployed"


def test_contract_check_mode_installs_nothing(cases):
    run, api, directory = cases["check_mode"]
    assert installs(directory) == [] and releases(directory) == {}
    assert api.get("clusterissuers", CLUSTER_ISSUER) is None
    assert run.failure() is None, run.failure()


def test_contract_ingress_nginx_is_allowed_with_a_warning(cases):
    run, _api, directory = cases["ingress_nginx"]
    assert "retired" in run.result("Warn that ingress-nginx is retired")["msg"]
    charts = [c["argv"][-1] for c in installs(directory)]
    assert "ingress-nginx" in charts and "traefik" not in charts
    values = releases(directory)["ingress-nginx/ingress-nginx"]["values"]["controller"]
    assert values["hostPort"]["enabled"] is True and values["ingressClassResource"]["name"] == "nginx"


def test_contract_existing_cluster_gets_no_kind_values(cases):
    _run, _api, directory = cases["existing_cluster"]
    installed = releases(directory)
    assert installed["kube-system/metrics-server"]["values"]["args"] == []
    assert "ports" not in installed["traefik/traefik"]["values"]
    assert calls(directory, "kind") == []


def test_contract_openshift_installs_no_ingress_controller(cases):
    _run, _api, directory = cases["openshift"]
    charts = [c["argv"][-1] for c in installs(directory)]
    assert "traefik" not in charts and "ingress-nginx" not in charts and len(charts) == 4


def test_contract_bad_provider_fails_naming_it_before_helm_runs(cases):
    run, _api, directory = cases["bad_provider"]
    name, result = run.failure()
    assert "ingress_provider" in result["msg"] and calls(directory) == []


def test_contract_helm_failure_stops_the_role(cases):
    run, api, _directory = cases["helm_fails"]
    name, result = run.failure()
    assert "cert-manager" in name and "INSTALLATION FAILED: context deadline exceeded" in result["msg"]
    assert api.get("clusterissuers", CLUSTER_ISSUER) is None


def test_contract_absent_uninstalls_in_reverse_order(cases):
    run, _api, directory = cases["absent"]
    assert run.failure() is None, run.failure()
    before = len(calls(directory, log="calls-after-install.jsonl"))
    uninstalls = [c["argv"][-1] for c in calls(directory)[before:] if "uninstall" in c["argv"]]
    assert uninstalls == ["argo-cd", "kube-prometheus-stack", "metrics-server", "traefik", "cert-manager"]
    assert releases(directory) == {}
