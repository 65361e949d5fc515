"""The Argo CD UI's Ingress/Route points at the Service the pinned argo-cd chart really creates.

The argocd role's server-ingress/server-route templates name `argocd_server_service` as their backend. The
platform role installs the chart as release `argo-cd`; the chart names its objects after
`argo-cd.fullname` (argo-helm, argo-cd chart 10.1.1, templates/_helpers.tpl: the release name, plus
`nameOverride` "argocd" unless the release name contains it), so the name comes from a real `helm template`
of the pinned chart with the role's own values files, not from this test.
"""
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from support.shared_values import KUBERNETES_VERSION

pytestmark = pytest.mark.fast

ROOT = Path(__file__).resolve().parent.parent


def _release_name():
    text = (ROOT / "roles/platform/templates/releases.yml.j2").read_text()
    match = re.search(r"release\('([^']+)', 'argo_cd'", text)
    assert match, "releases.yml.j2 no longer declares the argo_cd release"
    return match.group(1)


def test_argocd_server_service_is_the_charts(reference_dir):
    helm = shutil.which("helm")
    if helm is None:
        pytest.skip("no helm on PATH (scripts/setup installs it into .tools/bin)")
    versions = yaml.safe_load((ROOT / "versions.yml").read_text())
    pin = versions["kindling_versions"]["charts"]["argo_cd"]
    chart = reference_dir / "helm-charts" / "{0}-{1}.tgz".format(pin["chart"], pin["version"])
    if not chart.is_file():
        pytest.skip("pinned chart not found at {0}".format(chart))
    values = ROOT / "roles/platform/files/values"
    rendered = subprocess.run(
        [helm, "template", _release_name(), str(chart), "--namespace", "argocd", "--kube-version", KUBERNETES_VERSION,
         "-f", str(values / "argo-cd.yaml"), "-f", str(values / "argo-cd-kind.yaml")],
        capture_output=True, text=True, check=True).stdout
    services = {doc["metadata"]["name"]: doc for doc in yaml.safe_load_all(rendered)
                if doc and doc.get("kind") == "Service"}
    defaults = yaml.safe_load((ROOT / "roles/argocd/defaults/main.yml").read_text())
    name = defaults["argocd_server_service"]
    assert name in services, "argocd_server_service {0!r} is not a Service of the chart: {1}".format(
        name, sorted(services))
    # server-ingress.yaml.j2 routes to the port named http (plain HTTP: server.insecure).
    assert "http" in [port.get("name") for port in services[name]["spec"]["ports"]]
