# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: dns_label
short_description: Test whether a value is an RFC 1123 label (a namespace name)
version_added: 0.1.0
description:
  - True for at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit
    (k8s.io/apimachinery IsDNS1123Label), false otherwise.
author:
  - kindling.gitops maintainers (@kindling)
options:
  _input:
    description: The value to test.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Refuse a namespace Kubernetes would refuse
  ansible.builtin.assert:
    that: app_namespace is kindling.gitops.dns_label
"""

RETURN = r"""
_value:
  description: Whether the value follows the rule.
  type: bool
"""

from ansible_collections.kindling.gitops.plugins.module_utils import rules


class TestModule(object):
    def tests(self):
        return {"dns_label": rules.is_dns_label}
