# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: registry_host
short_description: Test whether a value is an image registry (host and optional port)
version_added: 0.1.0
description:
  - True for a domain name or a bracketed IPv6 address with an optional port (distribution/reference domainAndPort), false otherwise.
author:
  - kindling.gitops maintainers (@kindling)
options:
  _input:
    description: The value to test.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Refuse a registry with a scheme or a path
  ansible.builtin.assert:
    that: image_registry is kindling.gitops.registry_host
"""

RETURN = r"""
_value:
  description: Whether the value follows the rule.
  type: bool
"""

from ansible_collections.kindling.gitops.plugins.module_utils import rules


class TestModule(object):
    def tests(self):
        return {"registry_host": rules.is_registry_host}
