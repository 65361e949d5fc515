# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: pod_checks
short_description: Check records of the app's pods, readiness and restarts
version_added: 0.2.0
description:
  - Two records, C(pods ready) and C(pod restarts), each with C(name), C(via=kubernetes), C(ok), C(detail) and C(latency_ms=null).
  - Pods with a C(metadata.deletionTimestamp) are terminating and not counted.
author:
  - kindling.gitops maintainers (@kindling)
options:
  _input:
    description: Pods as P(kubernetes.core.k8s_info#module) returns them (its C(resources)).
    type: list
    elements: dict
    required: true
  replicas:
    description: How many Ready pods the app wants.
    type: int
    required: true
  max_restarts:
    description: The most container restarts a pod may have.
    type: int
    required: true
  selector:
    description: The label selector the pods were read with, named when no pod matches.
    type: str
    required: true
  namespace:
    description: The namespace the pods were read in, named when no pod matches.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Judge pod readiness and restarts
  ansible.builtin.set_fact:
    pod_check_records: "{{ verify_pod_list.resources | default([]) | kindling.gitops.pod_checks(2, 0, 'app=web', 'web-dev') }}"
"""

RETURN = r"""
_value:
  description: The two check records.
  type: list
"""

from ansible_collections.kindling.gitops.plugins.module_utils import verify_checks


def pod_checks(pods, replicas, max_restarts, selector, namespace):
    return verify_checks.pod_checks(pods, replicas, max_restarts, selector, namespace)


class FilterModule(object):
    def filters(self):
        return {"pod_checks": pod_checks}
