# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: podman_preview
short_description: Turn a rendered Kustomize overlay into what podman kube play can run on loopback
version_added: 0.1.0
description:
  - Keeps the kinds C(podman kube play) handles (Deployment, Service, ConfigMap, Secret) and drops the rest
    (Ingress, ServiceMonitor, PodDisruptionBudget, ...).
  - Renames the one Deployment to O(name) with one replica, and publishes its container ports listed in O(ports)
    as C(hostPort) on C(hostIP) (127.0.0.1 by default), so the preview answers on loopback only.
  - Sets the environment variables in O(env) on every container of the Deployment (replacing a value the overlay sets).
  - Fails naming the problem when the overlay has no Deployment, more than one, or lacks a port in O(ports).
author:
  - kindling.gitops maintainers (@kindling)
options:
  _input:
    description: The rendered manifests (for example C(kubectl kustomize) output through P(ansible.builtin.from_yaml_all#filter)).
    type: list
    elements: dict
    required: true
  name:
    description: Name of the Deployment (podman names the pod C(<name>-pod)); make it unique per preview.
    type: str
    required: true
  ports:
    description: "Container port to host port, for example C({8080: 18080, 9090: 19090})."
    type: dict
    required: true
  host_ip:
    description: Host address the ports are bound to.
    type: str
    default: 127.0.0.1
  env:
    description: 'Environment variables to set on every container, for example C({LOG_LEVEL: "DEBUG"}).'
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Keep what podman kube play runs, on loopback ports
  ansible.builtin.set_fact:
    preview_manifests: >-
      {{ rendered.stdout | ansible.builtin.from_yaml_all | list
         | kindling.gitops.podman_preview(name='kindling-preview-app1-dev', ports={8080: 18080, 9090: 19090}) }}
"""

RETURN = r"""
_value:
  description: The manifests podman kube play gets, in their rendered order.
  type: list
  elements: dict
"""

import copy

from ansible.errors import AnsibleFilterError

PLAYABLE_KINDS = ("Deployment", "Service", "ConfigMap", "Secret")


def _host_port(option, value):
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = 0
    if not 1 <= port <= 65535:
        raise AnsibleFilterError("podman_preview: %s: %r is not a TCP port" % (option, value))
    return port


def podman_preview(manifests, name, ports, host_ip="127.0.0.1", env=None):
    if not isinstance(manifests, list) or not all(isinstance(m, dict) or m is None for m in manifests):
        raise AnsibleFilterError("podman_preview: the input must be a list of manifests (dicts)")
    if not isinstance(ports, dict) or not ports:
        raise AnsibleFilterError("podman_preview: ports must map container ports to host ports, e.g. {8080: 18080}")
    wanted = dict((_host_port("ports key", k), _host_port("ports[%s]" % k, v)) for k, v in ports.items())
    kept = [copy.deepcopy(m) for m in manifests if m and m.get("kind") in PLAYABLE_KINDS]
    deployments = [m for m in kept if m["kind"] == "Deployment"]
    if len(deployments) != 1:
        raise AnsibleFilterError("podman_preview: the overlay must render exactly one Deployment, found %d"
                                 % len(deployments))
    deployment = deployments[0]
    deployment.setdefault("metadata", {})["name"] = name
    spec = deployment.setdefault("spec", {})
    # One replica: more would all claim the same host ports.
    spec["replicas"] = 1
    if env is not None and not isinstance(env, dict):
        raise AnsibleFilterError("podman_preview: env must map variable names to values, e.g. {LOG_LEVEL: 'DEBUG'}")
    published = set()
    for container in spec.get("template", {}).get("spec", {}).get("containers") or []:
        if env:
            kept_env = [item for item in container.get("env") or [] if item.get("name") not in env]
            container["env"] = kept_env + [{"name": str(key), "value": str(value)} for key, value in sorted(env.items())]
        for port in container.get("ports") or []:
            host_port = wanted.get(port.get("containerPort"))
            if host_port is not None:
                port["hostPort"] = host_port
                port["hostIP"] = host_ip
                published.add(port["containerPort"])
    missing = sorted(set(wanted) - published)
    if missing:
        raise AnsibleFilterError("podman_preview: ports: the Deployment's containers declare no containerPort %s"
                                 % ", ".join(str(p) for p in missing))
    return kept


class FilterModule(object):
    def filters(self):
        return {"podman_preview": podman_preview}
