"""The argocd role at its contract, for what molecule/argocd does not show (it applies dev's objects to the
Kubernetes API double, re-runs with no change, and reads them back): the real role and kubernetes.core.k8s
against the double (no Argo CD can run here), what it applies validated against Argo CD v3.4.4's CRDs from the
reference data, the token never logged, check mode, refusals, the other flavors, the default repoURL on kind and
elsewhere, and the wait entry point.

Every case runs in one ansible-playbook (support.batch): each case is a host of its own with an API double of its
own; each test asserts on its own case. GITOPS_TOKEN is the run's (the role reads it with a lookup, on the
controller); a case without a token sets argocd_repo_password empty."""
import base64
import json
import subprocess

import pytest
import yaml

from doubles.ansible_run import ROOT, playbook_env
from doubles.crd_schema import crd_errors
from doubles.k8s_api import KubeAPIDouble
from support.batch import Case, role_task, run_batch

# slow: the batch runs the whole role for every case (a minute or more).
pytestmark = [pytest.mark.contract, pytest.mark.slow, pytest.mark.xdist_group("test_argocd_role_contract")]

REPO = "https://git.example.test/platform/gitops.git"
TOKEN = "glpat-test-token-never-logged"
NEW = "9f2c1e0d5b7a4c3e2f1a0b9c8d7e6f5a4b3c2d1e"
NO_TOKEN = {"argocd_repo_password": ""}


def role(name="argocd", tasks_from="main", check=False, **variables):
    return role_task("argocd", name, tasks_from, {"check_mode": True} if check else None, **variables)


BAD_URLS = ["/work/main/.work/gitops.git", "file:///srv/gitops.git", "https://user:secret@git.example.test/gitops.git"]
FLAVORS = [("kubernetes", "traefik", "ingresses", "traefik"), ("kubernetes", "ingress-nginx", "ingresses", "nginx"),
           ("openshift", "traefik", "routes", "edge")]
BAD_CHOICES = [{"argocd_state": "gone"}, {"argocd_cluster_flavor": "okd"}, {"ingress_provider": "haproxy"}]

# name: (the case's tasks, its host variables)
CASES = {
    "check": ([role(check=True)], {}),
    "applied": ([role()], {}),
    # One env's teardown: the other envs' Applications still use the project, the repository Secret and the UI.
    "removed": ([role(), role("remove", argocd_state="absent")], {}),
    "no_token": ([role("without", **NO_TOKEN), role("with"), role("without again", **NO_TOKEN)], {}),
    # No git server serves the repository (on kind a local path would be served: repo_on_kind below).
    **{f"bad_url_{index}": ([role()], {"gitops_repo_url": url, "git_server_enabled": False})
       for index, url in enumerate(BAD_URLS)},
    **{f"flavor_{index}": ([role()], {"cluster_flavor": flavor, "ingress_provider": provider})
       for index, (flavor, provider, _kind, _detail) in enumerate(FLAVORS)},
    "wait": ([role(), role("wait", tasks_from="wait", kindling_gitops={"commit": NEW}, argocd_wait_interval=1)], {}),
    "wait_without_commit": ([role(tasks_from="wait")], {}),
    **{f"bad_choice_{index}": ([role()], bad) for index, bad in enumerate(BAD_CHOICES)},
    "kubeconfig": ([role()], {"kubeconfig_path": "{{ case_kubeconfig | dirname }}/no-such-kubeconfig",
                              "argocd_kubeconfig": "{{ case_kubeconfig }}"}),
    # The default repoURL, without the inventories' argocd.yml: on kind with a local GitOps repository the git
    # server's git_server_url, elsewhere gitops_repo_url.
    "repo_on_kind": ([role()], {"gitops_repo_url": "{{ case_kubeconfig | dirname }}/gitops.git", "git_server_enabled": True,
                                "git_server_url": "git://kindling-git/gitops.git", "argocd_server_host": "", **NO_TOKEN}),
    "repo_elsewhere": ([role()], {"git_server_enabled": False, "git_server_url": "git://kindling-git/gitops.git",
                                  "argocd_server_host": "", **NO_TOKEN}),
}


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    """{case: (support.batch.CaseResult, its API double)}, every case run in one ansible-playbook."""
    tmp_path = tmp_path_factory.mktemp("argocd")
    statuses = yaml.safe_load((ROOT / "tests/fixtures/k8s/application-statuses.yaml").read_text())
    healthy = json.loads(json.dumps(statuses["healthy"]).replace("{new}", NEW))
    doubles, batch = {}, []
    for name, (tasks, variables) in CASES.items():
        api = doubles[name] = KubeAPIDouble().start()
        if name == "wait":
            api.progress("applications", "app1-dev", "argocd", [healthy])
        kubeconfig = str(api.write_kubeconfig(tmp_path / f"kubeconfig-{name}"))
        batch.append(Case(name, tasks, vars={
            "case_kubeconfig": kubeconfig, "kubeconfig_path": kubeconfig, "kube_context": "kind-kindling",
            "kindling_env": "dev", "app_name": "app1", "app_namespace": "app1-dev", "gitops_repo_url": REPO,
            "gitops_branch": "main", **variables}))
    results = run_batch(tmp_path, batch, vars_files=[ROOT / "versions.yml"], GITOPS_TOKEN=TOKEN)
    yield {name: (results[name], doubles[name]) for name in CASES}
    for api in doubles.values():
        api.stop()


def test_contract_what_is_applied_passes_argo_cd_s_crds_and_a_wrong_field_does_not(cases, reference_dir):
    _run, api = cases["applied"]
    app = api.get("applications", "app1-dev", "argocd")
    project = api.get("appprojects", "kindling", "argocd")
    assert app["spec"]["syncPolicy"]["retry"] == {"limit": 5, "backoff": {"duration": "10s", "factor": 2,
                                                                           "maxDuration": "3m"}}
    assert crd_errors(app, reference_dir) == [] and crd_errors(project, reference_dir) == []
    wrong = json.loads(json.dumps(app))
    wrong["spec"]["syncPolicy"]["automated"]["selfheal"] = True
    assert any("selfheal" in e for e in crd_errors(wrong, reference_dir))


def test_contract_repository_secret_from_the_environment_never_logged(cases, tmp_path):
    run, api = cases["applied"]
    secret = api.get("secrets", "kindling-gitops-repository", "argocd")
    assert secret["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "repository"
    assert base64.b64decode(secret["data"]["password"]).decode() == TOKEN
    assert base64.b64decode(secret["data"]["url"]).decode() == REPO
    assert TOKEN not in run.output and base64.b64encode(TOKEN.encode()).decode() not in run.output
    # The same role once more with the most verbose output and --diff, as a user debugging a run would.
    playbook = tmp_path / "argocd.yml"
    playbook.write_text(json.dumps([{
        "hosts": "localhost", "gather_facts": False, "vars_files": [str(ROOT / "versions.yml")],
        "vars": {"kubeconfig_path": str(api.write_kubeconfig(tmp_path / "kubeconfig")), "kube_context": "kind-kindling",
                 "kindling_env": "dev", "app_name": "app1", "app_namespace": "app1-dev", "gitops_repo_url": REPO,
                 "gitops_branch": "main"},
        "tasks": [role()]}]))
    verbose = subprocess.run(["ansible-playbook", str(playbook), "-i", "localhost,", "-c", "local", "-vvv", "--diff"],
                             env={**playbook_env(tmp_path, GITOPS_TOKEN=TOKEN), "ANSIBLE_STDOUT_CALLBACK": "default"},
                             capture_output=True, text=True, cwd=ROOT)
    assert verbose.returncode == 0 and "kindling-gitops-repository" not in verbose.stdout.split("PLAY RECAP")[0] \
        or "censored" in verbose.stdout
    assert TOKEN not in verbose.stdout + verbose.stderr
    assert base64.b64encode(TOKEN.encode()).decode() not in verbose.stdout + verbose.stderr


def test_contract_no_token_means_no_secret_and_leaves_an_existing_one_alone(cases):
    run, api = cases["no_token"]
    assert run.failure() is None, run.failure()
    without, with_token, without_again = [r for n, r in run.tasks if n.endswith("Give Argo CD read access to the GitOps repository")]
    assert without.get("skipped") and without_again.get("skipped"), "without a token the Secret is not touched"
    assert with_token["changed"], "the run with a token writes it"
    assert api.get("secrets", "kindling-gitops-repository", "argocd") is not None, "and a run without one leaves it"


def test_contract_absent_removes_this_env_s_application_only(cases):
    run, api = cases["removed"]
    assert run.failure() is None, run.failure()
    assert api.get("applications", "app1-dev", "argocd") is None
    assert api.get("appprojects", "kindling", "argocd") is not None
    assert api.get("secrets", "kindling-gitops-repository", "argocd") is not None
    assert api.get("ingresses", "argocd-server", "argocd") is not None


def test_contract_check_mode_writes_nothing(cases):
    run, api = cases["check"]
    assert run.failure() is None, run.failure()
    assert api.get("applications", "app1-dev", "argocd") is None
    assert [c for c in api.requests if c["method"] in ("POST", "PATCH", "PUT", "DELETE")
            and "All" not in c["query"].get("dryRun", [])] == []
    applied, _api = cases["applied"]
    assert applied.changed, "the same run without check mode changes things"


@pytest.mark.parametrize("index", range(len(BAD_URLS)), ids=BAD_URLS)
def test_contract_unreachable_or_credentialed_repo_url_fails_naming_it(cases, index):
    run, api = cases[f"bad_url_{index}"]
    name, result = run.failure()
    assert "argocd_repo_url" in result["msg"]
    assert [c for c in api.requests if c["method"] != "GET"] == []


@pytest.mark.parametrize("index", range(len(FLAVORS)), ids=["-".join(f[:2]) for f in FLAVORS])
def test_contract_ui_is_an_ingress_or_an_openshift_route(cases, index):
    _flavor, _provider, kind, detail = FLAVORS[index]
    _run, api = cases[f"flavor_{index}"]
    exposed = api.get(kind, "argocd-server", "argocd")
    other = api.get("routes" if kind == "ingresses" else "ingresses", "argocd-server", "argocd")
    assert exposed is not None and other is None
    spec = exposed["spec"]
    assert detail == (spec["ingressClassName"] if kind == "ingresses" else spec["tls"]["termination"])


def test_contract_wait_entry_point_waits_for_the_pushed_commit(cases):
    run, _api = cases["wait"]
    assert run.failure() is None, run.failure()
    result = run.result("Wait for Argo CD to deploy the revision just pushed")
    assert result["done"] is True and result["revision"] == NEW and result["health"] == "Healthy"


def test_contract_wait_without_a_pushed_commit_fails_before_any_api_call(cases):
    run, api = cases["wait_without_commit"]
    name, result = run.failure()
    assert "argocd_wait_revision" in result["msg"] and api.requests == []


@pytest.mark.parametrize("index", range(len(BAD_CHOICES)), ids=[next(iter(b)) for b in BAD_CHOICES])
def test_contract_bad_choice_fails_naming_it_before_any_api_call(cases, index):
    """The argument spec's choices, checked when the role starts (the role's assert does not repeat them)."""
    bad = BAD_CHOICES[index]
    run, api = cases[f"bad_choice_{index}"]
    name, result = run.failure()
    field = "argocd_ingress_provider" if "ingress_provider" in bad else next(iter(bad))
    assert field in result["msg"] and api.requests == []


@pytest.mark.parametrize("case, expected", [("repo_on_kind", "git://kindling-git/gitops.git"), ("repo_elsewhere", REPO)])
def test_contract_the_application_reads_the_git_server_on_kind_and_gitops_repo_url_elsewhere(cases, case, expected):
    run, api = cases[case]
    assert run.failure() is None, run.failure()
    app = api.get("applications", "app1-dev", "argocd")
    project = api.get("appprojects", "kindling", "argocd")
    assert app["spec"]["source"]["repoURL"] == expected and project["spec"]["sourceRepos"] == [expected]


def test_contract_argocd_kubeconfig_names_the_cluster_for_every_task(cases):
    """module_defaults carry the role's own argocd_kubeconfig to each kubernetes.core task."""
    run, api = cases["kubeconfig"]
    assert run.failure() is None, run.failure()
    assert api.get("applications", "app1-dev", "argocd") is not None
    assert api.get("secrets", "kindling-gitops-repository", "argocd") is not None
