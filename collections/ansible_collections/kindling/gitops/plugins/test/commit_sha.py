# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: commit_sha
short_description: Test whether a value is a git commit SHA as Argo CD compares it
version_added: 0.1.0
description:
  - True for 7 to 40 lower-case hex digits (an abbreviated or full SHA-1), false otherwise. Argo CD compares
    revisions as SHA-1 (argo-cd util/git IsCommitSHA, IsTruncatedCommitSHA); see module_utils/rules.py.
author:
  - kindling.gitops maintainers (@kindling)
options:
  _input:
    description: The value to test.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Refuse a rollback target that is not a commit
  ansible.builtin.assert:
    that: rollback_target is kindling.gitops.commit_sha
"""

RETURN = r"""
_value:
  description: Whether the value follows the rule.
  type: bool
"""

from ansible_collections.kindling.gitops.plugins.module_utils import rules


class TestModule(object):
    def tests(self):
        return {"commit_sha": rules.is_commit_sha}
