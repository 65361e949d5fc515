# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kindling.gitops.plugins.module_utils import kustomize_validate as validation


def deployment(labels=None, image="localhost:5001/app1:1.0.0@sha256:" + "a" * 64, selector=None):
    labels = labels or {"app": "app1"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app1", "namespace": "ns"},
            "spec": {"selector": {"matchLabels": selector or labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "app1", "image": image}]}}}}


def service(selector):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "app1", "namespace": "ns"},
            "spec": {"selector": selector, "ports": [{"port": 80}]}}


def test_images_entries_must_match_a_rendered_container():
    objects = [deployment()]
    applied = {"name": "app1", "newName": "localhost:5001/app1", "newTag": "1.0.0", "digest": "sha256:" + "a" * 64}
    assert validation.image_findings([applied], objects) == []
    [finding] = validation.image_findings([dict(applied, name="app2", newName="localhost:5001/app2")], objects)
    assert finding["check"] == "image-unmatched" and "'app2'" in finding["message"]
    assert validation.image_findings([dict(applied, digest="sha256:" + "b" * 64)], objects)


def test_service_selector_must_match_a_pod_template_in_its_namespace():
    assert validation.selector_findings([deployment(), service({"app": "app1"})]) == []
    [finding] = validation.selector_findings([deployment(), service({"app": "app1", "tier": "web"})])
    assert finding["check"] == "service-selector" and finding["object"] == "Service ns/app1"
    other_namespace = deployment()
    other_namespace["metadata"]["namespace"] = "elsewhere"
    assert validation.selector_findings([other_namespace, service({"app": "app1"})])


def test_workload_selector_must_match_its_template():
    [finding] = validation.selector_findings([deployment(selector={"app": "other"})])
    assert finding["check"] == "workload-selector"


def test_missing_files_follow_bases(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    (base / "kustomization.yaml").write_text("resources: [deployment.yaml]\n")
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        "resources: [../base, https://example.invalid/remote.yaml]\npatches:\n  - path: gone.yaml\n")
    messages = sorted(f["message"] for f in validation.missing_files(str(overlay)))
    assert len(messages) == 2
    assert "patches[0].path entry 'gone.yaml'" in messages[0] and "resources entry 'deployment.yaml'" in messages[1]


def test_crd_schemas_become_strict(tmp_path):
    (tmp_path / "crd.yaml").write_text("""
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
spec:
  group: example.com
  names: {kind: Widget}
  versions:
    - name: v1
      served: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: {type: integer}
                extra: {type: object, x-kubernetes-preserve-unknown-fields: true}
""")
    schemas = validation.load_crd_schemas([str(tmp_path)])
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
              "spec": {"size": 1, "extra": {"anything": True}}}
    assert schemas.strict(("example.com/v1", "Widget"))["properties"]["spec"]["additionalProperties"] is False
    assert validation.schema_findings(widget, "1.36", schemas) == []
    widget["spec"]["colour"] = "red"
    [finding] = validation.schema_findings(widget, "1.36", schemas)
    assert "'colour' was unexpected" in finding["message"]
    unknown = dict(widget, kind="Gadget")
    assert validation.schema_findings(unknown, "1.36", schemas)[0]["severity"] == "warning"


def with_resources(resources):
    obj = deployment()
    obj["spec"]["template"]["spec"]["containers"][0]["resources"] = resources
    return obj


def test_resource_quantities_kubernetes_parses_pass():
    good = {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": 1, "memory": "1.5Gi"}}
    assert validation.resource_findings([with_resources(good)]) == []


def test_resource_quantities_kubernetes_refuses_fail_naming_the_field():
    findings = validation.resource_findings([with_resources({"requests": {"cpu": "100x"},
                                                             "limits": {"memory": "12Qi"}})])
    assert [f["check"] for f in findings] == ["resources"]
    assert findings[0]["object"] == "Deployment ns/app1"
    assert findings[0]["message"].startswith("spec.template.spec.containers[0].resources.requests.cpu: '100x'")
    [limits] = validation.resource_findings([with_resources({"limits": {"memory": "12Qi"}})])
    assert limits["message"].startswith("spec.template.spec.containers[0].resources.limits.memory: '12Qi'")
