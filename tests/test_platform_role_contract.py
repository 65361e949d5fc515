"""The platform role at its contract, for what molecule/platform does not show (it installs the pinned charts
and the issuers, re-runs with no change, and reads them back): the real role, kubernetes.core.helm/
helm_repository/k8s against the fake helm (tests/doubles/bin/helm, replaying helm v3.19 output) and the
Kubernetes API double, since no chart repository or cluster is reachable here: the order and bounds of the
installs, a no-op run asking no repository, failed and pending releases, issuers that never turn Ready, check
mode, the other providers and flavors, and uninstalling."""
import json

import pytest
import yaml

from doubles.ansible_run import ROOT, fake_calls, playbook_env, run_playbook
from doubles.k8s_api import KubeAPIDouble

pytestmark = [pytest.mark.contract, pytest.mark.xdist_group("test_platform_role_contract")]

PINS = yaml.safe_load((ROOT / "versions.yml").read_text())["kindling_versions"]["charts"]
READY = {"conditions": [{"type": "Ready", "status": "True", "reason": "KeyPairVerified",
                         "message": "Signing CA verified", "lastTransitionTime": "2026-11-26T04:00:00Z"}]}


@pytest.fixture
def api():
    double = KubeAPIDouble().start()
    for plural in ("clusterissuers", "certificates"):
        double.controller(plural, READY)
    yield double
    double.stop()


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """One install and its re-run, shared by the tests that only read what they did."""
    double = KubeAPIDouble().start()
    for plural in ("clusterissuers", "certificates"):
        double.controller(plural, READY)
    tmp_path = tmp_path_factory.mktemp("platform")
    first = platform(double, tmp_path)
    calls_after_first = len(installs(tmp_path))
    helm_calls_after_first = len(fake_calls(tmp_path, "helm"))
    again = platform(double, tmp_path)
    yield {"api": double, "tmp_path": tmp_path, "first": first, "again": again, "installs": calls_after_first,
           "again_calls": fake_calls(tmp_path, "helm")[helm_calls_after_first:]}
    double.stop()


def platform(api, tmp_path, *flags, fail=None, **variables):
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
    playbook = tmp_path / "platform.yml"
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "gather_facts": False, "vars_files": [str(ROOT / "versions.yml")],
        "vars": {"kubeconfig_path": str(kubeconfig), "kube_context": "kind-kindling", "cluster_provider": "kind",
                 "platform_ready_timeout": 5, **variables},
        "roles": [{"role": str(ROOT / "roles" / "platform")}]}]))
    extra = {"FAKE_HELM_FAIL": fail} if fail else {}
    return run_playbook(playbook, playbook_env(tmp_path, **extra), "-i", "localhost,", "-c", "local", *flags)


def installs(tmp_path):
    return [c for c in fake_calls(tmp_path, "helm") if "upgrade" in c["argv"]]


def releases(tmp_path):
    path = tmp_path / "fake-helm.json"
    return json.loads(path.read_text())["releases"] if path.exists() else {}


def test_contract_installs_pinned_charts_in_order_with_bounded_waits(installed):
    api, tmp_path, run = installed["api"], installed["tmp_path"], installed["first"]
    assert run.rc == 0, run.failure()
    calls = installs(tmp_path)[:installed["installs"]]
    assert [c["argv"][-1] for c in calls] == ["cert-manager", "traefik", "metrics-server", "kube-prometheus-stack",
                                              "argo-cd"]
    for call in calls:
        pin = PINS[call["argv"][-1].replace("-", "_")]
        assert f"--version={pin['version']}" in call["argv"] and f"--repo={pin['repo_url']}" in call["argv"]
        assert "--wait" in call["argv"] and call["argv"][call["argv"].index("--timeout") + 1] == "10m0s"
        assert "--create-namespace" in call["argv"]
        assert call["env"]["kubeconfig_servers"] == [api.url]
        assert call["env"]["HELM_KUBECONTEXT"] == "kind-kindling"
    assert [c["env"]["HELM_NAMESPACE"] for c in calls] == ["cert-manager", "traefik", "kube-system", "monitoring",
                                                            "argocd"]
    installed = releases(tmp_path)
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


def test_contract_issuer_never_ready_fails_within_the_bound(api, tmp_path):
    api.controller("clusterissuers", {"conditions": [{"type": "Ready", "status": "False", "reason": "ErrInitIssuer",
                                                      "message": "secret kindling-ca not found"}]})
    run = platform(api, tmp_path, platform_ready_timeout=2)
    name, result = run.failure()
    assert "CA ClusterIssuer" in name and run.rc != 0
    assert "Ready" in result["msg"] or "wait" in result["msg"].lower(), result["msg"]


def test_contract_no_op_run_asks_no_chart_repository_and_prints_no_helm_diff_warning(installed):
    """A release deployed at the pinned chart with the same values: only local reads (helm list/get), no
    `helm show chart --repo`, no `repo` command, no upgrade, and kubernetes.core.helm's helm-diff warning never shows."""
    again, calls = installed["again"], installed["again_calls"]
    assert again.rc == 0 and again.stats["changed"] == 0
    assert calls, "the second run read no release status"
    network = [c["argv"] for c in calls if any(a.startswith("--repo") for a in c["argv"]) or c["argv"][:1] == ["repo"]
               or c["argv"][:2] == ["show", "chart"]]
    assert network == []
    assert {c["argv"][0] for c in calls} <= {"list", "get", "version"}, [c["argv"] for c in calls]
    warnings = [w for _, r in again.results() for w in r.get("warnings", [])]
    assert not [w for w in warnings if "helm diff" in w.lower()], warnings
    assert "helm diff" not in again.stderr.lower()


def seed_release(tmp_path, name, namespace, status, revision=1, values=None, history=()):
    pin = PINS[name.replace("-", "_")]
    path = tmp_path / "fake-helm.json"
    state = json.loads(path.read_text()) if path.exists() else {"repos": {}, "releases": {}}
    state["releases"][f"{namespace}/{name}"] = {
        "name": name, "namespace": namespace, "revision": str(revision), "status": status,
        "updated": "2026-11-26 04:00:00.000000000 +0000 UTC", "chart": f"{pin['chart']}-{pin['version']}",
        "app_version": pin["app_version"], "values": values or {}, "history": list(history)}
    path.write_text(json.dumps(state))


def test_contract_a_failed_release_is_repaired_on_the_next_run(api, tmp_path):
    """A failed install (helm --wait timed out) recorded as failed with the very values the role wants is still
    broken: the next run upgrades it (kubernetes.core.helm force) instead of reporting ok."""
    broken = platform(api, tmp_path, fail="upgrade")
    assert broken.rc != 0 and releases(tmp_path)["cert-manager/cert-manager"]["status"] == "failed"
    repaired = platform(api, tmp_path)
    assert repaired.rc == 0, repaired.failure()
    cert_manager = releases(tmp_path)["cert-manager/cert-manager"]
    assert cert_manager["status"] == "deployed" and cert_manager["revision"] == "2"
    (upgrade,) = [c["argv"] for c in installs(tmp_path)[1:] if c["argv"][-1] == "cert-manager"]
    assert "--force" in upgrade
    assert repaired.result("Helm release cert-manager")["changed"] is True


def test_contract_a_pending_install_is_removed_and_installed_again(api, tmp_path):
    """An interrupted first install (pending-install): helm hides it from `helm list` and refuses to upgrade it."""
    seed_release(tmp_path, "cert-manager", "cert-manager", "pending-install")
    run = platform(api, tmp_path)
    assert run.rc == 0, run.failure()
    helm = [c["argv"] for c in fake_calls(tmp_path, "helm")]
    uninstall = next(i for i, a in enumerate(helm) if a[0] == "uninstall" and a[-1] == "cert-manager")
    install = next(i for i, a in enumerate(helm) if "upgrade" in a and a[-1] == "cert-manager")
    assert uninstall < install
    assert releases(tmp_path)["cert-manager/cert-manager"]["status"] == "deployed"


def test_contract_a_pending_upgrade_is_rolled_back_then_upgraded(api, tmp_path):
    pin = PINS["cert_manager"]
    seed_release(tmp_path, "cert-manager", "cert-manager", "pending-upgrade", revision=2, history=[
        {"name": "cert-manager", "namespace": "cert-manager", "revision": "1", "status": "deployed",
         "chart": f"cert-manager-{pin['version']}", "app_version": pin["app_version"], "values": {"old": True}}])
    run = platform(api, tmp_path)
    assert run.rc == 0, run.failure()
    helm = [c["argv"] for c in fake_calls(tmp_path, "helm")]
    rollback = next(i for i, a in enumerate(helm) if a[0] == "rollback")
    upgrade = next(i for i, a in enumerate(helm) if "upgrade" in a and a[-1] == "cert-manager")
    assert rollback < upgrade and helm[rollback][:2] == ["rollback", "cert-manager"]
    release = releases(tmp_path)["cert-manager/cert-manager"]
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


def test_contract_check_mode_installs_nothing(api, tmp_path):
    run = platform(api, tmp_path, "--check")
    assert installs(tmp_path) == [] and releases(tmp_path) == {}
    assert api.get("clusterissuers", "kindling-ca") is None
    assert run.stats["failures"] == 0, run.failure()


def test_contract_ingress_nginx_is_allowed_with_a_warning(api, tmp_path):
    run = platform(api, tmp_path, ingress_provider="ingress-nginx")
    assert "retired" in run.result("Warn that ingress-nginx is retired")["msg"]
    charts = [c["argv"][-1] for c in installs(tmp_path)]
    assert "ingress-nginx" in charts and "traefik" not in charts
    values = releases(tmp_path)["ingress-nginx/ingress-nginx"]["values"]["controller"]
    assert values["hostPort"]["enabled"] is True and values["ingressClassResource"]["name"] == "nginx"


def test_contract_existing_cluster_gets_no_kind_values(api, tmp_path):
    platform(api, tmp_path, cluster_provider="existing")
    installed = releases(tmp_path)
    assert installed["kube-system/metrics-server"]["values"]["args"] == []
    assert "ports" not in installed["traefik/traefik"]["values"]
    assert fake_calls(tmp_path, "kind") == []


def test_contract_openshift_installs_no_ingress_controller(api, tmp_path):
    platform(api, tmp_path, cluster_flavor="openshift")
    charts = [c["argv"][-1] for c in installs(tmp_path)]
    assert "traefik" not in charts and "ingress-nginx" not in charts and len(charts) == 4


def test_contract_bad_provider_fails_naming_it_before_helm_runs(api, tmp_path):
    run = platform(api, tmp_path, ingress_provider="nginx")
    name, result = run.failure()
    assert "ingress_provider" in result["msg"] and fake_calls(tmp_path, "helm") == []


def test_contract_helm_failure_stops_the_role(api, tmp_path):
    run = platform(api, tmp_path, fail="upgrade")
    name, result = run.failure()
    assert "cert-manager" in name and "INSTALLATION FAILED: context deadline exceeded" in result["msg"]
    assert api.get("clusterissuers", "kindling-ca") is None


def test_contract_absent_uninstalls_in_reverse_order(api, tmp_path):
    platform(api, tmp_path)
    run = platform(api, tmp_path, platform_state="absent")
    assert run.rc == 0, run.failure()
    uninstalls = [c["argv"][-1] for c in fake_calls(tmp_path, "helm") if "uninstall" in c["argv"]]
    assert uninstalls == ["argo-cd", "kube-prometheus-stack", "metrics-server", "traefik", "cert-manager"]
    assert releases(tmp_path) == {}
