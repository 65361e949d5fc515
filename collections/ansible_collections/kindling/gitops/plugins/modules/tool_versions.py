#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: tool_versions
short_description: Find binaries on the build host's PATH and ask the ones that can say so whether they work
version_added: 0.2.0
description:
  - Looks up each binary on the C(PATH) the module runs with on the managed host (the build host), as the
    stages will call it.
  - For a C(kubectl) tool, runs C(kubectl version --client --output json) and returns its C(clientVersion).
  - For a C(docker) tool, runs C(docker version), which fails when the engine does not answer.
  - The preflight (action plugin M(kindling.gitops.preflight)) calls it with the binaries the selected stages
    need, so the answers come from the machine that runs the stages, not from the controller.
author:
  - kindling.gitops maintainers (@kindling)
extends_documentation_fragment:
  - kindling.gitops.read_only
options:
  binaries:
    description:
      - The binaries to look for. C(tool) says which questions to ask (kubectl, docker, or any other name,
        which is only looked for).
    type: list
    elements: dict
    required: true
    suboptions:
      binary:
        description: A command name looked up on C(PATH), or a path.
        type: str
        required: true
      tool:
        description: What the binary is.
        type: str
        required: true
  timeout:
    description: Seconds each version question may take.
    type: int
    default: 30
'''

EXAMPLES = r'''
- name: Which kubectl and docker the stages would run
  kindling.gitops.tool_versions:
    binaries:
      - {binary: kubectl, tool: kubectl}
      - {binary: docker, tool: docker}
  register: tools
'''

RETURN = r'''
found:
  description: For each binary asked about, what the build host answered.
  returned: always
  type: dict
  sample:
    kubectl: {path: /usr/local/bin/kubectl, client: {gitVersion: v1.37.1, major: "1", minor: "37"}}
    podman: {path: null}
    docker: {path: /usr/bin/docker, error: "does not answer `docker version`: Cannot connect to the Docker daemon"}
docker_host:
  description: The C(DOCKER_HOST) the build host's environment sets, or null (the default socket).
  returned: always
  type: str
'''

import json
import os
import shutil
import subprocess

from ansible.module_utils.basic import AnsibleModule


def _first_line(text, limit=200):
    text = " ".join((text or "").split()).rstrip(".")
    return text if len(text) <= limit else text[:limit - 3] + "..."


def ask(binary, tool, timeout):
    path = shutil.which(binary)
    if not path:
        return {"path": None}
    answer = {"path": path}
    if tool == "kubectl":
        argv = [path, "version", "--client", "--output", "json"]
    elif tool == "docker":
        argv = [path, "version"]
    else:
        return answer
    try:
        run = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        answer["error"] = "does not answer `%s`: %s" % (" ".join(argv[1:]), error)
        return answer
    if run.returncode != 0:
        answer["error"] = "does not answer `%s`: %s" % (" ".join(argv[1:]), _first_line(run.stderr or run.stdout))
    elif tool == "kubectl":
        try:
            answer["client"] = json.loads(run.stdout)["clientVersion"]
        except (ValueError, KeyError, TypeError):
            answer["error"] = "answers `version --client --output json` with something that is not kubectl's JSON"
    return answer


def main():
    module = AnsibleModule(
        argument_spec=dict(
            binaries=dict(type="list", elements="dict", required=True, options=dict(
                binary=dict(type="str", required=True),
                tool=dict(type="str", required=True),
            )),
            timeout=dict(type="int", default=30),
        ),
        supports_check_mode=True,
    )
    found = {}
    for item in module.params["binaries"]:
        if item["binary"] not in found:
            found[item["binary"]] = ask(item["binary"], item["tool"], module.params["timeout"])
    module.exit_json(changed=False, found=found, docker_host=os.environ.get("DOCKER_HOST"))


if __name__ == "__main__":
    main()
