#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: registry_image_info
short_description: Ask an OCI registry whether an image tag exists, and for its digest
version_added: 0.1.0
description:
  - Sends C(HEAD /v2/<repository>/manifests/<tag>) to the registry (OCI distribution API) and returns whether the
    tag exists and the C(Docker-Content-Digest) the registry reports for it. The registry, not the local Docker
    daemon, is the source of truth, so a build can be skipped exactly when the registry already has the tag.
  - Speaks anonymous access, HTTP Basic (C(docker-registry) with htpasswd) and the Bearer token flow (GHCR,
    Docker Hub, Harbor). A registry that asks for credentials when none are given, or rejects the ones given,
    fails naming the registry.
  - Transient failures are retried with a bounded exponential backoff; a registry that stays down fails after
    O(retries) retries with a message naming it.
author:
  - kindling.gitops maintainers (@kindling)
extends_documentation_fragment:
  - kindling.gitops.registry_auth
  - kindling.gitops.read_only
options:
  repository:
    description:
      - The repository inside the registry, for example V(app1) or V(my-org/app1).
    type: str
    required: true
  tag:
    description:
      - The tag to look up.
    type: str
    required: true
seealso:
  - module: kindling.gitops.image_context_tag
  - module: community.docker.docker_image
'''

EXAMPLES = r'''
- name: Does the local kind registry already have this build?
  kindling.gitops.registry_image_info:
    registry: localhost:5001
    repository: app1
    tag: 1.0.0-3f9a1c0b7d2e
  register: in_registry

- name: Look up an image on GHCR with a token from the environment
  kindling.gitops.registry_image_info:
    registry: ghcr.io
    repository: my-org/app1
    tag: 1.0.0-3f9a1c0b7d2e
    username: "{{ lookup('ansible.builtin.env', 'KINDLING_REGISTRY_USERNAME') }}"
    password: "{{ lookup('ansible.builtin.env', 'KINDLING_REGISTRY_PASSWORD') }}"
    retries: 5
  register: in_registry
'''

RETURN = r'''
exists:
  description: Whether the registry has O(repository):O(tag).
  returned: success
  type: bool
  sample: true
digest:
  description: The C(Docker-Content-Digest) the registry reports for the tag; V(null) when it does not exist.
  returned: success
  type: str
  sample: sha256:8c2c5bb1e9a6a41e7c3a6d5e0f1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b
media_type:
  description: The manifest's media type as the registry reports it; V(null) when the tag does not exist.
  returned: success
  type: str
  sample: application/vnd.docker.distribution.manifest.v2+json
ref:
  description: C(registry/repository@digest), the immutable reference to deploy; V(null) when the tag does not exist.
  returned: success
  type: str
  sample: localhost:5001/app1@sha256:8c2c5bb1e9a6a41e7c3a6d5e0f1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b
registry:
  description: The registry asked.
  returned: always
  type: str
  sample: localhost:5001
repository:
  description: The repository asked for.
  returned: success
  type: str
  sample: app1
tag:
  description: The tag asked for.
  returned: success
  type: str
  sample: 1.0.0-3f9a1c0b7d2e
attempts:
  description: HTTP requests made, counting retries and the authentication round trip.
  returned: always
  type: int
  sample: 2
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kindling.gitops.plugins.module_utils.registry_args import (
    registry_argument_spec,
    registry_client_options,
)
from ansible_collections.kindling.gitops.plugins.module_utils.registry_v2 import RegistryError, image_info


def main():
    argument_spec = registry_argument_spec()
    argument_spec.update(
        repository=dict(type="str", required=True),
        tag=dict(type="str", required=True),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_together=[("username", "password")])
    params = module.params
    try:
        result = image_info(params["registry"], params["repository"], params["tag"], **registry_client_options(params))
    except RegistryError as error:
        module.fail_json(msg=str(error), field=error.field, registry=params["registry"], attempts=error.attempts)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
