# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: digest
short_description: Test whether a value is an image digest
version_added: 0.1.0
description:
  - True for C(sha256:) and 64 or C(sha512:) and 128 lower-case hex digits, false otherwise.
author:
  - kindling.gitops maintainers (@kindling)
options:
  _input:
    description: The value to test.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Refuse a digest to promote that is not one
  ansible.builtin.assert:
    that: promote_digest is kindling.gitops.digest
"""

RETURN = r"""
_value:
  description: Whether the value follows the rule.
  type: bool
"""

from ansible_collections.kindling.gitops.plugins.module_utils import rules


class TestModule(object):
    def tests(self):
        return {"digest": rules.is_digest}
