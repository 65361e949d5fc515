# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: verify_report
short_description: The verification report, every check record tagged with how it was reached and the failures in words
version_added: 0.2.0
description:
  - Each source's C(checks) are tagged with its C(via); a source that refused its options (a C(msg), not skipped) is a failed C(options) check.
  - When no check ran (all were skipped or none was asked for), the report fails saying nothing was checked.
author:
  - kindling.gitops maintainers (@kindling)
options:
  _input:
    description: The pods' check records (see P(kindling.gitops.pod_checks#filter)).
    type: list
    elements: dict
    required: true
  sources:
    description: C([via, result]) pairs, each result a registered P(kindling.gitops.app_verify#module) result.
    type: list
    elements: list
    required: true
  identity:
    description: Fields the report starts with (app, environment, namespace, expected version).
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Build the report
  ansible.builtin.set_fact:
    report: "{{ pod_check_records | kindling.gitops.verify_report([['direct', direct_result]], {'app': 'web'}) }}"
"""

RETURN = r"""
_value:
  description: The identity fields with C(ok), C(failed) (lines) and C(checks) (records).
  type: dict
"""

from ansible_collections.kindling.gitops.plugins.module_utils import verify_checks


def verify_report(pod_check_records, sources, identity=None):
    return dict(identity or {}, **verify_checks.verify_report(pod_check_records, sources))


class FilterModule(object):
    def filters(self):
        return {"verify_report": verify_report}
