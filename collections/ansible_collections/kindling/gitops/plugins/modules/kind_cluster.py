#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: kind_cluster
short_description: Create, keep or delete a kind cluster, with drift detection for creation-time settings
version_added: 0.1.0
description:
  - Creates a kind cluster from a kind C(kind.x-k8s.io/v1alpha4) Cluster config, writes its kubeconfig with mode 0600
    and records the applied config next to it (C(kind-NAME.applied.json)).
  - An existing cluster whose creation-time settings match is left alone. kind cannot change node count or roles,
    images, port mappings, labels, mounts or containerd patches of a running cluster, so a difference in any of
    them fails, naming the fields, unless O(allow_recreate=true) deletes and recreates the cluster.
  - Node count, roles, images and published ports are read from the node containers (C(docker inspect)); the
    other fields from the record, which a cluster created outside this module lacks (a warning says so).
extends_documentation_fragment:
  - kindling.gitops.kind
options:
  state:
    description: Whether the cluster should exist.
    type: str
    choices: [present, absent]
    default: present
  name:
    description: Cluster name (kind prefixes node containers and the kubeconfig context C(kind-NAME) with it).
    type: str
    required: true
  config:
    description:
      - The kind Cluster config as a dict (C(nodes) with C(role), C(labels), C(extraPortMappings), C(extraMounts);
        C(containerdConfigPatches); C(networking)). C(kind), C(apiVersion) and C(name) are filled in.
      - Defaults to one control-plane node.
    type: dict
  node_image:
    description:
      - The kind node image, pinned by digest (C(name:tag@sha256:...)). Required with O(state=present). The project
        passes C(kindling_versions.kind_node_image), the image kind v0.32.0 names.
    type: str
  kubeconfig:
    description:
      - Path of the kubeconfig file for this cluster, written with mode 0600. Use a file of its own
        (it is replaced, not merged).
    type: path
    required: true
  wait:
    description: Seconds kind waits for the control plane to be ready on create.
    type: int
    default: 120
  allow_recreate:
    description: Delete and recreate the cluster when a creation-time setting differs, instead of failing.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Reports what would be created, recreated, deleted or rewritten; runs only read-only kind/docker calls.
  diff_mode:
    support: full
    description: Shows the observed and wanted creation-time settings per node.
  idempotent:
    support: full
    description: A matching cluster and kubeconfig report RV(ignore:changed=false).
notes:
  - Errors from kind or docker are reported as one line (their C(ERROR:) line), not a trace.
author:
  - kindling.gitops maintainers (@kindling)
"""

EXAMPLES = r"""
- name: Create the dev cluster with ingress ports on loopback
  kindling.gitops.kind_cluster:
    name: kindling
    kubeconfig: "{{ kindling_work_dir }}/kubeconfig"
    node_image: "{{ kindling_versions.kind_node_image }}"
    config:
      nodes:
        - role: control-plane
          labels:
            ingress-ready: "true"
          extraPortMappings:
            - {containerPort: 80, hostPort: 8080, listenAddress: 127.0.0.1}

- name: Delete it
  kindling.gitops.kind_cluster:
    name: kindling
    kubeconfig: "{{ kindling_work_dir }}/kubeconfig"
    state: absent
"""

RETURN = r"""
name:
  description: The cluster name.
  returned: always
  type: str
  sample: kindling
context:
  description: The kubeconfig context kind made for the cluster.
  returned: always
  type: str
  sample: kind-kindling
kubeconfig:
  description: Path of the kubeconfig file (mode 0600).
  returned: always
  type: str
nodes:
  description: Node container names.
  returned: always
  type: list
  elements: str
  sample: [kindling-control-plane, kindling-worker]
drift:
  description: Creation-time fields that differ between the running cluster and O(config).
  returned: always
  type: list
  elements: str
  sample: ["nodes[0].extraPortMappings"]
recreated:
  description: Whether the cluster was (or in check mode would be) deleted and created again.
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kindling.gitops.plugins.module_utils.kind_cluster import (
    KindCluster,
    KindError,
    ensure_cluster,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type="str", choices=["present", "absent"], default="present"),
            name=dict(type="str", required=True),
            config=dict(type="dict"),
            node_image=dict(type="str"),
            kubeconfig=dict(type="path", required=True),
            wait=dict(type="int", default=120),
            allow_recreate=dict(type="bool", default=False),
            kind_binary=dict(type="str", default="kind"),
            docker_binary=dict(type="str", default="docker"),
        ),
        required_if=[("state", "present", ("node_image",))],
        supports_check_mode=True,
    )

    def run(argv, data=None):
        return module.run_command(argv, data=data)

    binaries = {}
    for option in ("kind_binary", "docker_binary"):
        binaries[option] = module.get_bin_path(module.params[option])
        if binaries[option] is None:
            module.fail_json(msg="{0}: {1!r} is not an executable on PATH".format(option, module.params[option]))
    cli = KindCluster(run, kind=binaries["kind_binary"], docker=binaries["docker_binary"])
    try:
        result = ensure_cluster(cli, module.params, module.check_mode)
    except KindError as error:
        module.fail_json(msg=str(error))
    for warning in result.pop("warnings", []):
        module.warn(warning)
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
