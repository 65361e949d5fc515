# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: failed_check_lines
short_description: Each failed check record in words
version_added: 0.2.0
description:
  - "C(VIA NAME: DETAIL) for each record whose C(ok) is false; without C(VIA) when the record has no C(via)."
author:
  - kindling.gitops maintainers (@kindling)
options:
  _input:
    description: Check records (C(name), C(ok), C(detail), optionally C(via)).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Say what failed
  ansible.builtin.debug:
    msg: "{{ kindling_verify.checks | default([]) | kindling.gitops.failed_check_lines }}"
"""

RETURN = r"""
_value:
  description: One line per failed check, in the order of the input.
  type: list
"""

from ansible_collections.kindling.gitops.plugins.module_utils import verify_checks


def failed_check_lines(checks):
    return verify_checks.failed_check_lines(checks)


class FilterModule(object):
    def filters(self):
        return {"failed_check_lines": failed_check_lines}
