"""The argocd role at its contract: the real role and kubernetes.core.k8s against the Kubernetes API double
(no Argo CD can run here); what it applies is validated against Argo CD v3.4.4's CRDs from
the reference data's crds/."""
import base64
import json
import subprocess

import pytest
import yaml

from doubles.ansible_run import ROOT, playbook_env, run_playbook
from doubles.crd_schema import crd_errors
from doubles.k8s_api import KubeAPIDouble

pytestmark = [pytest.mark.contract, pytest.mark.xdist_group("test_argocd_role_contract")]

REPO = "https://git.example.test/platform/gitops.git"
TOKEN = "glpat-test-token-never-logged"
NEW = "9f2c1e0d5b7a4c3e2f1a0b9c8d7e6f5a4b3c2d1e"


@pytest.fixture
def api():
    double = KubeAPIDouble().start()
    yield double
    double.stop()


@pytest.fixture(scope="module")
def applied(tmp_path_factory):
    """--check, then an apply with a token: shared by the tests that only read them. (A re-run changing nothing
    and what the objects say are molecule/argocd's converge, idempotence and verify.)"""
    double = KubeAPIDouble().start()
    tmp_path = tmp_path_factory.mktemp("argocd")
    check = argocd(double, tmp_path, "--check", token=TOKEN)
    writes_in_check = [c for c in double.requests if c["method"] in ("POST", "PATCH", "PUT", "DELETE")
                       and "All" not in c["query"].get("dryRun", [])]
    app_after_check = double.get("applications", "app1-dev", "argocd")
    first = argocd(double, tmp_path, token=TOKEN)
    yield {"api": double, "tmp_path": tmp_path, "check": check, "writes_in_check": writes_in_check,
           "app_after_check": app_after_check, "first": first}
    double.stop()


def argocd(api, tmp_path, *flags, tasks_from="main", token=None, env="dev", **variables):
    kubeconfig = api.write_kubeconfig(tmp_path / "kubeconfig")
    playbook = tmp_path / "argocd.yml"
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "gather_facts": False, "vars_files": [str(ROOT / "versions.yml")],
        "vars": {"kubeconfig_path": str(kubeconfig), "kube_context": "kind-kindling", "kindling_env": env,
                 "app_name": "app1", "app_namespace": f"app1-{env}", "gitops_repo_url": REPO, "gitops_branch": "main",
                 **variables},
        "tasks": [{"name": "argocd", "ansible.builtin.include_role": {"name": str(ROOT / "roles" / "argocd"),
                                                                      "tasks_from": tasks_from}}]}]))
    extra = {"GITOPS_TOKEN": token} if token else {}
    completed_env = playbook_env(tmp_path, **extra)
    if not token:
        completed_env.pop("GITOPS_TOKEN", None)
    return run_playbook(playbook, completed_env, "-i", "localhost,", "-c", "local", *flags)


def test_contract_what_is_applied_passes_argo_cd_s_crds_and_a_wrong_field_does_not(applied, reference_dir):
    app = applied["api"].get("applications", "app1-dev", "argocd")
    project = applied["api"].get("appprojects", "kindling", "argocd")
    assert app["spec"]["syncPolicy"]["retry"] == {"limit": 5, "backoff": {"duration": "10s", "factor": 2,
                                                                           "maxDuration": "3m"}}
    assert crd_errors(app, reference_dir) == [] and crd_errors(project, reference_dir) == []
    wrong = json.loads(json.dumps(app))
    wrong["spec"]["syncPolicy"]["automated"]["selfheal"] = True
    assert any("selfheal" in e for e in crd_errors(wrong, reference_dir))


def test_contract_repository_secret_from_the_environment_never_logged(applied):
    api, tmp_path, run = applied["api"], applied["tmp_path"], applied["first"]
    secret = api.get("secrets", "kindling-gitops-repository", "argocd")
    assert secret["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "repository"
    assert base64.b64decode(secret["data"]["password"]).decode() == TOKEN
    assert base64.b64decode(secret["data"]["url"]).decode() == REPO
    assert TOKEN not in json.dumps(run.data) and TOKEN not in run.stderr
    assert base64.b64encode(TOKEN.encode()).decode() not in json.dumps(run.data)
    verbose = subprocess.run(["ansible-playbook", str(tmp_path / "argocd.yml"), "-i", "localhost,", "-c", "local",
                              "-vvv", "--diff"], env={**playbook_env(tmp_path, GITOPS_TOKEN=TOKEN),
                                                      "ANSIBLE_STDOUT_CALLBACK": "default"},
                             capture_output=True, text=True, cwd=ROOT)
    assert verbose.returncode == 0 and "kindling-gitops-repository" not in verbose.stdout.split("PLAY RECAP")[0] \
        or "censored" in verbose.stdout
    assert TOKEN not in verbose.stdout + verbose.stderr
    assert base64.b64encode(TOKEN.encode()).decode() not in verbose.stdout + verbose.stderr


def test_contract_no_token_means_no_secret_and_leaves_an_existing_one_alone(api, tmp_path):
    assert argocd(api, tmp_path).rc == 0
    assert api.get("secrets", "kindling-gitops-repository", "argocd") is None
    argocd(api, tmp_path, token=TOKEN)
    assert argocd(api, tmp_path).rc == 0
    assert api.get("secrets", "kindling-gitops-repository", "argocd") is not None


def test_contract_check_mode_writes_nothing(applied):
    assert applied["check"].rc == 0 and applied["app_after_check"] is None and applied["writes_in_check"] == []
    assert applied["first"].stats["changed"] > 0


@pytest.mark.parametrize("url", ["/work/main/.work/gitops.git", "file:///srv/gitops.git",
                                 "https://user:secret@git.example.test/gitops.git"])
def test_contract_unreachable_or_credentialed_repo_url_fails_naming_it(api, tmp_path, url):
    run = argocd(api, tmp_path, gitops_repo_url=url)
    name, result = run.failure()
    assert "argocd_repo_url" in result["msg"]
    assert [c for c in api.requests if c["method"] != "GET"] == []


@pytest.mark.parametrize("flavor, provider, kind, detail", [
    ("kubernetes", "traefik", "ingresses", "traefik"),
    ("kubernetes", "ingress-nginx", "ingresses", "nginx"),
    ("openshift", "traefik", "routes", "edge"),
])
def test_contract_ui_is_an_ingress_or_an_openshift_route(api, tmp_path, flavor, provider, kind, detail):
    argocd(api, tmp_path, cluster_flavor=flavor, ingress_provider=provider)
    exposed = api.get(kind, "argocd-server", "argocd")
    other = api.get("routes" if kind == "ingresses" else "ingresses", "argocd-server", "argocd")
    assert exposed is not None and other is None
    spec = exposed["spec"]
    assert detail == (spec["ingressClassName"] if kind == "ingresses" else spec["tls"]["termination"])


def test_contract_wait_entry_point_sets_argocd_deployed(api, tmp_path):
    argocd(api, tmp_path)
    statuses = yaml.safe_load((ROOT / "tests/fixtures/k8s/application-statuses.yaml").read_text())
    healthy = json.loads(json.dumps(statuses["healthy"]).replace("{new}", NEW))
    api.progress("applications", "app1-dev", "argocd", [healthy])
    run = argocd(api, tmp_path, tasks_from="wait", kindling_gitops={"commit": NEW}, argocd_wait_interval=1)
    assert run.rc == 0, run.failure()
    fact = run.result("Record the deployed state for the verify stage")["ansible_facts"]["argocd_deployed"]
    assert fact["done"] is True and fact["revision"] == NEW and fact["health"] == "Healthy"


def test_contract_wait_without_a_pushed_commit_fails_before_any_api_call(api, tmp_path):
    run = argocd(api, tmp_path, tasks_from="wait")
    name, result = run.failure()
    assert "argocd_wait_revision" in result["msg"] and api.requests == []


@pytest.mark.parametrize("bad", [{"argocd_state": "gone"}, {"argocd_cluster_flavor": "okd"}, {"ingress_provider": "haproxy"}])
def test_contract_bad_choice_fails_naming_it_before_any_api_call(api, tmp_path, bad):
    """The argument spec's choices, checked when the role starts (the role's assert does not repeat them)."""
    name, result = argocd(api, tmp_path, **bad).failure()
    field = "argocd_ingress_provider" if "ingress_provider" in bad else next(iter(bad))
    assert field in result["msg"] and api.requests == []


def test_contract_argocd_kubeconfig_names_the_cluster_for_every_task(api, tmp_path):
    """module_defaults carry the role's own argocd_kubeconfig to each kubernetes.core task."""
    run = argocd(api, tmp_path, kubeconfig_path=str(tmp_path / "no-such-kubeconfig"),
                 argocd_kubeconfig=str(tmp_path / "kubeconfig"), token=TOKEN)
    assert run.rc == 0, run.failure()
    assert api.get("applications", "app1-dev", "argocd") is not None
    assert api.get("secrets", "kindling-gitops-repository", "argocd") is not None
