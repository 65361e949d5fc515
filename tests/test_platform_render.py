"""Every platform release as helm really installs it: the real helm v3.19.0 renders the packaged pinned charts
(the reference data's helm-charts/) offline, for the releases and merged values the platform role computes
(roles/platform/tasks/releases.yml and release.yml's own expressions, run by Ansible with each inventory's
variables), for every env x ingress provider x cluster flavor x cluster provider. Every object is validated
against the Kubernetes schemas and the CRDs, and semantic checks follow what the role means."""
import subprocess

import pytest
import yaml

import platform_render as pr
from support.shared_values import CLUSTER_ISSUER, KUBERNETES_VERSION, VERSIONS

# Its session- and module-scoped fixtures are made once, on one worker.
pytestmark = pytest.mark.xdist_group("test_platform_render")

COMBOS = [(env, combo) for env in pr.ENVS for combo in pr.COMBOS]
IDS = [f"{env}-{pr.combo_id(combo)}" for env, combo in COMBOS]
KIND_INGRESS = [(env, combo) for env, combo in COMBOS if combo[0] == "kind" and combo[1] == "kubernetes"]


@pytest.fixture(scope="session")
def chart_dir(reference_dir):
    path = reference_dir / "helm-charts"
    if not (path / "README.md").is_file():
        pytest.skip(f"packaged charts not found at {path}: they ship with CI, not with the project")
    if not pr.REAL_HELM.is_file():
        pytest.skip(f"no real helm at {pr.REAL_HELM} (scripts/setup installs it)")
    version = subprocess.run([str(pr.REAL_HELM), "version", "--short"], capture_output=True, text=True).stdout
    if not version.startswith("v3.19."):
        pytest.skip(f"{pr.REAL_HELM} is {version.strip()}, the charts are pinned for helm v3.19")
    return path


@pytest.fixture(scope="session")
def inputs(chart_dir, tmp_path_factory):
    return pr.role_inputs(tmp_path_factory.mktemp("platform-inputs"))


@pytest.fixture(scope="session")
def renders(chart_dir, render_cache):
    return pr.Renders(chart_dir, KUBERNETES_VERSION, render_cache)


@pytest.fixture(scope="session")
def schemas_cache():
    return {}


def rendered_combo(inputs, renders, env, combo):
    entry = inputs[env]["combos"][pr.combo_id(combo)]
    return entry, {r["name"]: renders.render(r) for r in entry["releases"]}


@pytest.fixture(scope="session")
def overlays(env_overlay):
    """The app's overlay per env, rendered by the real gitops role and kustomize (conftest `env_overlay`)."""
    return lambda env: env_overlay(env)["objects"]


@pytest.mark.parametrize("env", pr.ENVS)
def test_the_charts_render_for_the_node_image_s_kubernetes(inputs, env):
    """kindling_defaults derives kubernetes_version from the pinned node image; the wiring check renders for it."""
    assert inputs[env]["kubernetes_version"] == KUBERNETES_VERSION
    assert f":v{KUBERNETES_VERSION}@" in VERSIONS["kind_node_image"]


@pytest.mark.parametrize("env", pr.ENVS)
def test_the_role_s_values_are_what_release_yml_passes(inputs, env):
    """releases.yml's platform_release_values (which the wiring check uses) == release.yml's own expression."""
    for combo_name, entry in inputs[env]["combos"].items():
        assert entry["releases"], combo_name
        assert {r["name"]: r["values"] for r in entry["releases"]} == entry["role_values"], combo_name
        names = [r["name"] for r in entry["releases"]]
        assert ("openshift" in combo_name) == (not {"traefik", "ingress-nginx"} & set(names)), names


@pytest.mark.parametrize(("env", "combo"), COMBOS, ids=IDS)
def test_every_release_renders_and_validates(inputs, renders, reference_dir, schemas_cache, env, combo):
    entry, rendered = rendered_combo(inputs, renders, env, combo)
    for name, objects in rendered.items():
        print(f"{env} {pr.combo_id(combo)}: release {name}: {len(objects)} objects")
    key = tuple(sorted(pr.render_key(r, renders.kube) for r in entry["releases"]))
    if key not in schemas_cache:
        schemas = pr.crd_schemas(rendered, reference_dir / "crds")
        schemas_cache[key] = pr.validation_errors(rendered, schemas, ".".join(renders.kube.split(".")[:2]))
    assert schemas_cache[key] == []
    assert all(len(objects) > 0 for objects in rendered.values())


def test_full_renders_are_deduplicated(inputs, renders):
    distinct = {pr.render_key(r, renders.kube) for env in pr.ENVS for entry in inputs[env]["combos"].values()
                for r in entry["releases"]}
    for env in pr.ENVS:
        for combo in pr.COMBOS:
            rendered_combo(inputs, renders, env, combo)
    print(f"{renders.count} renders for {len(distinct)} distinct (release, values) of "
          f"{sum(len(e['releases']) for env in pr.ENVS for e in inputs[env]['combos'].values())} releases")
    assert renders.count == len(distinct) < 20


@pytest.mark.parametrize(("env", "combo"), KIND_INGRESS, ids=[f"{e}-{pr.combo_id(c)}" for e, c in KIND_INGRESS])
def test_ingress_controller_binds_the_ports_kind_maps_on_the_ingress_node(inputs, renders, env, combo):
    entry, rendered = rendered_combo(inputs, renders, env, combo)
    kind_config = yaml.safe_load(entry["kind_config"])
    assert {m["containerPort"] for n in kind_config["nodes"] for m in n.get("extraPortMappings", [])} == {80, 443}
    assert pr.binds_kind_ports(rendered[combo[2]], combo[2], kind_config) == []


INGRESS = [(env, combo) for env, combo in COMBOS if combo[1] == "kubernetes"]


@pytest.mark.parametrize(("env", "combo"), INGRESS, ids=[f"{e}-{pr.combo_id(c)}" for e, c in INGRESS])
def test_ingress_controller_sets_ingress_status(inputs, renders, env, combo):
    _entry, rendered = rendered_combo(inputs, renders, env, combo)
    assert pr.sets_ingress_status(rendered[combo[2]], combo[2], combo[0] == "kind") == []


@pytest.mark.parametrize(("env", "combo"), COMBOS, ids=IDS)
def test_argocd_runs_insecure_with_the_settings_the_role_means(inputs, renders, env, combo):
    entry, rendered = rendered_combo(inputs, renders, env, combo)
    values = next(r["values"] for r in entry["releases"] if r["name"] == "argo-cd")
    assert pr.argocd_settings(rendered["argo-cd"], values, inputs[env]["argocd_server_host"]) == []


@pytest.mark.parametrize(("env", "combo"), COMBOS, ids=IDS)
def test_cert_manager_webhook_is_ready_before_the_issuers(inputs, renders, env, combo):
    entry, rendered = rendered_combo(inputs, renders, env, combo)
    names = [r["name"] for r in entry["releases"]]
    assert names[0] == "cert-manager", names
    assert pr.webhook_ready_before_issuers(rendered["cert-manager"]) == []


@pytest.mark.parametrize("env", pr.ENVS)
def test_prometheus_selects_the_app_s_servicemonitor_and_rule(inputs, renders, overlays, env):
    combo = ("kind", "kubernetes", "traefik")
    _entry, rendered = rendered_combo(inputs, renders, env, combo)
    report = pr.wiring.Report()
    pr.wiring.check_monitoring(report, {"monitoring_release": "kube-prometheus-stack"}, overlays(env), rendered)
    assert report.broken == []
    assert any("serviceMonitorSelector" in line for line in report.followed), report.followed
    assert any("ruleSelector" in line for line in report.followed), report.followed


def grafana_container(objects, name):
    [deployment] = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"].endswith("-grafana")]
    [container] = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == name]
    return container


@pytest.mark.parametrize(("env", "combo"), COMBOS, ids=IDS)
def test_grafana_loads_the_app_s_dashboard_on_prometheus_with_the_generated_admin_secret(inputs, renders, overlays,
                                                                                          env, combo):
    """The real chart with the role's values, and the env's real overlay: Grafana's sidecar loads the overlay's
    dashboard ConfigMap and its datasource is the rendered Prometheus Service (the wiring check's link (g)); the
    admin credentials come from the Secret the role generates, never from a value; Grafana has a host of its own
    behind the ingress with a certificate from the platform's CA, and nobody views it anonymously."""
    entry, rendered = rendered_combo(inputs, renders, env, combo)
    report = pr.wiring.Report()
    pr.wiring.check_dashboard(report, {"monitoring_release": "kube-prometheus-stack"}, overlays(env), rendered)
    assert report.broken == [] and report.not_followed == [], report.as_dict()
    assert [line for line in report.followed if "sidecar" in line], report.followed
    assert [line for line in report.followed if "datasource prometheus -> Service" in line], report.followed

    values = next(r["values"] for r in entry["releases"] if r["name"] == "kube-prometheus-stack")["grafana"]
    objects = rendered["kube-prometheus-stack"]
    assert "adminPassword" not in values
    env_of = {e["name"]: e for e in grafana_container(objects, "grafana")["env"]}
    for variable, key in (("GF_SECURITY_ADMIN_USER", "userKey"), ("GF_SECURITY_ADMIN_PASSWORD", "passwordKey")):
        assert env_of[variable]["valueFrom"]["secretKeyRef"] == {"name": values["admin"]["existingSecret"],
                                                                 "key": values["admin"][key]}, env_of[variable]
    chart_secrets = [o["metadata"]["name"] for o in objects if o["kind"] == "Secret"
                     and "admin-password" in (o.get("data") or {}) | (o.get("stringData") or {})]
    assert chart_secrets == [], f"the chart renders an admin password of its own: {chart_secrets}"

    ingresses = [o for o in objects if o["kind"] == "Ingress" and o["metadata"]["name"].endswith("-grafana")]
    host = entry["grafana_host"]
    assert host == "grafana.localhost", "the inventories give Grafana a host of its own"
    [ingress] = ingresses
    assert [rule["host"] for rule in ingress["spec"]["rules"]] == [host]
    assert ingress["spec"]["tls"] == [{"hosts": [host], "secretName": "grafana-tls"}]
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"] == CLUSTER_ISSUER
    assert "ingressClassName" not in ingress["spec"], "the cluster's default IngressClass serves it"
    assert values["grafana.ini"]["auth.anonymous"] == {"enabled": False}


@pytest.mark.parametrize(("env", "combo"), COMBOS, ids=IDS)
def test_no_two_releases_render_the_same_object(inputs, renders, env, combo):
    entry, rendered = rendered_combo(inputs, renders, env, combo)
    assert pr.duplicates(rendered, {r["name"]: r["namespace"] for r in entry["releases"]}) == []


# --- the checks catch what main had before 519caba: no Ingress status on kind, no reconciliation timeout, -----
# --- another url host (tests/fixtures/platform-values-before-519caba) ----------------------------------------

VALUE_FILES = {"before": pr.ROOT / "tests" / "fixtures" / "platform-values-before-519caba",
               "now": pr.ROOT / "roles" / "platform" / "files" / "values"}


def values_at(when, release):
    """The release's merged values with the value files of `when` (same files, same merge)."""
    merged = {}
    for name in release["value_files"]:
        merged = pr.deep_merge(merged, yaml.safe_load((VALUE_FILES[when] / name).read_text()) or {})
    return merged


def release_of(inputs, name, combo):
    entry = inputs["dev"]["combos"][pr.combo_id(combo)]
    return next(r for r in entry["releases"] if r["name"] == name)


@pytest.mark.parametrize("commit, fails", [("before", True), ("now", False)], ids=["before-519caba", "now"])
def test_semantic_checks_fail_on_the_values_before_519caba(inputs, renders, commit, fails):
    problems = {}
    for combo in (("kind", "kubernetes", "traefik"), ("existing", "kubernetes", "traefik")):
        release = release_of(inputs, "traefik", combo)
        objects = renders.render(dict(release, values=values_at(commit, release)))
        problems[f"traefik {combo[0]} status"] = pr.sets_ingress_status(objects, "traefik", combo[0] == "kind")
    release = release_of(inputs, "argo-cd", ("kind", "kubernetes", "traefik"))
    values = values_at(commit, release)
    argocd = pr.argocd_settings(renders.render(dict(release, values=values)), values, inputs["dev"]["argocd_server_host"])
    problems["argocd timeout.reconciliation"] = [p for p in argocd if "timeout.reconciliation" in p]
    problems["argocd url host"] = [p for p in argocd if "url" in p]
    print(problems)
    if fails:
        assert problems["traefik kind status"], "kind: no Ingress status, not caught"
        assert all(problems.values()), {k: v for k, v in problems.items() if not v}
    else:
        assert not any(problems.values()), problems


def test_the_fake_helm_delegates_template_and_show_to_the_real_helm(chart_dir, renders, tmp_path):
    """tests/doubles/bin/helm: `template` and `show` with --repo/--version answer from the real helm on the
    packaged chart, exactly what the real helm renders from it; a version not packaged is refused as upstream does."""
    fake = pr.ROOT / "tests" / "doubles" / "bin" / "helm"
    env = dict(__import__("os").environ, FAKE_HELM_CHARTS=str(chart_dir), FAKE_HELM_STATE=str(tmp_path / "state.json"))
    pin = yaml.safe_load((pr.ROOT / "versions.yml").read_text())["kindling_versions"]["charts"]["traefik"]
    shown = subprocess.run([str(fake), "show", "chart", "traefik", f"--repo={pin['repo_url']}", f"--version={pin['version']}"],
                           capture_output=True, text=True, env=env)
    real = subprocess.run([str(pr.REAL_HELM), "show", "chart", str(chart_dir / f"traefik-{pin['version']}.tgz")],
                          capture_output=True, text=True)
    assert shown.returncode == 0 and shown.stdout == real.stdout and "annotations:" in real.stdout
    values = tmp_path / "values.yaml"
    values.write_text("ports:\n  web:\n    hostPort: 80\n")
    template = subprocess.run([str(fake), "template", "traefik", "traefik", f"--repo={pin['repo_url']}",
                               f"--version={pin['version']}", "--namespace=traefik", f"--kube-version={renders.kube}",
                               "--include-crds", f"--values={values}"], capture_output=True, text=True, env=env)
    expected = pr.wiring.render_release({"name": "traefik", "namespace": "traefik", "chart": "traefik",
                                         "version": pin["version"], "repo_url": pin["repo_url"],
                                         "values": {"ports": {"web": {"hostPort": 80}}}},
                                        str(pr.REAL_HELM), renders.kube, str(chart_dir))
    assert template.returncode == 0, template.stderr
    assert [d for d in yaml.safe_load_all(template.stdout) if d] == expected
    missing = subprocess.run([str(fake), "show", "chart", "traefik", f"--repo={pin['repo_url']}", "--version=0.0.1"],
                             capture_output=True, text=True, env=env)
    assert missing.returncode == 1 and 'version "0.0.1" not found' in missing.stderr
