# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: quantity
short_description: Test whether a value is a Kubernetes resource quantity
version_added: 0.1.0
description:
  - True for what k8s.io/apimachinery's resource.ParseQuantity accepts (C(100m), C(64Mi), C(1.5), C(1e3), or a number),
    false for anything else (C(100x), C(12Qi), C(1 Gi), an empty string). The one rule is module_utils/rules.py's, the
    same kindling.gitops.kustomize_overlay and kustomize_validate apply.
author:
  - kindling.gitops maintainers (@kindling)
options:
  _input:
    description: The value to test.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Refuse a limit the API server would refuse
  ansible.builtin.assert:
    that: gitops_resources.limits.cpu is kindling.gitops.quantity
    fail_msg: "gitops_resources.limits.cpu: {{ gitops_resources.limits.cpu }} is not a Kubernetes quantity"
"""

RETURN = r"""
_value:
  description: Whether the value follows the rule.
  type: bool
"""

from ansible_collections.kindling.gitops.plugins.module_utils import rules


class TestModule(object):
    def tests(self):
        return {"quantity": rules.is_quantity}
