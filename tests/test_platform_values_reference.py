"""Every values override in roles/platform/files/values against the pinned upstream chart (charts/<chart>/ of
the reference data, tests/conftest.py reference_dir): each key must exist in the chart's values.yaml, and the
merged values must pass values.schema.json where the chart ships one (helm enforces it at install time)."""
import copy
import json

import jsonschema
import pytest
import yaml

from doubles.ansible_run import ROOT
from support.reference import chart_metadata

pytestmark = pytest.mark.fast

VALUES_DIR = ROOT / "roles" / "platform" / "files" / "values"
PINS = yaml.safe_load((ROOT / "versions.yml").read_text())["kindling_versions"]["charts"]
CHARTS = ["argo-cd", "cert-manager", "traefik", "ingress-nginx", "kube-prometheus-stack", "metrics-server"]
# Keys whose children are free-form (reference README note 9): argocd-cm / argocd-cmd-params-cm take any key.
# A nodeSelector is a map of any labels, whatever its default holds.
FREE_FORM = {("argo-cd", "configs.cm"), ("argo-cd", "configs.params"), ("ingress-nginx", "controller.nodeSelector")}
# Sections owned by subcharts whose values are not in the reference (note 4): only the section name is checked.
SUBCHART_SECTIONS = {("kube-prometheus-stack", "grafana"), ("argo-cd", "redis-ha")}
# Keys that upstream documents only in comments of values.yaml (note 9). Each entry says where.
COMMENT_ONLY = {
    # traefik values.yaml: `web:` documents `# hostPort: 8000`; values.schema.json declares ports.*.hostPort.
    ("traefik", "ports.web.hostPort"),
}


def override_files(chart):
    return sorted(p for p in VALUES_DIR.glob(f"{chart}*.yaml")
                  if p.stem == chart or p.stem == f"{chart}-kind")


def unknown_keys(chart, override, upstream, path=""):
    """Dotted paths of override keys absent from upstream, descending only where upstream has structure."""
    missing = []
    for key, value in override.items():
        dotted = f"{path}.{key}" if path else key
        if (chart, dotted) in COMMENT_ONLY:
            continue
        if not isinstance(upstream, dict) or key not in upstream:
            missing.append(dotted)
            continue
        child = upstream[key]
        if (chart, dotted) in FREE_FORM | SUBCHART_SECTIONS:
            continue
        # {} and [] defaults accept arbitrary children (note 9); scalars/None are replaced whole.
        if isinstance(value, dict) and isinstance(child, dict) and child:
            missing.extend(unknown_keys(chart, value, child, dotted))
    return missing


def deep_merge(base, override):
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def test_every_chart_has_a_values_file_and_no_stray_files():
    found = {p.name for p in VALUES_DIR.glob("*.yaml")}
    expected = {f"{c}.yaml" for c in CHARTS}
    assert expected <= found
    assert all(name.replace("-kind.yaml", ".yaml") in expected for name in found), found


@pytest.mark.parametrize("chart", CHARTS)
def test_every_override_key_exists_in_the_pinned_chart(reference_dir, chart):
    upstream = yaml.safe_load((reference_dir / "charts" / chart / "values.yaml").read_text())
    for path in override_files(chart):
        override = yaml.safe_load(path.read_text()) or {}
        assert unknown_keys(chart, override, upstream) == [], f"{path.name}: keys not in {chart} values.yaml"


@pytest.mark.parametrize("chart", ["cert-manager", "traefik"])
@pytest.mark.parametrize("on_kind", [False, True], ids=["existing", "kind"])
def test_merged_values_pass_the_chart_schema(reference_dir, chart, on_kind):
    schema = json.loads((reference_dir / "charts" / chart / "values.schema.json").read_text())
    values = yaml.safe_load((reference_dir / "charts" / chart / "values.yaml").read_text())
    for path in override_files(chart):
        if path.stem.endswith("-kind") and not on_kind:
            continue
        values = deep_merge(values, yaml.safe_load(path.read_text()) or {})
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(values), key=lambda e: list(e.absolute_path))
    assert [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in errors] == []


@pytest.mark.parametrize("chart", CHARTS)
def test_pins_match_the_reference_chart(reference_dir, chart):
    pin = PINS[chart.replace("-", "_")]
    upstream = chart_metadata(reference_dir, chart, pin["version"])
    assert (upstream["name"], str(upstream["version"]), str(upstream["appVersion"])) == (
        pin["chart"], str(pin["version"]), str(pin["app_version"]))


def test_ingress_nginx_kind_values_follow_upstream_kind_provider(reference_dir):
    upstream = yaml.safe_load((reference_dir / "charts" / "ingress-nginx" / "kind-provider-values.yaml").read_text())
    ours = yaml.safe_load((VALUES_DIR / "ingress-nginx-kind.yaml").read_text())["controller"]
    for key in ("hostPort", "publishService", "extraArgs", "watchIngressWithoutClass"):
        assert ours[key] == upstream["controller"][key], key


def test_kube_prometheus_stack_selects_every_monitor():
    spec = yaml.safe_load((VALUES_DIR / "kube-prometheus-stack.yaml").read_text())["prometheus"]["prometheusSpec"]
    for kind in ("serviceMonitor", "podMonitor", "rule", "probe"):
        assert spec[f"{kind}SelectorNilUsesHelmValues"] is False, kind


def test_unknown_key_detection_catches_typos_and_stops_at_free_form_sections():
    upstream = {"a": {"b": 1, "free": {}}, "configs": {"cm": {"x": 1}}}
    assert unknown_keys("argo-cd", {"a": {"c": 1}}, upstream) == ["a.c"]
    assert unknown_keys("argo-cd", {"a": {"free": {"anything": 1}}}, upstream) == []
    assert unknown_keys("argo-cd", {"configs": {"cm": {"new.key": 1}}}, upstream) == []
