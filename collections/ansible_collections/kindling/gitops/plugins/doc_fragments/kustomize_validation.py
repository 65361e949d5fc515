# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Options of the offline kustomize validation shared by kustomize_overlay and kustomize_validate.
    DOCUMENTATION = r"""
options:
  kubectl_path:
    description:
      - The C(kubectl) executable used for C(kubectl kustomize). A bare name is looked up on E(PATH).
    type: str
    default: kubectl
  kubernetes_version:
    description:
      - Kubernetes version whose JSON schemas built-in kinds are validated against (strict, unknown fields are errors).
      - The schemas come from the C(kubernetes-validate) Python package; the newest one not newer than this version is used.
      - Required to validate; the project passes its kind node image's (C(kubernetes_version) of roles/kindling_defaults).
    type: str
  crd_paths:
    description:
      - Files or directories with CustomResourceDefinitions; custom resources are validated against their
        C(openAPIV3Schema), and fields the CRD does not declare are errors (the API server would prune them).
      - A custom resource whose CRD is not given is reported as a warning finding, not validated.
    type: list
    elements: path
    default: []
requirements:
  - kubectl with kustomize (C(kubectl kustomize))
  - jsonschema and kubernetes-validate (Python, on the managed node)
"""
