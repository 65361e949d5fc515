# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: image_repository
short_description: Test whether a value is an image repository path (no registry, tag or digest)
version_added: 0.1.0
description:
  - True for lower-case path components joined by C(/) (distribution/reference remoteName), at most 255 characters, false otherwise.
author:
  - kindling.gitops maintainers (@kindling)
options:
  _input:
    description: The value to test.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Refuse a repository Docker would refuse
  ansible.builtin.assert:
    that: image_repository is kindling.gitops.image_repository
"""

RETURN = r"""
_value:
  description: Whether the value follows the rule.
  type: bool
"""

from ansible_collections.kindling.gitops.plugins.module_utils import rules


class TestModule(object):
    def tests(self):
        return {"image_repository": rules.is_image_repository}
