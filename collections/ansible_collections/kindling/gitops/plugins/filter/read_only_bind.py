# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: read_only_bind
short_description: A read-only bind of a host directory for community.docker.docker_container's volumes
version_added: 0.1.0
description:
  - Returns C(SOURCE:TARGET:ro), or C(SOURCE:TARGET:ro,z) when the Docker daemon labels containers with SELinux
    (its C(docker info) SecurityOptions list C(name=selinux)). A container process may then only read host files
    labelled for containers, and C(z) relabels the directory with the label every container shares.
  - Docker's mount API has no relabel option; only a volume (bind) string carries C(z).
  - Fails naming the problem when a path is not absolute or holds C(:), which the volume string cannot carry.
author:
  - kindling.gitops maintainers (@kindling)
options:
  _input:
    description: The directory on the Docker host.
    type: str
    required: true
  target:
    description: Where it appears in the container.
    type: str
    required: true
  docker_info:
    description: The daemon's C(docker info) answer, for example P(community.docker.docker_host_info#module)'s C(host_info).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Run a container with a host directory mounted read-only
  community.docker.docker_container:
    name: server
    image: server:1
    volumes:
      - "{{ '/srv/data' | kindling.gitops.read_only_bind('/data', docker_host.host_info) }}"
"""

RETURN = r"""
_value:
  description: The volume string, C(SOURCE:TARGET:ro) or C(SOURCE:TARGET:ro,z).
  type: str
"""

from ansible.errors import AnsibleFilterError


def read_only_bind(source, target, docker_info):
    for name, path in (("source", source), ("target", target)):
        if not isinstance(path, str) or not path.startswith("/") or ":" in path:
            raise AnsibleFilterError("read_only_bind: %s must be an absolute path without ':', got %r" % (name, path))
    # moby daemon/info.go fillSecurityOptions lists name=selinux when selinux.GetEnabled(), and
    # daemon/daemon_unix.go configureKernelSecuritySupport calls selinux.SetDisabled() unless dockerd runs with
    # --selinux-enabled: so it is listed exactly when the daemon labels containers.
    selinux = "name=selinux" in ((docker_info or {}).get("SecurityOptions") or [])
    return "%s:%s:%s" % (source, target, "ro,z" if selinux else "ro")


class FilterModule(object):
    def filters(self):
        return {"read_only_bind": read_only_bind}
