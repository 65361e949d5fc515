"""The preview role for real, for what its molecule scenario does not do (molecule/preview runs a passing preview
from a pushed image, pulled by podman by digest, verified on loopback, torn down, and a re-run changes nothing):
a broken deploy fails with the precise message and is torn down, a kept preview stays only when it passed,
check mode starts nothing, a missing overlay is named. The app image is the session's (conftest `app_image`),
pushed to the session's registry; podman pulls it from there."""
import json
import subprocess
import uuid

import pytest

from doubles.ansible_run import ROOT, playbook_env, run_playbook
from verify_support import VERSION, forget_in_podman

pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("test_preview_role")]

BASE_DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app1
spec:
  replicas: 1
  selector:
    matchLabels: {app.kubernetes.io/name: app1}
  template:
    metadata:
      labels: {app.kubernetes.io/name: app1}
    spec:
      securityContext: {runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001}
      containers:
        - name: app1
          image: app1
          ports:
            - {name: http, containerPort: 8080}
            - {name: metrics, containerPort: 9090}
          envFrom:
            - configMapRef: {name: app1-config}
          securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true}
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
      volumes:
        - name: tmp
          emptyDir: {medium: Memory, sizeLimit: 16Mi}
"""
BASE_OTHERS = """\
apiVersion: v1
kind: Service
metadata:
  name: app1
spec:
  selector: {app.kubernetes.io/name: app1}
  ports:
    - {name: http, port: 8080, targetPort: http}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app1
spec:
  rules:
    - host: app1.dev.localhost
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: app1, port: {name: http}}}}
"""


@pytest.fixture(scope="module")
def pushed_image(app_image, shared_registry):
    """The session's app1 image pushed to a repository of this module's own; yields (registry, image ref by digest)."""
    repository = f"kindling-test/preview-{uuid.uuid4().hex[:8]}"
    tag = f"{shared_registry.host}/{repository}:{VERSION}"
    subprocess.run(["docker", "tag", app_image["tag"], tag], check=True)
    try:
        push = subprocess.run(["docker", "push", tag], capture_output=True, text=True, timeout=300)
        assert push.returncode == 0, push.stderr
        reference = f"{shared_registry.host}/{repository}@{shared_registry.digest(repository, VERSION)}"
        forget_in_podman(reference)  # so podman can only get it by pulling from this registry
        yield shared_registry, reference
        forget_in_podman(reference)
    finally:
        subprocess.run(["docker", "image", "rm", tag], capture_output=True)


def write_overlay(tmp_path, image_ref, app_version=None):
    base, overlay = tmp_path / "gitops" / "base", tmp_path / "gitops" / "overlays" / "dev"
    base.mkdir(parents=True)
    overlay.mkdir(parents=True)
    (base / "deployment.yaml").write_text(BASE_DEPLOYMENT)
    (base / "others.yaml").write_text(BASE_OTHERS)
    (base / "kustomization.yaml").write_text("resources: [deployment.yaml, others.yaml]\n")
    name, digest = image_ref.split("@")
    literals = ["ENVIRONMENT=dev", "LOG_LEVEL=WARNING"] + ([f"APP_VERSION={app_version}"] if app_version else [])
    (overlay / "kustomization.yaml").write_text(json.dumps({
        "namespace": "app1-dev", "resources": ["../../base"],
        "images": [{"name": "app1", "newName": name, "digest": digest}],
        "configMapGenerator": [{"name": "app1-config", "literals": literals}],
        "generatorOptions": {"disableNameSuffixHash": True},
    }))
    return overlay


def pods(prefix):
    out = subprocess.run(["podman", "pod", "ps", "--format", "{{.Name}}"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line.startswith(prefix)]


@pytest.fixture
def preview_name(podman):
    name = f"kpreview-{uuid.uuid4().hex[:8]}"
    yield name
    # podman kube play names the pod after the Deployment with a suffix (-pod-0): remove whatever carries the name.
    for pod in pods(name):
        subprocess.run(["podman", "pod", "rm", "-f", pod], capture_output=True)


def run_preview(tmp_path, overlay, name, *args, **extra):
    host_vars = {"ansible_connection": "local", "kindling_env": "dev", "app_name": "app1",
                 "preview_overlay_path": str(overlay), "preview_name": name,
                 "preview_version_file": str(ROOT / "app" / "VERSION"), "preview_deadline": 60}
    host_vars.update(extra)
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": {"localhost": host_vars}}}))
    playbook = tmp_path / "preview.yml"
    playbook.write_text("- name: Preview\n  hosts: localhost\n  gather_facts: false\n  roles:\n    - role: preview\n"
                        "  post_tasks:\n    - name: Show kindling_preview\n      ansible.builtin.debug:\n"
                        "        var: kindling_preview\n")
    return run_playbook(playbook, playbook_env(tmp_path, fakes=False), *args, inventory=inventory, timeout=600)


def test_broken_deploy_fails_with_the_precise_message_and_is_torn_down(tmp_path, pushed_image, preview_name):
    registry, image_ref = pushed_image
    overlay = write_overlay(tmp_path, image_ref, app_version="0.0.9-misconfigured")
    result = run_preview(tmp_path, overlay, preview_name)
    assert result.rc != 0
    name, failure = result.failure()
    assert name.endswith("Fail when the preview did not pass")
    assert failure["msg"] == (f"preview of app1 dev failed: /: version 0.0.9-misconfigured != expected {VERSION}; "
                              f'metrics: missing app_build_info{{version="{VERSION}"}}')
    assert pods(preview_name) == []


def test_kept_preview_stays_only_when_it_passed(tmp_path, pushed_image, preview_name):
    """preview_keep_running (playbooks/vars/without_cluster.yml) keeps a passed preview for verify; a failed
    one is torn down, so a broken app never keeps answering on loopback after a failed run."""
    registry, image_ref = pushed_image
    (tmp_path / "broken").mkdir()
    (tmp_path / "passed").mkdir()
    broken = run_preview(tmp_path, write_overlay(tmp_path / "broken", image_ref, app_version="0.0.9-misconfigured"),
                         preview_name, preview_keep_running=True)
    assert broken.rc != 0 and broken.failure()[0].endswith("Fail when the preview did not pass")
    assert pods(preview_name) == [], "a failed preview must not stay up"
    passed = run_preview(tmp_path, write_overlay(tmp_path / "passed", image_ref), preview_name, preview_keep_running=True)
    assert passed.rc == 0, passed.failure()
    assert pods(preview_name), "a passed preview is kept for verify"


def test_check_mode_renders_but_starts_nothing(tmp_path, pushed_image, preview_name):
    registry, image_ref = pushed_image
    overlay = write_overlay(tmp_path, image_ref)
    result = run_preview(tmp_path, overlay, preview_name, "--check")
    assert result.rc == 0, result.failure()
    assert result.result("Render the overlay")["rc"] == 0
    assert result.result("Run, verify and tear down the preview").get("skipped") is True
    assert pods(preview_name) == []


def test_missing_overlay_fails_naming_the_variable(tmp_path, podman, preview_name):
    result = run_preview(tmp_path, tmp_path / "nope", preview_name)
    name, failure = result.failure()
    assert failure["msg"].startswith("preview_overlay_path: ")
    assert pods(preview_name) == []
