# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Options of every module that drives the kind and docker CLIs."""

    DOCUMENTATION = r"""
options:
  kind_binary:
    description:
      - The kind executable (v0.32.0 is the version the project pins), a name looked up on E(PATH) or a path.
    type: str
    default: kind
  docker_binary:
    description:
      - The docker executable, used to inspect the node containers kind created.
    type: str
    default: docker
requirements:
  - kind and a Docker engine on the host that runs the module.
"""
