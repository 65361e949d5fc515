# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The validation options kustomize_overlay and kustomize_validate share (doc fragment kustomize_validation)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

VALIDATION_ARGS = dict(
    kubectl_path=dict(type="str", default="kubectl"),
    kubernetes_version=dict(type="str"),
    crd_paths=dict(type="list", elements="path", default=[]),
)


def validation_options(module):
    """Keyword arguments for kustomize_validate.validate_directory from the module's options."""
    if not module.params["kubernetes_version"]:
        module.fail_json(msg="kubernetes_version is required to validate: the Kubernetes version (X.Y or X.Y.Z) whose "
                             "schemas the objects are validated against", field="kubernetes_version")
    kubectl = module.params["kubectl_path"]
    if "/" not in kubectl:
        kubectl = module.get_bin_path(kubectl, required=True)
    return dict(kubectl=kubectl, kubernetes_version=module.params["kubernetes_version"],
                crd_paths=module.params["crd_paths"])
