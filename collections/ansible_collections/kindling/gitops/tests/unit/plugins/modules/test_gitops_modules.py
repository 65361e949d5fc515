# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""gitops_commit, kustomize_overlay and kustomize_validate as modules: exit_json/fail_json patched to raise."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.kindling.gitops.plugins.modules import gitops_commit, kustomize_overlay, kustomize_validate
from ansible_collections.kindling.gitops.tests.unit.plugins.modules.harness import ModuleFail, run_module as run


# Any version kubernetes-validate has schemas for; the project passes its node image's (kindling_defaults).
KUBERNETES_VERSION = "1.36"


def git(*args, cwd):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@localhost", *args], cwd=cwd, check=True,
                   capture_output=True)


@pytest.fixture
def clone(tmp_path):
    git("init", "-q", "--bare", "-b", "main", str(tmp_path / "remote.git"), cwd=tmp_path)
    git("clone", "-q", str(tmp_path / "remote.git"), "work", cwd=tmp_path)
    work = tmp_path / "work"
    git("checkout", "-q", "-b", "main", cwd=work)
    (work / "apps").mkdir()
    (work / "apps" / "a.yaml").write_text("a: 1\n")
    return work


def test_gitops_commit_commits_once(clone):
    first = run(gitops_commit, {"repo_path": str(clone), "paths": ["apps"], "commit_message": "app1 dev: deploy 1.0.0"})
    assert first["changed"] and first["pushed"] and first["previous_commit"] is None
    second = run(gitops_commit, {"repo_path": str(clone), "paths": ["apps"], "commit_message": "app1 dev: deploy 1.0.0"})
    assert not second["changed"] and second["commit"] == first["commit"]


def test_gitops_commit_check_mode_returns_the_patch(clone):
    result = run(gitops_commit, {"repo_path": str(clone), "paths": ["apps"], "commit_message": "m",
                                 "_ansible_check_mode": True, "_ansible_diff": True})
    assert result["changed"] and "+a: 1" in result["diff"]["prepared"] and result["commit"] is None


@pytest.mark.parametrize("args, field", [
    ({"max_attempts": 0}, "max_attempts"),
    ({"commit_message": "  "}, "commit_message"),
    ({"revert": "zzz"}, "revert"),
    ({"repo_path": "/nonexistent/clone"}, "repo_path"),
])
def test_gitops_commit_bad_input(clone, args, field):
    options = {"repo_path": str(clone), "paths": ["apps"], "commit_message": "m"}
    options.update(args)
    result = run(gitops_commit, options, ModuleFail)
    assert result["msg"].startswith(field + ":")


@pytest.mark.parametrize("remote", ["https://kindling:s3cr3t-t0ken@git.example.com/gitops.git",
                                    "https://s3cr3t-t0ken@git.example.com/gitops.git"])
def test_gitops_commit_never_echoes_credentials_in_a_remote(clone, capsys, remote):
    """The real fail_json (not the harness's): msg and the echoed invocation both go through it."""
    with patch_module_args({"repo_path": str(clone), "paths": ["apps"], "commit_message": "m", "remote": remote}):
        with pytest.raises(SystemExit):
            gitops_commit.main()
    output = capsys.readouterr().out
    result = json.loads(output)
    assert result["failed"] and result["msg"].startswith("remote:")
    assert "s3cr3t-t0ken" not in output
    assert "git.example.com" in result["msg"]


@pytest.mark.parametrize("option, message", [
    ({"images": [{"name": "app1"}]}, "one of the following is required: new_name, tag, digest found in images"),
    ({"patches": [{"path": "p.yaml", "patch": "a: b"}]}, "parameters are mutually exclusive: path|patch found in patches"),
    ({"patches": [{"target": {"kind": "Deployment"}}]}, "one of the following is required: path, patch found in patches"),
    ({"patches": [{"patch": "a: b", "target": {"kinds": "Deployment"}}]}, "Unsupported parameters"),
])
def test_kustomize_overlay_argument_spec_refuses_what_it_can(tmp_path, option, message):
    result = run(kustomize_overlay, dict({"path": str(tmp_path / "o")}, **option), ModuleFail)
    assert message in result["msg"] and not (tmp_path / "o").exists()


@pytest.mark.parametrize("namespace", ["Not_Valid", ""])
def test_kustomize_overlay_bad_namespace_writes_nothing(tmp_path, namespace):
    result = run(kustomize_overlay, {"path": str(tmp_path / "o"), "namespace": namespace}, ModuleFail)
    assert result["field"] == "namespace" and not (tmp_path / "o").exists()


def test_kustomize_overlay_writes_then_reports_no_change(tmp_path):
    args = {"path": str(tmp_path / "o"), "namespace": "app1-dev", "replicas": [{"name": "app1", "count": 1}]}
    assert run(kustomize_overlay, args)["changed"]
    assert not run(kustomize_overlay, args)["changed"]


def test_kustomize_validate_needs_a_directory(tmp_path):
    result = run(kustomize_validate, {"path": str(tmp_path / "missing")}, ModuleFail)
    assert result["field"] == "path"


def test_kustomize_validate_needs_the_kubernetes_version(tmp_path):
    """The caller's (the project's node image's): the module keeps no version of its own to fall back on."""
    (tmp_path / "kustomization.yaml").write_text("resources: []\n")
    result = run(kustomize_validate, {"path": str(tmp_path)}, ModuleFail)
    assert result["field"] == "kubernetes_version"


BASE_DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: app1
spec:
  selector:
    matchLabels: {app: app1}
  template:
    metadata:
      labels: {app: app1}
    spec:
      containers:
        - name: app1
          image: localhost:5001/app1:1.0.0
"""


@pytest.mark.parametrize("resources, field", [
    ({"requests": {"cpu": "100x"}}, "resources.requests.cpu: '100x'"),
    ({"limits": {"memory": "12Qi"}}, "resources.limits.memory: '12Qi'"),
])
def test_kustomize_overlay_bad_quantity_fails_before_writing(tmp_path, resources, field):
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl (with kustomize) is not on PATH; requirements.txt installs it into .venv/bin")
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "deployment.yaml").write_text(BASE_DEPLOYMENT)
    (tmp_path / "base" / "kustomization.yaml").write_text("resources: [deployment.yaml]\n")
    patch = json.dumps({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app1"},
                        "spec": {"template": {"spec": {"containers": [{"name": "app1", "resources": resources}]}}}})
    args = {"path": str(tmp_path / "overlay"), "namespace": "app1-dev", "resources": ["../base"],
            "patches": [{"patch": patch}], "validate": True, "kubernetes_version": KUBERNETES_VERSION}
    result = run(kustomize_overlay, args, ModuleFail)
    assert "spec.template.spec.containers[0]." + field in result["msg"]
    assert not (tmp_path / "overlay").exists()


def test_kustomize_overlay_writes_the_base_validated_in_check_mode_before_anything_exists(tmp_path):
    """A machine that never ran it: check mode validates the overlay against the base it plans, writes nothing."""
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl (with kustomize) is not on PATH; requirements.txt installs it into .venv/bin")
    args = {"path": str(tmp_path / "app" / "overlays" / "dev"), "namespace": "app1-dev", "resources": ["../../base"],
            "base": {"path": str(tmp_path / "app" / "base"), "name": "app1"},
            "pod_disruption_budget": {"name": "app1", "max_unavailable": 1},
            "replicas": [{"name": "app1", "count": 2}], "validate": True, "kubernetes_version": KUBERNETES_VERSION}
    planned = run(kustomize_overlay, dict(args, _ansible_check_mode=True))
    assert planned["changed"] and not (tmp_path / "app").exists()
    kinds = sorted(obj["kind"] for obj in planned["objects"])
    assert kinds == ["ConfigMap", "Deployment", "PodDisruptionBudget", "PrometheusRule", "Service", "ServiceMonitor"]
    written = run(kustomize_overlay, args)
    assert sorted(written["base_files"]) == sorted(["kustomization.yaml", "deployment.yaml", "service.yaml",
                                                    "servicemonitor.yaml", "prometheusrule.yaml"])
    assert written["files"] == ["kustomization.yaml", "pdb.yaml"]
    assert not run(kustomize_overlay, args)["changed"]
    one_replica = dict(args, replicas=[{"name": "app1", "count": 1}])
    del one_replica["pod_disruption_budget"]
    assert "pdb.yaml" in run(kustomize_overlay, one_replica)["files"]
    assert not (tmp_path / "app" / "overlays" / "dev" / "pdb.yaml").exists()


def test_kustomize_overlay_bad_base_name_writes_nothing(tmp_path):
    args = {"path": str(tmp_path / "o"), "base": {"path": str(tmp_path / "b"), "name": "App_1"}}
    result = run(kustomize_overlay, args, ModuleFail)
    assert result["field"] == "base.name" and not (tmp_path / "o").exists() and not (tmp_path / "b").exists()
