# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""read_only_bind: the bind of a host directory read-only, relabelled where the Docker daemon uses SELinux."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.kindling.gitops.plugins.filter.read_only_bind import read_only_bind

# SecurityOptions as `docker info` (GET /info) answers them: moby daemon/info.go fillSecurityOptions lists
# "name=selinux" when the daemon labels containers (dockerd --selinux-enabled on an SELinux host).
DEBIAN = {"SecurityOptions": ["name=apparmor", "name=seccomp,profile=builtin", "name=cgroupns"]}
FEDORA = {"SecurityOptions": ["name=seccomp,profile=builtin", "name=selinux", "name=cgroupns"]}
ROOTLESS_FEDORA = {"SecurityOptions": ["name=seccomp,profile=builtin", "name=selinux", "name=rootless"]}


@pytest.mark.parametrize("docker_info, mode", [
    (DEBIAN, "ro"),
    (FEDORA, "ro,z"),
    (ROOTLESS_FEDORA, "ro,z"),
    ({"SecurityOptions": None}, "ro"),
    ({}, "ro"),
])
def test_the_mode_follows_the_daemon_s_security_options(docker_info, mode):
    assert read_only_bind("/home/u/.work/gitops.git", "/srv/git/gitops.git", docker_info) == \
        "/home/u/.work/gitops.git:/srv/git/gitops.git:" + mode


@pytest.mark.parametrize("source, target", [("relative/gitops.git", "/srv/git/x"), ("/a:b/gitops.git", "/srv/git/x"),
                                            ("/a/gitops.git", "srv")])
def test_paths_docker_cannot_bind_are_refused_naming_them(source, target):
    with pytest.raises(AnsibleFilterError, match="read_only_bind: "):
        read_only_bind(source, target, DEBIAN)
