# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: ready_pod_names
short_description: The names of the Ready pods that are not terminating
version_added: 0.2.0
description:
  - Pods with a C(metadata.deletionTimestamp) are terminating (the old ReplicaSet's, right after a rollout) and left out.
author:
  - kindling.gitops maintainers (@kindling)
options:
  _input:
    description: Pods as P(kubernetes.core.k8s_info#module) returns them (its C(resources)).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Check each Ready pod directly
  ansible.builtin.debug:
    msg: "{{ item }}"
  loop: "{{ verify_pod_list.resources | default([]) | kindling.gitops.ready_pod_names }}"
"""

RETURN = r"""
_value:
  description: The pod names, in the order of the input.
  type: list
"""

from ansible_collections.kindling.gitops.plugins.module_utils import verify_checks


def ready_pod_names(pods):
    return verify_checks.ready_pod_names(pods)


class FilterModule(object):
    def filters(self):
        return {"ready_pod_names": ready_pod_names}
