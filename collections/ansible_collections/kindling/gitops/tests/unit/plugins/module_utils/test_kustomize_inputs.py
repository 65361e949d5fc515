# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.kindling.gitops.plugins.module_utils import kustomize_inputs as inputs


@pytest.mark.parametrize("value", ["app1-dev", "a", "a" * 63, "0abc"])
def test_dns_labels_kubernetes_accepts(value):
    assert inputs.check_dns_label("namespace", value) == value


@pytest.mark.parametrize("value", ["App1", "app_1", "-app", "app-", "a" * 64, "", None, "app.dev"])
def test_dns_labels_kubernetes_rejects_name_the_field(value):
    with pytest.raises(inputs.InputError) as error:
        inputs.check_dns_label("namespace", value)
    assert error.value.field == "namespace" and str(error.value).startswith("namespace: ")


@pytest.mark.parametrize("labels", [{"app.kubernetes.io/name": "app1"}, {"tier": ""}, {"a": "A_b.c-1"}])
def test_labels_accepted(labels):
    assert inputs.check_labels("labels", labels) == labels


@pytest.mark.parametrize("labels", [{"tier": "front end"}, {"Bad_Prefix.io/x": "1"}, {"/x": "1"}, {"x": "-a"},
                                    {"k" * 64: "v"}, {"tier": "v" * 64}])
def test_labels_rejected(labels):
    with pytest.raises(inputs.InputError) as error:
        inputs.check_labels("labels", labels)
    assert error.value.field.startswith("labels")


@pytest.mark.parametrize("ref, parts", [
    ("localhost:5001/app1:1.0.0@sha256:" + "a" * 64, ("localhost:5001/app1", "1.0.0", "sha256:" + "a" * 64)),
    ("app1", ("app1", None, None)),
    ("ghcr.io/org/app1:v2", ("ghcr.io/org/app1", "v2", None)),
    ("localhost:5001/app1@sha256:" + "b" * 64, ("localhost:5001/app1", None, "sha256:" + "b" * 64)),
])
def test_image_references_split(ref, parts):
    assert inputs.split_image_ref("image", ref) == parts


@pytest.mark.parametrize("ref", ["App1:1", "app1:-x", "app1@sha256:abc", "app1@md5:" + "a" * 32, "", "a//b", "app1:"])
def test_malformed_image_references_rejected(ref):
    with pytest.raises(inputs.InputError):
        inputs.split_image_ref("image", ref)


@pytest.mark.parametrize("count, ok", [(0, True), (3, True), (-1, False), (True, False), ("2", False)])
def test_replica_counts(count, ok):
    if ok:
        assert inputs.check_replica_count("replicas", count) == count
    else:
        with pytest.raises(inputs.InputError):
            inputs.check_replica_count("replicas", count)


def test_config_literals_become_strings_and_keys_are_checked():
    assert inputs.check_config_literals("c", {"PORT": 8080, "DEBUG": True, "EMPTY": None}) == {
        "PORT": "8080", "DEBUG": "true", "EMPTY": ""}
    with pytest.raises(inputs.InputError):
        inputs.check_config_literals("c", {"BAD KEY": "x"})
    with pytest.raises(inputs.InputError):
        inputs.check_config_literals("c", {"NESTED": {"a": 1}})
