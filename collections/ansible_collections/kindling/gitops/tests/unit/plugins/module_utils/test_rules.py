# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.kindling.gitops.plugins.module_utils import rules


@pytest.mark.parametrize("value", ["app1-dev", "a", "a" * 63, "0abc"])
def test_dns_labels_kubernetes_accepts(value):
    assert rules.check_dns_label("namespace", value) == value


@pytest.mark.parametrize("value", ["App1", "app_1", "-app", "app-", "a" * 64, "", None, "app.dev"])
def test_dns_labels_kubernetes_rejects_name_the_field(value):
    with pytest.raises(rules.InputError) as error:
        rules.check_dns_label("namespace", value)
    assert error.value.field == "namespace" and str(error.value).startswith("namespace: ")


@pytest.mark.parametrize("labels", [{"app.kubernetes.io/name": "app1"}, {"tier": ""}, {"a": "A_b.c-1"}])
def test_labels_accepted(labels):
    assert rules.check_labels("labels", labels) == labels


@pytest.mark.parametrize("labels", [{"tier": "front end"}, {"Bad_Prefix.io/x": "1"}, {"/x": "1"}, {"x": "-a"},
                                    {"k" * 64: "v"}, {"tier": "v" * 64}])
def test_labels_rejected(labels):
    with pytest.raises(rules.InputError) as error:
        rules.check_labels("labels", labels)
    assert error.value.field.startswith("labels")


@pytest.mark.parametrize("ref, parts", [
    ("localhost:5001/app1:1.0.0@sha256:" + "a" * 64, ("localhost:5001/app1", "1.0.0", "sha256:" + "a" * 64)),
    ("app1", ("app1", None, None)),
    ("ghcr.io/org/app1:v2", ("ghcr.io/org/app1", "v2", None)),
    ("localhost:5001/app1@sha256:" + "b" * 64, ("localhost:5001/app1", None, "sha256:" + "b" * 64)),
])
def test_image_references_split(ref, parts):
    assert rules.split_image_ref("image", ref) == parts


@pytest.mark.parametrize("ref", ["App1:1", "app1:-x", "app1@sha256:abc", "app1@md5:" + "a" * 32, "", "a//b", "app1:"])
def test_malformed_image_references_rejected(ref):
    with pytest.raises(rules.InputError):
        rules.split_image_ref("image", ref)


@pytest.mark.parametrize("count, ok", [(0, True), (3, True), (-1, False), (True, False), ("2", False)])
def test_replica_counts(count, ok):
    if ok:
        assert rules.check_replica_count("replicas", count) == count
    else:
        with pytest.raises(rules.InputError):
            rules.check_replica_count("replicas", count)


def test_config_literals_become_strings_and_keys_are_checked():
    assert rules.check_config_literals("c", {"PORT": 8080, "DEBUG": True, "EMPTY": None}) == {
        "PORT": "8080", "DEBUG": "true", "EMPTY": ""}
    with pytest.raises(rules.InputError):
        rules.check_config_literals("c", {"BAD KEY": "x"})
    with pytest.raises(rules.InputError):
        rules.check_config_literals("c", {"NESTED": {"a": 1}})


# Built from the grammar in k8s.io/apimachinery pkg/api/resource/quantity.go (the Quantity doc comment) as
# parseQuantityString scans it, and suffix.go's suffixes: each accepted value parses there, each refused one
# returns ErrFormatWrong or ErrSuffix.
@pytest.mark.parametrize("value", ["100m", "0", "1", "0.5", "1.5Gi", "64Mi", "2Ki", "1e3", "1E3", "5e-3", "1E",
                                   "1.", ".5", "+1", "3n", "7u", "1k", "1M", "2G", "1T", "1P", "1Ei", 2, 0.25, " 1Gi "])
def test_quantities_kubernetes_parses(value):
    assert rules.is_quantity(value) and rules.check_quantity("cpu", value) == value


@pytest.mark.parametrize("value", ["100x", "12Qi", "", "1.2.3", "1ee3", "1mi", "1K", "1Ki3", "1e", "-3.01e-", ".5i",
                                   "1 Gi", "1,5", True, None, [], {}])
def test_quantities_kubernetes_refuses(value):
    assert not rules.is_quantity(value)
    with pytest.raises(rules.InputError) as error:
        rules.check_quantity("resources.limits.cpu", value)
    assert error.value.field == "resources.limits.cpu"


def test_negative_quantities_parse_but_are_refused_as_resources():
    assert rules.is_quantity("-1")
    with pytest.raises(rules.InputError, match="negative"):
        rules.check_quantity("cpu", "-1")


@pytest.mark.parametrize("resources, field", [
    ({"requests": {"cpu": "100x"}}, "r.requests.cpu"),
    ({"limits": {"memory": "12Qi"}}, "r.limits.memory"),
    ({"limit": {"cpu": "1"}}, "r"),
    ({"requests": "1"}, "r.requests"),
    ({"requests": {"bad key!": "1"}}, "r.requests"),
])
def test_resources_name_the_field(resources, field):
    with pytest.raises(rules.InputError) as error:
        rules.check_resources("r", resources)
    assert error.value.field == field


def test_resources_accepted():
    resources = {"requests": {"cpu": "50m", "memory": "64Mi", "nvidia.com/gpu": 1}, "limits": {"memory": "128Mi"}}
    assert rules.check_resources("r", resources) == resources


# One rule for every commit SHA (see rules.py): 7-40 lower-case hex, as Argo CD compares revisions.
@pytest.mark.parametrize("value, ok", [("a" * 40, True), ("1234abc", True), ("a" * 7, True), ("a" * 6, False),
                                       ("a" * 41, False), ("a" * 64, False), ("A" * 40, False), ("main", False),
                                       ("g" * 40, False), (None, False), ("", False)])
def test_commit_sha(value, ok):
    assert rules.is_commit_sha(value) is ok


@pytest.mark.parametrize("value, ok", [("localhost:5001", True), ("registry.example.com", True), ("[::1]:5000", True),
                                       ("http://x", False), ("a_b.com", False), ("host/path", False)])
def test_registry_host(value, ok):
    assert bool(rules.REGISTRY_HOST.match(value)) is ok


def test_ipv6_registry_in_an_image_name():
    assert rules.split_image_ref("image", "[::1]:5000/app1:1") == ("[::1]:5000/app1", "1", None)
