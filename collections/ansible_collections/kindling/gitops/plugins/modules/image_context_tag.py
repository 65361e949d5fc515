#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: image_context_tag
short_description: Content-addressed image tag for a Docker build context
version_added: 0.1.0
description:
  - Computes a tag C(<version>-<12 hex>) from the build context as the Docker builder sees it, so that the same
    content always gets the same tag and any change that can alter the image gets a new one.
  - The hash covers every file and directory C(.dockerignore) lets through, their contents, symlink targets and
    executable bits; the Dockerfile and C(.dockerignore) (always, as Docker always sends them); the build
    arguments; and O(extra_inputs) such as the base image ID.
  - C(.dockerignore) is matched by the Docker SDK's C(docker.utils.build.exclude_paths), the matcher
    M(community.docker.docker_image) itself uses to make the build context, so the tag covers exactly what that
    build is sent. It differs from the Docker CLI/BuildKit (moby/patternmatcher) only in C([^...]) classes and
    backslash escapes, which it does not support.
  - Files outside the context or ignored by C(.dockerignore) never change the tag. Modification times and
    ownership are not hashed, so a fresh checkout of the same content gets the same tag.
  - Reads files only; it never changes anything.
author:
  - kindling.gitops maintainers (@kindling)
extends_documentation_fragment:
  - kindling.gitops.read_only
options:
  path:
    description:
      - The build context directory on the target host.
    type: path
    required: true
  dockerfile:
    description:
      - The Dockerfile, relative to O(path). It must be inside the context.
    type: str
    default: Dockerfile
  build_args:
    description:
      - Build arguments that shape the image. Every name and value is hashed.
      - Leave out arguments that only label the image, such as the git commit, or every commit gives a new tag.
    type: dict
    default: {}
  extra_inputs:
    description:
      - Other values the image depends on that are not in the context, for example the base image ID, so that a
        new base image gives a new tag. Hashed like build arguments, but kept apart from them.
    type: dict
    default: {}
  exclude:
    description:
      - More patterns (C(.dockerignore) syntax) for files the builder receives but that do not shape the image,
        such as bookkeeping files. Applied after C(.dockerignore).
      - Use sparingly, because an excluded file that does reach the image makes the tag lie.
    type: list
    elements: str
    default: []
  version:
    description:
      - The human-readable part of the tag. When unset, the first line of O(version_file) is used.
    type: str
  version_file:
    description:
      - File in the build context holding the version, used when O(version) is unset.
    type: str
    default: VERSION
requirements:
  - docker (the Docker SDK for Python) >= 7.1.0
notes:
  - The tag has no C(+), which image tags do not allow; use a version such as V(1.0.0) or V(1.0.0-rc.1).
seealso:
  - module: kindling.gitops.registry_image_info
  - module: community.docker.docker_image
'''

EXAMPLES = r'''
- name: Compute the tag of app/ for a build on a given base image
  kindling.gitops.image_context_tag:
    path: "{{ playbook_dir }}/../app"
    build_args:
      BASE_IMAGE: python:3.12-slim
      VERSION: "{{ lookup('file', playbook_dir ~ '/../app/VERSION') }}"
    extra_inputs:
      base_image_id: "{{ base_image_info.images[0].Id }}"
  register: app_tag

- name: Use it
  ansible.builtin.debug:
    msg: "localhost:5001/app1:{{ app_tag.tag }}"
'''

RETURN = r'''
tag:
  description: The content-addressed tag, C(<version>-<first 12 hex digits of context_digest>).
  returned: success
  type: str
  sample: 1.0.0-3f9a1c0b7d2e
version:
  description: The version used as the tag's prefix.
  returned: success
  type: str
  sample: 1.0.0
context_digest:
  description: The full sha256 over the context, build arguments and extra inputs.
  returned: success
  type: str
  sample: sha256:3f9a1c0b7d2e5a4f0c1b2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a
files:
  description: The files (and symlinks) that went into the hash, relative to O(path), sorted.
  returned: success
  type: list
  elements: str
  sample: [.dockerignore, Dockerfile, VERSION, app/main.py]
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.kindling.gitops.plugins.module_utils.image_context import (
    DOCKER_SDK_IMPORT_ERROR, HAS_DOCKER_SDK, ContextError, compute_tag)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            dockerfile=dict(type="str", default="Dockerfile"),
            build_args=dict(type="dict", default={}),
            extra_inputs=dict(type="dict", default={}),
            exclude=dict(type="list", elements="str", default=[]),
            version=dict(type="str"),
            version_file=dict(type="str", default="VERSION"),
        ),
        supports_check_mode=True,
    )
    if not HAS_DOCKER_SDK:
        module.fail_json(msg=missing_required_lib("docker"), exception=str(DOCKER_SDK_IMPORT_ERROR))
    params = module.params
    try:
        result = compute_tag(params["path"], dockerfile=params["dockerfile"], build_args=params["build_args"],
                             version=params["version"], version_file=params["version_file"],
                             extra_inputs=params["extra_inputs"], exclude=params["exclude"])
    except ContextError as error:
        module.fail_json(msg=str(error), field=error.field)
    except (IOError, OSError) as error:
        module.fail_json(msg="path: cannot read the build context: %s" % error, field="path")
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
