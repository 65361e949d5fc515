"""Validation of custom resources against the CRDs in the reference data's crds/, through the project's own
validator (kindling.gitops module_utils kustomize_validate), loaded from its file so no Ansible is needed."""
import importlib.util

from doubles.ansible_run import ROOT
from support.shared_values import KUBERNETES_VERSION

_PATH = ROOT / "collections/ansible_collections/kindling/gitops/plugins/module_utils/kustomize_validate.py"
_spec = importlib.util.spec_from_file_location("kindling_kustomize_validate", _PATH)
kustomize_validate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kustomize_validate)

SERVER_FIELDS = ("resourceVersion", "uid", "creationTimestamp", "generation")


def as_submitted(obj):
    """The object without what the API server adds, i.e. what the role sent."""
    clean = {k: v for k, v in obj.items() if k != "status"}
    clean["metadata"] = {k: v for k, v in obj["metadata"].items() if k not in SERVER_FIELDS}
    return clean


def crd_errors(obj, reference_dir):
    schemas = kustomize_validate.load_crd_schemas([str(reference_dir / "crds")])
    assert (obj["apiVersion"], obj["kind"]) in schemas, f"no CRD for {obj['apiVersion']} {obj['kind']}"
    return [f["message"] for f in kustomize_validate.schema_findings(as_submitted(obj), KUBERNETES_VERSION, schemas)]
