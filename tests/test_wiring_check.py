"""playbooks/check.yml (kindling.gitops.wiring_check) through the real artifacts: the kind config, cluster issuer,
Argo CD and gitops templates, the charts rendered by the real helm from the reference data's helm-charts/,
`kubectl kustomize` of the overlay. Each test changes one value in a copy
of the configuration (an -e variable, or an edited file in a copied tree) and must see that link break."""
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys

import pytest

from doubles.ansible_run import ROOT

LINKS = ("ingress", "port-forward", "image", "gitops-repo", "argocd-app", "monitoring", "tls", "dashboard", "probes")
COPIED = ("ansible.cfg", "versions.yml", "roles", "playbooks", "inventories", "collections")
# Each test is one or more whole ansible-playbook runs (charts rendered by the real helm); on a loaded 2-core
# machine the batched breaks take minutes.
pytestmark = [pytest.mark.timeout(1800), pytest.mark.slow, pytest.mark.xdist_group("test_wiring_check")]


@pytest.fixture(scope="module")
def chart_dir(reference_dir):
    return reference_dir / "helm-charts"  # reference_dir has skipped unless every pinned chart is there


@pytest.fixture(scope="module")
def charts(chart_dir, render_cache):
    """What the check renders the charts from: the packaged charts, and the session's renders of them."""
    return {"wiring_chart_dir": str(chart_dir), "wiring_render_charts": True, "wiring_render_cache_dir": str(render_cache)}


def link(line):
    """The link a result line is about: "(argocd-app) ..." -> argocd-app."""
    return line[1:].partition(")")[0]


def tree(tmp_path, edits=()):
    """A copy of the configuration with (path, old, new) edits applied; each old text must be there."""
    root = tmp_path / "tree"
    root.mkdir()
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "tests"))
        else:
            shutil.copy(source, root / name)
    for path, old, new in edits:
        text = (root / path).read_text()
        assert old in text, f"{old!r} not in {path}: the break no longer applies, update the test"
        (root / path).write_text(text.replace(old, new, 1))
    return root


def named(task, name):
    """The JSON callback names a role's task "<role> : <name>"."""
    return task["task"]["name"].rpartition(" : ")[2] == name


def check(root, tmp_path, env="dev", charts=None, flags=(), **variables):
    extra = {"kindling_work_dir": str(tmp_path / "work" / env), **variables, **(charts or {"wiring_render_charts": False})}
    process = subprocess.run(
        ["ansible-playbook", "-i", f"inventories/{env}", "playbooks/check.yml", "-e", json.dumps(extra), *flags],
        cwd=root, capture_output=True, text=True,
        env=dict(os.environ, ANSIBLE_CONFIG=str(root / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="json",
                 ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_DEPRECATION_WARNINGS="False"))
    try:
        data = json.loads(process.stdout)
    except ValueError:
        raise AssertionError(f"no JSON from ansible-playbook (rc {process.returncode}): {process.stdout[-3000:]}"
                             f"{process.stderr[-2000:]}")
    results = [task["hosts"]["localhost"] for play in data["plays"] for task in play["tasks"]
               if named(task, "Follow every link") and "localhost" in task["hosts"]]
    assert results, process.stdout[-3000:]
    said = [task["hosts"]["localhost"].get("msg") for play in data["plays"] for task in play["tasks"]
            if named(task, "Say how many links were followed") and "localhost" in task["hosts"]]
    result = dict(results[-1], recap=data["stats"]["localhost"], last=said[-1] if said else None)
    return process.returncode, result


@pytest.mark.parametrize("env", ["dev", "qa", "prod"])
def test_default_inventories_pass(charts, tmp_path, env):
    rc, result = check(ROOT, tmp_path, env, charts=charts)
    print("\n".join(result.get("broken", []) + result.get("not_followed", [])))
    assert rc == 0 and result["broken"] == [], result.get("msg")
    assert result["not_followed"] == [] and result["charts"], result
    assert {link(line) for line in result["followed"]} == set(LINKS)
    assert result["summary"] == "wiring: 9 of 9 links followed (%s)" % ", ".join(LINKS)
    assert set(result["charts"]) == {"cert-manager", "traefik", "metrics-server", "kube-prometheus-stack", "argo-cd"}


BREAKS = {
    # ingress
    "verify_ingress_url on port 80 (before 519caba)": ({"verify_ingress_url": "http://127.0.0.1"}, (), False,
                                                      "(ingress) verify_ingress_url http://127.0.0.1 "),
    "kind listens elsewhere": ({"kind_cluster_listen_address": "192.168.0.10"}, (), False, "-> kind extraPortMappings"),
    "Ingress host differs from verify's": ({"gitops_ingress_host": "app1.other.localhost"}, (), False,
                                          "(ingress) verify_ingress_host app1.dev.localhost -> the overlay's Ingress"),
    "kind maps another node port": ({}, [("roles/kind_cluster/templates/kind-config.yml.j2", "containerPort: 80", "containerPort: 81")],
                                    True, "(ingress) kind containerPort 81 -> ingress controller"),
    "traefik binds another hostPort": ({}, [("roles/platform/files/values/traefik-kind.yaml", "hostPort: 80", "hostPort: 8000")],
                                       True, "no pod binds hostPort 80"),
    "ingress class differs": ({"ingress_classes": {"traefik": "nginx", "ingress-nginx": "nginx"}}, (), True,
                              "ingressClassName nginx -> the controller's IngressClass traefik"),
    # port-forward: forwarding 8080, which the Service lacks
    "port-forward to a port the Service lacks": ({"verify_service_ports": {"app": 8080, "metrics": "metrics"}}, (), False,
                                                 "(port-forward) verify_service_ports.app 8080 -> Service app1-dev/app1"),
    # image (the hosts.toml's upstream and the registry container's name and port come from the same variables)
    "image from a registry no hosts.toml serves": ({"image_registry": "localhost:5002"}, (), False,
                                                   "no hosts.toml for localhost:5002"),
    "registry on another network than kind's": ({"local_registry_network": "bridge"}, (), False,
                                                "(image) registry container kind-registry on network bridge"),
    # gitops-repo
    "repository on the build host": ({"argocd_repo_url": "/srv/gitops.git"}, (), False,
                                     "(gitops-repo) repoURL /srv/gitops.git"),
    "repository container nobody runs": ({"argocd_repo_url": "git://gitops-server/gitops.git"}, (), False,
                                         "a container named gitops-server on the kind network"),
    # argocd-app
    "Application reads another repository than the git server serves": (
        {"argocd_repo_url": "git://kindling-git/other.git"}, (), False,
        "(argocd-app) Application argocd/app1-dev repoURL git://kindling-git/other.git -> the repository the pipeline pushes to"),
    "Application syncs another directory": ({"argocd_overlay_path": "apps/app1/overlays/qa"}, (), False,
                                            "(argocd-app) Application argocd/app1-dev path apps/app1/overlays/qa"),
    "Application tracks another branch": ({"argocd_target_revision": "release"}, (), False,
                                          "(argocd-app) Application argocd/app1-dev targetRevision release"),
    "Application deploys elsewhere than the overlay": (
        {}, [("roles/argocd/templates/application.yaml.j2", "namespace: {{ app_namespace }}", "namespace: app1-qa")], False,
        "(argocd-app) Application argocd/app1-dev destination namespace app1-qa -> the overlay's namespace app1-dev"),
    "project does not admit the repository": (
        {}, [("roles/argocd/templates/appproject.yaml.j2", "- {{ argocd_repo_url | to_json }}", '- "git://kindling-git/old.git"')],
        False, "AppProject argocd/kindling sourceRepos git://kindling-git/old.git: not admitted"),
    "project does not admit the app's namespace": ({"app_namespace": "app1-staging"}, (), False,
                                                  "namespace app1-staging -> AppProject argocd/kindling destinations"),
    # monitoring
    "Prometheus selects its release only": ({}, [("roles/platform/files/values/kube-prometheus-stack.yaml",
                                                  "serviceMonitorSelectorNilUsesHelmValues: false",
                                                  "serviceMonitorSelectorNilUsesHelmValues: true")], True,
                                            "serviceMonitorSelector release=kube-prometheus-stack -> ServiceMonitor"),
    # tls
    "issuer the platform does not create": ({"gitops_cluster_issuer": "letsencrypt"}, (), False,
                                            "cert-manager.io/cluster-issuer letsencrypt -> the platform's ClusterIssuers"),
    # probes
    "readiness probe on a port the container lacks": (
        {}, [("collections/ansible_collections/kindling/gitops/plugins/module_utils/app_manifests.py",
              '"/ready", "port": HTTP[0]', '"/ready", "port": "web"')], False,
        "(probes) Deployment app1-dev/app1 container app1 readinessProbe port web -> its container ports"),
}


BATCH_PLAY = {
    "hosts": "build", "gather_facts": False, "vars_files": ["../versions.yml"], "roles": ["kindling_defaults"],
    "tasks": [{"ansible.builtin.set_fact": {"preflight_wiring_check": {}}},
              {"block": [{"ansible.builtin.include_role": {"name": "preflight", "tasks_from": "wiring.yml"}}],
               "rescue": [{"ansible.builtin.debug": {"msg": "broken, as expected by some scenarios"}}],
               "always": [{"ansible.builtin.copy": {"content": "{{ preflight_wiring_check | to_json }}", "dest": None,
                                                    "mode": "0644"}}]}]}


def batch(root, tmp_path, scenarios, charts):
    """Scenarios that differ only in variables, one play each in ONE ansible-playbook run (play vars override
    the inventory, as -e would): {name: result}."""
    plays = []
    for index, (name, variables, with_charts) in enumerate(scenarios):
        play = json.loads(json.dumps(BATCH_PLAY))
        play["name"] = name
        play["vars"] = {"kindling_work_dir": str(tmp_path / "work" / str(index)), **variables,
                        **(charts if with_charts else {"wiring_render_charts": False})}
        play["tasks"][1]["always"][0]["ansible.builtin.copy"]["dest"] = str(tmp_path / f"result-{index}.json")
        plays.append(play)
    (root / "playbooks" / "batch.yml").write_text(json.dumps(plays))
    process = subprocess.run(["ansible-playbook", "-i", "inventories/dev", "playbooks/batch.yml"], cwd=root,
                             capture_output=True, text=True,
                             env=dict(os.environ, ANSIBLE_CONFIG=str(root / "ansible.cfg"),
                                      ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_DEPRECATION_WARNINGS="False"))
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-2000:]
    results = {}
    for index, (name, _variables, _charts) in enumerate(scenarios):
        result = json.loads((tmp_path / f"result-{index}.json").read_text())
        assert result, f"{name}: the wiring check did not run"
        results[name] = (1 if result.get("failed") else 0, result)
    return results


@pytest.fixture(scope="module")
def outcomes(charts, tmp_path_factory):
    """Every break of BREAKS: those that change a variable in one batched run, those that edit a file in a
    copied tree each in its own run, three at a time."""
    by_vars = [(name, b[0], b[2]) for name, b in BREAKS.items() if not b[1]]
    by_file = [name for name, b in BREAKS.items() if b[1]]

    def one(name):
        variables, edits, with_charts, _words = BREAKS[name]
        tmp_path = tmp_path_factory.mktemp("break")
        return {name: check(tree(tmp_path, edits), tmp_path, charts=charts if with_charts else None,
                            **variables)}

    def batched(_):
        tmp_path = tmp_path_factory.mktemp("batch")
        return batch(tree(tmp_path), tmp_path, by_vars, charts)
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        for part in pool.map(lambda job: job[0](job[1]), [(batched, None)] + [(one, n) for n in by_file]):
            results.update(part)
    return results


@pytest.mark.parametrize("name", list(BREAKS))
def test_each_broken_link_fails_with_one_line_naming_both_ends(outcomes, name):
    rc, result = outcomes[name]
    words = BREAKS[name][3]
    assert rc != 0, f"{name}: the check passed"
    hits = [line for line in result["broken"] if words in line]
    assert hits, f"{name}: {result['broken']}"
    print(f"{name}: {hits[0]}")
    assert result["msg"].splitlines()[0].startswith("wiring check: ")
    assert all(line in result["msg"].splitlines() for line in result["broken"])


def test_without_helm_the_chart_links_are_listed_not_followed_a_second_run_changes_nothing_and_check_mode_writes_nothing(
        tmp_path):
    root = tree(tmp_path)
    # The overlay is rendered into work/wiring, a scratch render that is not reported as a change (the gitops
    # role's gitops_scratch_render): neither the first run nor the second changes anything.
    rc, result = check(root, tmp_path)
    assert rc == 0 and result["broken"] == [], result.get("msg")
    assert any(line.startswith("(ingress) kind node port 80 -> the ingress controller's hostPort") for line in result["not_followed"])
    assert any(line.startswith("(monitoring) Prometheus' selectors") for line in result["not_followed"])
    # Offline is not all green: the run warns, and its last line says which links were not followed and why.
    assert result["summary"].endswith("not followed: ingress, monitoring, dashboard (wiring_render_charts is false)")
    assert result["warnings"] and result["last"] == result["summary"]
    assert result["recap"]["changed"] == 0
    assert (tmp_path / "work" / "dev" / "wiring").is_dir()
    assert check(root, tmp_path)[1]["recap"]["changed"] == 0
    rc, result = check(root, tmp_path, flags=("--check",), kindling_work_dir=str(tmp_path / "untouched"))
    assert rc == 0 and result["recap"]["failures"] == 0
    assert not (tmp_path / "untouched").exists()


def test_a_run_without_cluster_follows_only_the_overlay_s_own_links(tmp_path):
    """As site.yml's preflight under --skip-tags bootstrap,argocd -e @playbooks/vars/without_cluster.yml."""
    rc, result = check(tree(tmp_path), tmp_path, flags=("--skip-tags", "bootstrap,argocd"),
                       verify_ingress=False, verify_direct_url="http://127.0.0.1:18080")
    assert rc == 0 and result["broken"] == [], result.get("msg")
    skipped = {link(line): line for line in result["not_followed"]}
    assert "verify_ingress is false" in skipped["ingress"] and "verify_direct_url is set" in skipped["port-forward"]
    assert all("no cluster in this run" in skipped[name] for name in ("image", "gitops-repo", "argocd-app"))
    assert {link(line) for line in result["followed"]} == {"monitoring", "tls", "probes"}


def test_strict_fails_when_a_link_is_not_followed(tmp_path):
    rc, result = check(ROOT, tmp_path, wiring_strict=True)
    assert rc != 0 and result["broken"] == []
    assert result["msg"].startswith("wiring: 6 of 9 links followed") and "strict" in result["msg"]


# Each shared value changed once, in its one home (roles/kindling_defaults/defaults/main.yml), in one copied tree:
# every consumer the check renders (kind config, hosts.toml, Argo CD objects, overlay, verify's URLs) must follow,
# so every link is still followed and whole, and the new values show in what was followed.
HOME = "roles/kindling_defaults/defaults/main.yml"
HOME_EDITS = [(HOME, "app_name: app1", "app_name: shop"), (HOME, "gitops_branch: main", "gitops_branch: release"),
              (HOME, 'gitops_app_dir: "apps/{{ app_name }}"', 'gitops_app_dir: "deploy/{{ app_name }}"'),
              (HOME, "kind_cluster_http_port: 8080", "kind_cluster_http_port: 18080"),
              (HOME, "local_registry_host_port: 5001", "local_registry_host_port: 5111"),
              (HOME, "local_registry_name: kind-registry", "local_registry_name: shop-registry"),
              (HOME, "git_server_name: kindling-git", "git_server_name: shop-git")]


def test_each_shared_value_changed_in_its_one_home_moves_every_consumer(charts, tmp_path):
    rc, result = check(tree(tmp_path, HOME_EDITS), tmp_path, "qa", charts=charts, wiring_strict=True)
    assert rc == 0 and result["broken"] == [], result.get("msg")
    assert {link(line) for line in result["followed"]} == set(LINKS)
    followed = "\n".join(result["followed"])
    for value in ("shop-qa", "shop.qa.localhost", "release", "deploy/shop/overlays/qa", "18080", "localhost:5111",
                  "shop-registry", "git://shop-git/"):
        assert value in followed, (value, followed)
