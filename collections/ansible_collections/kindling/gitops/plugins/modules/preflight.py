#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The work is done by the action plugin of the same name (plugins/action/preflight.py); this file documents it.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: preflight
short_description: Check every variable, binary and URL the selected stages use, before the first change
version_added: 0.2.0
description:
  - Reads, on the controller, the argument specs of the stages a play runs (O(stages)) and of the playbooks
    (O(playbook_specs)), and checks every variable they declare that is set (inventory, extra vars, the shared
    defaults), its type and choices as the role's own validate_argument_spec would, then the limits in
    O(formats) that a spec cannot express (Kubernetes' int32 counts, RFC 1123 names, label syntax,
    quantities, URLs, paths inside the repository, branch names).
  - Warns about every extra variable (C(-e)) that no role or playbook declares, naming the closest one
    that is declared (a typo is otherwise silently ignored).
  - Decides which rows of O(tools) the run needs (their stage is in the play and Ansible's own tag selection
    runs a task with their tags), and looks for those binaries on the build host with
    M(kindling.gitops.tool_versions). A missing binary, a kubectl outside the version skew of the node image's
    Kubernetes, or a Docker engine that does not answer is a problem.
  - Checks that Argo CD in the cluster can read the GitOps repository the pipeline pushes to (O(repository)).
  - Fails with every problem, one line each, each starting with the variable or tool at fault.
author:
  - kindling.gitops maintainers (@kindling)
options:
  stages:
    description: The stages the play runs, as C({role, entry}) pairs (C(entry) defaults to C(main)).
    type: list
    elements: dict
    required: true
  roles_dir:
    description: The directory of the project's roles, on the controller.
    type: path
    required: true
  playbook_specs:
    description:
      - More argument specs to check against, as C(path#entry) (the playbooks' own, the shared values').
        Their C(required) options must be set.
    type: list
    elements: path
    default: []
  formats:
    description: Maps a variable to a named check (see module_utils/preflight.py FORMATS).
    type: dict
    default: {}
  tools:
    description:
      - Rows of C({tool, binary, stage, roles, tags, when}); C(roles) are C(role/entry) stages, C(when) a key of
        O(conditions).
    type: list
    elements: dict
    default: []
  hints:
    description: How to install each tool, by tool name.
    type: dict
    default: {}
  conditions:
    description: Named booleans the rows of O(tools) refer to with C(when).
    type: dict
    default: {}
  kubernetes_version:
    description: The Kubernetes version (X.Y.Z) kubectl must be within one minor version of.
    type: str
    required: true
  repository:
    description:
      - C({argocd_repo_url, gitops_repo_url, kind, git_server_enabled, git_server_url, roles, tags}); checked when
        one of C(roles) is a stage of the play and the run's tags select a task tagged C(tags).
    type: dict
attributes:
  action:
    support: full
    description: The checks run on the controller; only the binaries are looked for on the build host.
  async:
    support: none
    description: Runs synchronously.
  bypass_host_loop:
    support: none
    description: Runs for each host.
  check_mode:
    support: full
    description: Runs the same in check mode; it changes nothing.
  diff_mode:
    support: none
    description: Nothing to diff; it changes nothing.
  idempotent:
    support: full
    description: Never reports a change.
  platform:
    support: full
    platforms: posix
    description: The build host is a POSIX machine.
'''

EXAMPLES = r'''
- name: Check the deploy stages
  kindling.gitops.preflight:
    stages: [{role: gitops, entry: render}, {role: gitops, entry: publish}]
    roles_dir: "{{ playbook_dir }}/../roles"
    kubernetes_version: "{{ kubernetes_version }}"
'''

RETURN = r'''
binaries:
  description: The binaries the selected stages will use, where the build host has them.
  returned: success
  type: list
  elements: str
stages:
  description: The stages checked, as role/entry.
  returned: always
  type: list
  elements: str
'''
