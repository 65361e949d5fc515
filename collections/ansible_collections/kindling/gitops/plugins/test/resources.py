# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: resources
short_description: Test whether a value is a valid container resources mapping (requests and limits)
version_added: 0.1.0
description:
  - True for a C(ResourceRequirements) mapping whose C(requests) and C(limits) map resource names to
    non-negative quantities (see P(kindling.gitops.quantity#test)); false otherwise.
author:
  - kindling.gitops maintainers (@kindling)
options:
  _input:
    description: The value to test.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Check the container resources of this environment
  ansible.builtin.assert:
    that: gitops_resources is kindling.gitops.resources
    fail_msg: "gitops_resources: {{ gitops_resources }}"
"""

RETURN = r"""
_value:
  description: Whether the value follows the rule.
  type: bool
"""

from ansible_collections.kindling.gitops.plugins.module_utils import rules


class TestModule(object):
    def tests(self):
        return {"resources": rules.is_resources}
