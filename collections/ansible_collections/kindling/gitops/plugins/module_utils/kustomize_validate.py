# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline validation of a kustomize directory.

Renders with `kubectl kustomize`, validates every built-in object against the Kubernetes JSON schemas
the kubernetes-validate package ships (strict: unknown fields are errors), every custom resource against
the openAPIV3Schema of its CRD (unknown fields are errors too: the API server would prune them silently),
and runs checks no schema can do: a listed file that is missing, an `images` entry that matches no
container (kustomize then silently leaves the old image), a Service selector that matches no pod
template, a workload selector that does not match its own template, a container resource that is not a
Kubernetes quantity (the schemas type quantities as int-or-string only; the API server parses them).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
import subprocess

from ansible_collections.kindling.gitops.plugins.module_utils import rules

try:
    import yaml
    HAS_YAML = True
    # libyaml's loader parses large CRDs (argo-cd's ApplicationSet is 1.4 MB) about ten times faster.
    _LOADER = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader
except ImportError:
    HAS_YAML = False

try:
    import jsonschema
    HAS_JSONSCHEMA = True
except ImportError:
    HAS_JSONSCHEMA = False

try:
    import kubernetes_validate
    HAS_KUBERNETES_VALIDATE = True
except ImportError:
    HAS_KUBERNETES_VALIDATE = False

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
POD_TEMPLATE_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController")
ERROR = "error"
WARNING = "warning"


class ValidationSetupError(Exception):
    """The validator cannot run (missing kubectl, unreadable CRD file): not a finding about the manifests."""


def finding(severity, check, message, obj=None, source=None):
    result = {"severity": severity, "check": check, "message": message}
    if obj is not None:
        result["object"] = object_id(obj)
    if source is not None:
        result["source"] = source
    return result


def object_id(obj):
    meta = obj.get("metadata") or {}
    name = meta.get("name", "?")
    if meta.get("namespace"):
        name = "%s/%s" % (meta["namespace"], name)
    return "%s %s" % (obj.get("kind", "?"), name)


def find_kustomization(directory):
    for name in KUSTOMIZATION_FILES:
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate):
            return candidate
    return None


def load_kustomization(directory):
    path = find_kustomization(directory)
    if path is None:
        return None, None
    with open(path) as handle:
        data = yaml.safe_load(handle) or {}
    if not isinstance(data, dict):
        raise ValueError("%s is not a YAML mapping" % path)
    return path, data


def _is_remote(entry):
    return "://" in entry or entry.startswith(("github.com/", "git@")) or "?ref=" in entry


def _listed_files(kustomization):
    """(field, entry, relative path) of every local file or directory a kustomization refers to."""
    for field in ("resources", "components", "bases", "crds", "patchesStrategicMerge"):
        for entry in kustomization.get(field) or []:
            if isinstance(entry, str) and "\n" not in entry and not _is_remote(entry):
                yield field, entry, entry
    for index, patch in enumerate(kustomization.get("patches") or []):
        if isinstance(patch, dict) and patch.get("path"):
            yield "patches[%d].path" % index, patch["path"], patch["path"]
    for generator in ("configMapGenerator", "secretGenerator"):
        for index, item in enumerate(kustomization.get(generator) or []):
            for key in ("files", "envs"):
                for entry in (item or {}).get(key) or []:
                    yield "%s[%d].%s" % (generator, index, key), entry, entry.split("=", 1)[-1]


def missing_files(directory, seen=None):
    """Findings for every listed resource, patch or generator file that does not exist, following bases."""
    seen = set() if seen is None else seen
    real = os.path.realpath(directory)
    if real in seen:
        return []
    seen.add(real)
    path, kustomization = load_kustomization(directory)
    if path is None:
        return [finding(ERROR, "missing-file", "no kustomization.yaml in %s" % directory, source=directory)]
    results = []
    for field, entry, relative in _listed_files(kustomization):
        target = os.path.normpath(os.path.join(directory, relative))
        if not os.path.exists(target):
            results.append(finding(ERROR, "missing-file", "%s entry %r: %s does not exist" % (field, entry, target),
                                   source=path))
        elif os.path.isdir(target) and field in ("resources", "components", "bases"):
            results.extend(missing_files(target, seen))
    return results


def kustomize_build(directory, kubectl="kubectl", load_restrictor=None):
    """The objects `kubectl kustomize` renders, or raises RuntimeError with kustomize's own message."""
    command = [kubectl, "kustomize", directory]
    if load_restrictor:
        command += ["--load-restrictor", load_restrictor]
    try:
        process = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as error:
        raise ValidationSetupError("cannot run %s: %s (set kubectl_path)" % (kubectl, error))
    if process.returncode != 0:
        raise RuntimeError((process.stderr or process.stdout).strip())
    return [doc for doc in yaml.load_all(process.stdout, Loader=_LOADER) if doc]


def _strict_crd_schema(schema):
    """A copy of an openAPIV3Schema in which unknown fields are errors, except where the CRD keeps them."""
    schema = copy.deepcopy(schema)

    def tighten(node):
        if not isinstance(node, dict):
            return
        if "properties" in node and "additionalProperties" not in node \
                and not node.get("x-kubernetes-preserve-unknown-fields"):
            node["additionalProperties"] = False
        for key in ("properties", "patternProperties"):
            for child in (node.get(key) or {}).values():
                tighten(child)
        for key in ("items", "additionalProperties", "not"):
            tighten(node.get(key))
        for key in ("allOf", "anyOf", "oneOf"):
            for child in node.get(key) or []:
                tighten(child)

    tighten(schema)
    # A CRD's schema describes metadata loosely; the API server owns it.
    schema.setdefault("properties", {})["metadata"] = {"type": "object"}
    schema["properties"].setdefault("apiVersion", {"type": "string"})
    schema["properties"].setdefault("kind", {"type": "string"})
    return schema


class CrdSchemas(dict):
    """{(apiVersion, kind): openAPIV3Schema}; `strict()` tightens one schema on first use (copying all is slow)."""

    def __init__(self):
        super(CrdSchemas, self).__init__()
        self._strict = {}

    def strict(self, key):
        if key not in self._strict:
            self._strict[key] = _strict_crd_schema(self[key])
        return self._strict[key]


def crd_files(crd_paths):
    """The YAML files under the given files or directories; a path that does not exist is a setup error."""
    files = []
    for path in crd_paths or []:
        if os.path.isdir(path):
            for root, _dirs, names in os.walk(path):
                files.extend(os.path.join(root, name) for name in sorted(names) if name.endswith((".yaml", ".yml")))
        elif os.path.isfile(path):
            files.append(path)
        else:
            raise ValidationSetupError("crd_paths entry %s does not exist" % path)
    return files


def load_crd_schemas(crd_paths, kinds=None):
    """The openAPIV3Schema of every served version of every CRD in the given files or directories.

    With `kinds`, files that mention none of them are not parsed (CRD files run to megabytes).
    """
    schemas = CrdSchemas()
    for filename in crd_files(crd_paths):
        try:
            with open(filename) as handle:
                text = handle.read()
            if kinds is not None and not any(("kind: %s" % kind) in text or ('kind: "%s"' % kind) in text
                                             for kind in kinds):
                continue
            documents = list(yaml.load_all(text, Loader=_LOADER))
        except (OSError, yaml.YAMLError) as error:
            raise ValidationSetupError("cannot read CRD file %s: %s" % (filename, error))
        for doc in documents:
            if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc.get("spec") or {}
            kind = (spec.get("names") or {}).get("kind")
            for version in spec.get("versions") or []:
                schema = (version.get("schema") or {}).get("openAPIV3Schema")
                if kind and schema and version.get("served", True):
                    schemas[("%s/%s" % (spec.get("group"), version.get("name")), kind)] = schema
    return schemas


def _error_path(error):
    return ".".join(str(part) for part in error.absolute_path) or "(root)"


def schema_findings(obj, kubernetes_version, crd_schemas):
    """Validate one object against its built-in schema or its CRD; findings for what does not conform."""
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not api_version or not kind:
        return [finding(ERROR, "schema", "object has no apiVersion or kind", obj)]
    try:
        kubernetes_validate.validate(obj, kubernetes_version, strict=True)
        return []
    except kubernetes_validate.ValidationError as error:
        message = "%s: %s (Kubernetes %s schema)" % (_error_path(error), error.message, error.version)
        return [finding(ERROR, "schema", message, obj)]
    except kubernetes_validate.SchemaNotFoundError:
        pass
    if (api_version, kind) not in crd_schemas:
        return [finding(WARNING, "schema", "no schema for %s %s (not a Kubernetes %s built-in and no CRD in "
                                           "crd_paths): not validated" % (api_version, kind, kubernetes_version), obj)]
    validator = jsonschema.Draft7Validator(crd_schemas.strict((api_version, kind)))
    return [finding(ERROR, "schema", "%s: %s (CRD schema)" % (_error_path(error), error.message), obj)
            for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))]


def _pod_templates(objects):
    """(object, pod template metadata labels, pod spec) for every workload and bare Pod."""
    for obj in objects:
        kind, spec = obj.get("kind"), obj.get("spec") or {}
        if kind == "Pod":
            yield obj, (obj.get("metadata") or {}).get("labels") or {}, spec
        elif kind in POD_TEMPLATE_KINDS:
            template = spec.get("template") or {}
            yield obj, (template.get("metadata") or {}).get("labels") or {}, template.get("spec") or {}
        elif kind == "CronJob":
            template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}
            yield obj, (template.get("metadata") or {}).get("labels") or {}, template.get("spec") or {}


def _container_images(objects):
    images = []
    for _obj, _labels, pod_spec in _pod_templates(objects):
        for key in ("initContainers", "containers", "ephemeralContainers"):
            images.extend(c.get("image", "") for c in pod_spec.get(key) or [])
    return images


def _split_rendered(image):
    rest, _sep, digest = image.partition("@")
    name, tag = rest, None
    if rest.rfind(":") > rest.rfind("/"):
        name, _sep, tag = rest.rpartition(":")
    return name, tag, digest or None


def image_findings(kustomization_images, objects, source=None):
    """An `images` entry that matches no container is never applied, and kustomize says nothing."""
    rendered = [_split_rendered(image) for image in _container_images(objects)]
    results = []
    for entry in kustomization_images or []:
        name = entry.get("newName") or entry.get("name")
        tag, digest = entry.get("newTag"), entry.get("digest")
        applied = any(r_name == name and (digest is None or r_digest == digest) and (tag is None or r_tag == tag)
                      for r_name, r_tag, r_digest in rendered)
        if not applied:
            results.append(finding(ERROR, "image-unmatched",
                                   "images entry %r matches no container image (rendered images: %s), so its "
                                   "tag/digest is never applied" % (entry.get("name"),
                                                                    ", ".join(sorted(set(_container_images(objects))))
                                                                    or "none"), source=source))
    return results


def _pod_spec_path(obj):
    kind = obj.get("kind")
    if kind == "Pod":
        return "spec"
    if kind == "CronJob":
        return "spec.jobTemplate.spec.template.spec"
    return "spec.template.spec"


def resource_findings(objects):
    """Requests and limits the API server would refuse: not a quantity (resource.ParseQuantity), or negative."""
    results = []
    for owner, _labels, pod_spec in _pod_templates(objects):
        for key in ("initContainers", "containers"):
            for index, container in enumerate(pod_spec.get(key) or []):
                field = "%s.%s[%d].resources" % (_pod_spec_path(owner), key, index)
                try:
                    rules.check_resources(field, container.get("resources"))
                except rules.InputError as error:
                    results.append(finding(ERROR, "resources", str(error), owner))
    return results


def _namespace(obj):
    return (obj.get("metadata") or {}).get("namespace") or ""


def selector_findings(objects):
    """A Service that selects no pod template routes nowhere; a workload whose selector misses its template is rejected."""
    results = []
    templates = list(_pod_templates(objects))
    for obj in objects:
        spec = obj.get("spec") or {}
        if obj.get("kind") == "Service" and spec.get("selector") and spec.get("type") != "ExternalName":
            selector = spec["selector"]
            if not any(_namespace(owner) == _namespace(obj) and all(labels.get(k) == v for k, v in selector.items())
                       for owner, labels, _spec in templates):
                results.append(finding(ERROR, "service-selector",
                                       "selector %s matches no pod template in the rendered objects"
                                       % ", ".join("%s=%s" % item for item in sorted(selector.items())), obj))
    for owner, labels, _spec in templates:
        match = ((owner.get("spec") or {}).get("selector") or {})
        match_labels = match.get("matchLabels") if owner.get("kind") != "ReplicationController" else match
        if owner.get("kind") in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet") and match_labels \
                and not all(labels.get(k) == v for k, v in match_labels.items()):
            results.append(finding(ERROR, "workload-selector",
                                   "spec.selector.matchLabels does not match the pod template's labels", owner))
    return results


def validate_directory(directory, kubernetes_version, kubectl="kubectl", crd_paths=None, load_restrictor=None):
    """Render and check a kustomize directory: (objects, findings), built-in kinds against the schemas of
    kubernetes_version (X.Y or X.Y.Z)."""
    if not (HAS_YAML and HAS_JSONSCHEMA and HAS_KUBERNETES_VALIDATE):
        raise ValidationSetupError("the Python packages PyYAML, jsonschema and kubernetes-validate are required "
                                   "on the managed node (pinned in requirements.txt)")
    crd_files(crd_paths)
    try:
        path, kustomization = load_kustomization(directory)
    except (OSError, ValueError, yaml.YAMLError) as error:
        return [], [finding(ERROR, "kustomization", "cannot read the kustomization: %s" % error, source=directory)]
    findings = missing_files(directory)
    if findings:
        return [], findings
    try:
        objects = kustomize_build(directory, kubectl, load_restrictor)
    except RuntimeError as error:
        return [], [finding(ERROR, "render", "kubectl kustomize failed: %s" % error, source=path)]
    crd_schemas = load_crd_schemas(crd_paths, kinds=set(obj.get("kind") for obj in objects))
    for obj in objects:
        findings.extend(schema_findings(obj, kubernetes_version, crd_schemas))
    findings.extend(image_findings(kustomization.get("images"), objects, source=path))
    findings.extend(selector_findings(objects))
    findings.extend(resource_findings(objects))
    return objects, findings


def summarize(objects):
    """apiVersion, kind, namespace and name of each rendered object, as modules return them."""
    return [{"api_version": obj.get("apiVersion"), "kind": obj.get("kind"),
             "name": (obj.get("metadata") or {}).get("name"), "namespace": _namespace(obj) or None}
            for obj in objects]


def has_errors(findings):
    return any(item["severity"] == ERROR for item in findings)


def error_summary(findings):
    """One line naming each error finding's object (or file) and message."""
    return "; ".join("%s: %s" % (item.get("object") or item.get("source", ""), item["message"])
                     for item in findings if item["severity"] == ERROR)
