#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kustomize_validate
short_description: Render a kustomize directory and validate every object offline
version_added: 0.1.0
description:
  - Renders a kustomize directory with C(kubectl kustomize) and validates every rendered object offline, without a cluster.
  - Built-in kinds are validated against the Kubernetes JSON schemas of O(kubernetes_version) (unknown fields are errors),
    custom resources against the C(openAPIV3Schema) of their CRD from O(crd_paths).
  - "Also finds what no schema can: a listed resource, patch or generator file that is missing (following bases),
    an C(images) entry that matches no container (kustomize then silently keeps the old image),
    a Service whose selector matches no pod template, a workload whose selector does not match its template."
  - Fails when a finding is an error; warnings (a custom resource without a CRD) are returned.
author:
  - kindling.gitops maintainers (@kindling)
extends_documentation_fragment:
  - kindling.gitops.kustomize_validation
options:
  path:
    description: A directory with a C(kustomization.yaml).
    type: path
    required: true
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Writes nothing, so there is no diff.
  idempotent:
    support: full
    description: Never changes anything.
seealso:
  - module: kindling.gitops.kustomize_overlay
"""

EXAMPLES = r"""
- name: Validate the prod overlay against the cluster's Kubernetes and CRDs
  kindling.gitops.kustomize_validate:
    path: "{{ kindling_work_dir }}/gitops/apps/app1/overlays/prod"
    kubernetes_version: "{{ kubernetes_version }}"
    crd_paths:
      - /opt/crds/monitoring.coreos.com
      - /opt/crds/cert-manager.io
  register: overlay_check

- name: Show the warnings
  ansible.builtin.debug:
    var: overlay_check.findings
"""

RETURN = r"""
objects:
  description: apiVersion, kind, name and namespace of every rendered object.
  returned: always
  type: list
  elements: dict
  sample: [{api_version: v1, kind: Service, name: app1, namespace: app1-dev}]
findings:
  description: Each problem found, with C(severity) (C(error) or C(warning)), C(check), C(message) and C(object) or C(source).
  returned: always
  type: list
  elements: dict
  sample: [{severity: error, check: service-selector, object: "Service app1-dev/app1", message: "selector app=app2 matches no pod template"}]
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kindling.gitops.plugins.module_utils import kustomize_validate as validation
from ansible_collections.kindling.gitops.plugins.module_utils.kustomize_module import (
    VALIDATION_ARGS, validation_options)


def main():
    argument_spec = dict(path=dict(type="path", required=True))
    argument_spec.update(VALIDATION_ARGS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    path = module.params["path"]
    if not os.path.isdir(path):
        module.fail_json(msg="path: %s is not a directory" % path, field="path")
    try:
        objects, findings = validation.validate_directory(path, **validation_options(module))
    except validation.ValidationSetupError as error:
        module.fail_json(msg=str(error))
    result = dict(changed=False, objects=validation.summarize(objects), findings=findings)
    if validation.has_errors(findings):
        module.fail_json(msg="%s does not validate: %s" % (path, validation.error_summary(findings)), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
