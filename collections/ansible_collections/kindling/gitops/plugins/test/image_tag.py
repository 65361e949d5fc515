# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: image_tag
short_description: Test whether a value is an image tag
version_added: 0.1.0
description:
  - True for up to 128 letters, digits, C(_), C(.) and C(-), not starting with C(.) or C(-) (distribution/reference tag), false otherwise.
author:
  - kindling.gitops maintainers (@kindling)
options:
  _input:
    description: The value to test.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Refuse a tag Docker would refuse
  ansible.builtin.assert:
    that: image_tag is kindling.gitops.image_tag
"""

RETURN = r"""
_value:
  description: Whether the value follows the rule.
  type: bool
"""

from ansible_collections.kindling.gitops.plugins.module_utils import rules


class TestModule(object):
    def tests(self):
        return {"image_tag": rules.is_image_tag}
