# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: hand_edits
short_description: The last commits of the pipeline's files that someone else made
version_added: 0.2.0
description:
  - Reads lines C(FILE<TAB>COMMIT<TAB>EMAIL<TAB>AUTHOR<TAB>SUBJECT) and keeps those whose EMAIL is not the pipeline's; other lines are ignored.
author:
  - kindling.gitops maintainers (@kindling)
options:
  _input:
    description: The lines, for example a registered command's C(stdout_lines).
    type: list
    elements: str
    required: true
  pipeline_email:
    description: The pipeline's commit author email.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Name the hand edits
  ansible.builtin.debug:
    msg: "{{ last_commits.stdout_lines | kindling.gitops.hand_edits('kindling@localhost') }}"
"""

RETURN = r"""
_value:
  description: Dicts with C(file), C(commit), C(email), C(author), C(subject).
  type: list
"""


def hand_edits(lines, pipeline_email):
    edits = []
    for line in lines or []:
        field = line.split("\t", 4)
        if len(field) == 5 and field[2] != pipeline_email:
            edits.append(dict(zip(("file", "commit", "email", "author", "subject"), field)))
    return edits


class FilterModule(object):
    def filters(self):
        return {"hand_edits": hand_edits}
