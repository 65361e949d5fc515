"""kindling.gitops.kustomize_validate on fixtures: real `kubectl kustomize`, Kubernetes schemas, CRDs from ../shared."""
import shutil

import pytest

from gitops_support import FIXTURES, run_module
from support.shared_values import KUBERNETES_VERSION

pytestmark = pytest.mark.fast


def validate(name, tmp_path, **extra):
    # A copy, so the fixtures stay as written whatever the module does.
    path = tmp_path / name
    shutil.copytree(FIXTURES / name, path)
    return run_module("kustomize_validate", {"path": str(path), "kubernetes_version": KUBERNETES_VERSION, **extra})


def checks(result, severity="error"):
    return [(item["check"], item["message"]) for item in result["findings"] if item["severity"] == severity]


def test_a_correct_kustomization_validates(tmp_path):
    result = validate("good", tmp_path)
    assert not result.get("failed"), result
    assert [(o["kind"], o["name"], o["namespace"]) for o in result["objects"]] == [
        ("Service", "web", "fixtures"), ("Deployment", "web", "fixtures")]
    assert result["findings"] == []


def test_an_images_entry_that_matches_no_container_is_an_error(tmp_path):
    result = validate("unmatched-image", tmp_path)
    assert result["failed"], result
    found = checks(result)
    assert [check for check, _message in found] == ["image-unmatched"], found
    assert "'webapp'" in found[0][1] and "web" in found[0][1]


def test_a_service_selector_that_matches_no_pod_template_is_an_error(tmp_path):
    result = validate("selector-mismatch", tmp_path)
    assert result["failed"], result
    assert checks(result) == [("service-selector", "selector app=website matches no pod template in the rendered objects")]
    assert result["findings"][0]["object"] == "Service web"


def test_a_listed_resource_file_that_is_missing_is_an_error(tmp_path):
    result = validate("missing-file", tmp_path)
    assert result["failed"], result
    found = checks(result)
    assert len(found) == 1 and found[0][0] == "missing-file" and "service.yaml" in found[0][1], found


def test_an_unknown_field_in_a_builtin_kind_is_an_error(tmp_path):
    result = validate("schema-error", tmp_path)
    assert result["failed"], result
    found = checks(result)
    assert found and found[0][0] == "schema" and "'replica' was unexpected" in found[0][1], found


def test_a_custom_resource_without_its_crd_is_only_a_warning(tmp_path):
    result = validate("crd-error", tmp_path)
    assert not result.get("failed"), result
    assert [check for check, _message in checks(result, "warning")] == ["schema"]


def test_a_custom_resource_is_validated_against_its_crd(tmp_path, reference_dir):
    result = validate("crd-error", tmp_path, crd_paths=[str(reference_dir / "crds" / "monitoring.coreos.com")])
    assert result["failed"], result
    found = checks(result)
    assert {check for check, _message in found} == {"schema"}, found
    assert any("'endpoint' was unexpected" in message for _check, message in found), found


def test_a_directory_without_kustomization_fails_naming_path(tmp_path):
    result = run_module("kustomize_validate", {"path": str(tmp_path / "nowhere")})
    assert result["failed"] and result["msg"].startswith("path:"), result
