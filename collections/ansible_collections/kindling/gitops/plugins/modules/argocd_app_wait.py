#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: argocd_app_wait
short_description: Wait until an Argo CD Application has deployed a given git revision, Synced and Healthy
version_added: 0.1.0
description:
  - Polls an Argo CD C(Application) (argoproj.io/v1alpha1) until C(status.sync.revision) is the revision just
    pushed B(and) C(status.sync.status) is C(Synced) B(and) C(status.health.status) is C(Healthy).
    Synced and Healthy at an older revision does not count.
  - Can first set the C(argocd.argoproj.io/refresh) annotation so Argo CD compares with git at once rather than
    at its next poll.
  - Stops early when the sync operation of the wanted revision failed (an older revision's stale failure is waited
    past), or (O(fail_on_degraded)) when the wanted revision is synced but
    Degraded; on any failure returns the resources that are not healthy with Argo CD's messages.
  - Cluster access is kubernetes.core's (its API client, option names and C(K8S_AUTH_*) variables), so one
    C(module_defaults) block for C(group/kubernetes.core.k8s) and C(group/kindling.gitops.k8s) serves both.
  - Every option is checked before the first API call; a bad one fails naming it.
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  name:
    description: Name of the Application (the project names them C(app1-ENV)); a DNS subdomain, as the API server requires.
    type: str
    required: true
  namespace:
    description: Namespace Argo CD runs in; a DNS label.
    type: str
    default: argocd
  revision:
    description:
      - The git commit SHA that must be deployed, 7 to 40 lower-case hex digits (full or abbreviated; Argo CD
        reports and compares SHA-1 revisions).
    type: str
    required: true
  timeout:
    description: Seconds to wait at most.
    type: int
    default: 300
  interval:
    description: Seconds between two looks.
    type: int
    default: 5
  refresh:
    description: Set the refresh annotation (V(normal) or V(hard)) before waiting, or leave it (V(none)).
    type: str
    choices: [none, normal, hard]
    default: normal
  fail_on_degraded:
    description:
      - Fail as soon as the wanted revision is Synced but Degraded, instead of waiting for it to recover
        until O(timeout).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Looks once, sets no annotation, never waits or fails on the state found; RV(done) says whether it
      would have been done.
  diff_mode:
    support: none
    description: It changes nothing that a diff could show.
  idempotent:
    support: full
    description: Reports RV(ignore:changed=false); the refresh annotation is a request Argo CD consumes and removes.
requirements:
  - kubernetes (Python client) >= 24.2.0, as kubernetes.core requires
author:
  - kindling.gitops maintainers (@kindling)
"""

EXAMPLES = r"""
- name: Wait for the revision just pushed to be deployed
  kindling.gitops.argocd_app_wait:
    name: "app1-{{ kindling_env }}"
    revision: "{{ kindling_gitops.commit }}"
    timeout: 600
    kubeconfig: "{{ kubeconfig_path }}"
    context: "{{ kube_context }}"
"""

RETURN = r"""
done:
  description: Whether the wanted revision is Synced and Healthy.
  returned: always
  type: bool
sync:
  description: C(status.sync.status) last seen (Synced, OutOfSync, Unknown).
  returned: always
  type: str
  sample: Synced
health:
  description: C(status.health.status) last seen (Healthy, Progressing, Degraded, Suspended, Missing, Unknown).
  returned: always
  type: str
  sample: Healthy
revision:
  description: C(status.sync.revision) last seen.
  returned: always
  type: str
  sample: 9f2c1e0d5b7a4c3e2f1a0b9c8d7e6f5a4b3c2d1e
revision_matches:
  description: Whether RV(revision) is the wanted one.
  returned: always
  type: bool
operation_phase:
  description: C(status.operationState.phase) (Running, Succeeded, Failed, Error), empty when none.
  returned: always
  type: str
operation_message:
  description: C(status.operationState.message).
  returned: always
  type: str
operation_revision:
  description:
    - The revision the last operation ran, C(status.operationState.syncResult.revision), or the one it was asked for
      (C(operation.sync.revision)) before it has a result. A Failed or Error operation ends the wait only when this is
      the wanted revision; after a refresh C(status.sync.revision) moves first, while this still names the older one.
  returned: always
  type: str
operation_revision_matches:
  description: Whether RV(operation_revision) is the wanted one.
  returned: always
  type: bool
conditions:
  description: Application conditions (type, message), e.g. ComparisonError.
  returned: always
  type: list
  elements: dict
unhealthy:
  description: Resources not Healthy or not Synced, with kind, namespace, name, sync, health and message.
  returned: always
  type: list
  elements: dict
  sample: [{kind: Deployment, namespace: app1-dev, name: app1, sync: Synced, health: Degraded,
            message: 'Deployment "app1" exceeded its progress deadline'}]
attempts:
  description: How many times the Application was read.
  returned: always
  type: int
elapsed:
  description: Seconds spent waiting.
  returned: always
  type: float
"""

import copy

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kindling.gitops.plugins.module_utils.argocd_app import (
    WaitError,
    refresh_patch,
    summarize,
    validate_options,
    wait_for_application,
)
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import AnsibleK8SModule
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import CoreException

try:
    from kubernetes.client.exceptions import ApiException
    from kubernetes.dynamic.exceptions import DynamicApiError, NotFoundError, ResourceNotFoundError
    from urllib3.exceptions import HTTPError as TransportError
except ImportError:  # AnsibleK8SModule reports the missing kubernetes library
    ApiException = DynamicApiError = NotFoundError = ResourceNotFoundError = TransportError = None

API_VERSION = "argoproj.io/v1alpha1"


def argument_spec():
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(
        name=dict(type="str", required=True),
        namespace=dict(type="str", default="argocd"),
        revision=dict(type="str", required=True),
        timeout=dict(type="int", default=300),
        interval=dict(type="int", default=5),
        refresh=dict(type="str", choices=["none", "normal", "hard"], default="normal"),
        fail_on_degraded=dict(type="bool", default=True),
    )
    return spec


def main():
    module = AnsibleK8SModule(module_class=AnsibleModule, argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    try:
        validate_options(params)
    except ValueError as error:
        module.fail_json(msg=str(error))
    name, namespace = params["name"], params["namespace"]
    where = "Application {0}/{1}".format(namespace, name)
    try:
        client = get_api_client(module)
        resource = client.resource("Application", API_VERSION)

        def fetch():
            return client.get(resource, name=name, namespace=namespace).to_dict()

        if module.check_mode:
            module.exit_json(changed=False, attempts=1, elapsed=0.0, **summarize(fetch(), params["revision"]))
        if params["refresh"] != "none":
            client.patch(resource, refresh_patch(params["refresh"]), name=name, namespace=namespace,
                         content_type="application/merge-patch+json")
        result = wait_for_application(fetch, params["revision"], params["timeout"], params["interval"],
                                      fail_on_degraded=params["fail_on_degraded"])
    except WaitError as error:
        module.fail_json(msg=str(error), changed=False, **error.result)
    except CoreException as error:
        module.fail_json(msg="cluster access (kubeconfig, context, host and their K8S_AUTH_* variables): {0}".format(
            error))
    except ResourceNotFoundError:
        module.fail_json(msg="the cluster does not serve {0} Application: Argo CD is not installed".format(API_VERSION))
    except NotFoundError:
        module.fail_json(msg="{0} not found (is Argo CD installed and the Application applied?)".format(where))
    except (DynamicApiError, ApiException) as error:
        module.fail_json(msg="{0}: API error {1}: {2}".format(where, getattr(error, "status", ""),
                                                              getattr(error, "reason", error)))
    except TransportError as error:
        module.fail_json(msg="{0}: cannot reach the Kubernetes API: {1}".format(where, error))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
