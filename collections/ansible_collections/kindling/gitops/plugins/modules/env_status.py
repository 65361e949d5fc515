#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: env_status
short_description: The cluster's identity, every environment's state, and what a teardown of one may remove
version_added: 0.1.0
description:
  - Reads the cluster's identity, the uid of its C(kube-system) namespace, which a re-created cluster does not
    share with the one before it. The release records keep it (key C(cluster)), so a record made on another
    cluster is told apart.
  - For each environment in O(environments), reads its release records in C(<work_root>/<env>/release) and its
    Argo CD Application C(<app_name>-<env>), and returns one row with what is deployed (digest, GitOps
    commit), what Argo CD reports (sync, health, revision), the last verification and when, and whether the
    records belong to the cluster running now.
  - With O(teardown), also says what a teardown of that environment removes and keeps, and why. The shared
    O(shared_resources) go with O(teardown_cluster), or when no other environment has a work dir or an
    Application.
  - Changes nothing. With O(cluster=false) no API call is made; the identity is empty and the Argo CD column
    says C(no cluster). A cluster that does not answer is reported, not a failure.
  - Cluster access is kubernetes.core's (its API client, option names and C(K8S_AUTH_*) variables).
author:
  - kindling.gitops maintainers (@kindling)
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  environments:
    description: The environments, one row each (dev, qa, prod first, in promotion order). Empty for the identity only.
    type: list
    elements: str
    default: []
  work_root:
    description: The folder holding each environment's work dir, C(<work_root>/<env>). Required with O(environments).
    type: path
  app_name:
    description: The service; the Application of an environment is C(<app_name>-<env>).
    type: str
    default: app1
  argocd_namespace:
    description: The namespace the Applications live in.
    type: str
    default: argocd
  cluster:
    description:
      - Ask the cluster. V(false) without one (the pipeline's no-cluster run).
      - A O(kubeconfig) file that does not exist on the build host is taken as no cluster too (nothing is asked).
    type: bool
    default: true
  teardown:
    description: The environment a teardown removes; one of O(environments).
    type: str
  env_resources:
    description: What the teardown removes from the cluster for that environment (named in the plan's message).
    type: list
    elements: str
    default: []
  shared_resources:
    description: What every environment shares and the teardown may remove (named in the plan's message).
    type: list
    elements: str
    default: []
  teardown_cluster:
    description: Remove O(shared_resources) even while another environment is in use.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Reads only, in check mode as always.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
  idempotent:
    support: full
    description: Changes nothing.
"""

EXAMPLES = r"""
- name: Read every environment's state
  kindling.gitops.env_status:
    environments: [dev, qa, prod]
    work_root: "{{ kindling_work_dir | dirname }}"
    kubeconfig: "{{ kubeconfig_path }}"
    context: "{{ kube_context }}"
  register: status

- name: Read the cluster's identity only
  kindling.gitops.env_status:
    kubeconfig: "{{ kubeconfig_path }}"
  register: cluster
"""

RETURN = r"""
cluster:
  description: C(asked), C(uid) (kube-system's uid, empty without an answer or with O(cluster=false)) and C(error).
  returned: always
  type: dict
  sample: {asked: true, uid: 5b7a4c3e-2f1a-4b9c-8d7e-6f5a4b3c2d1e, error: ""}
environments:
  description: One row per environment (env, work_dir, present, application_present, deployed, digest, commit, argocd, verification, record_cluster).
  returned: always
  type: list
  elements: dict
table:
  description: The rows as aligned text lines, a header first, then the cluster they were compared with.
  returned: always
  type: list
  elements: str
plan:
  description: With O(teardown), what it removes and keeps (remove, keep, shared, others, env_cluster, message).
  returned: when O(teardown) is set
  type: dict
"""

import copy
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kindling.gitops.plugins.module_utils import env_status
from ansible_collections.kindling.gitops.plugins.module_utils.release_record import RecordError
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


def argument_spec():
    spec = copy.deepcopy(AUTH_ARG_SPEC)
    spec.update(
        environments=dict(type="list", elements="str", default=[]),
        work_root=dict(type="path"),
        app_name=dict(type="str", default="app1"),
        argocd_namespace=dict(type="str", default="argocd"),
        cluster=dict(type="bool", default=True),
        teardown=dict(type="str"),
        env_resources=dict(type="list", elements="str", default=[]),
        shared_resources=dict(type="list", elements="str", default=[]),
        teardown_cluster=dict(type="bool", default=False),
    )
    return spec


def read_cluster(module, params, environments):
    """(cluster dict, {env: Application dict | None | why not})."""
    cluster = dict(asked=params["cluster"], uid="", error="")
    applications = dict((env, None) for env in environments)
    if not params["cluster"]:
        return cluster, applications
    kubeconfig = params.get("kubeconfig")
    if isinstance(kubeconfig, str) and not os.path.exists(kubeconfig):
        # No kubeconfig on the build host: this environment knows no cluster (never bootstrapped, or the run
        # works without one), which is not a cluster that fails to answer.
        cluster["asked"] = False
        return cluster, applications
    try:
        client = get_api_client(module)
        namespace = client.get(client.resource("Namespace", "v1"), name=env_status.IDENTITY_NAMESPACE).to_dict()
        cluster["uid"] = (namespace.get("metadata") or {}).get("uid", "")
    except (CoreException, DynamicApiError, ApiException, TransportError) as error:
        why = getattr(error, "reason", None) or error
        cluster["error"] = "cannot read namespace %s: %s" % (env_status.IDENTITY_NAMESPACE, why)
        return cluster, applications
    try:
        resource = client.resource("Application", "argoproj.io/v1alpha1")
    except ResourceNotFoundError:
        return cluster, dict((env, "Argo CD not installed") for env in environments)
    for env in environments:
        try:
            applications[env] = client.get(resource, name="%s-%s" % (params["app_name"], env),
                                           namespace=params["argocd_namespace"]).to_dict()
        except NotFoundError:
            applications[env] = None
        except (CoreException, DynamicApiError, ApiException, TransportError) as error:
            applications[env] = "unreadable: %s" % (getattr(error, "reason", None) or error)
    return cluster, applications


def main():
    module = AnsibleK8SModule(module_class=AnsibleModule, argument_spec=argument_spec(), supports_check_mode=True)
    params = module.params
    environments = env_status.ordered(params["environments"])
    if environments and not params["work_root"]:
        module.fail_json(msg="work_root: required with environments (the folder of the <env> work dirs)")
    if params["teardown"] and params["teardown"] not in environments:
        module.fail_json(msg="teardown: %r is not one of environments (%s)" % (params["teardown"], ", ".join(environments)))
    cluster, applications = read_cluster(module, params, environments)
    rows = []
    try:
        for env in environments:
            work_dir = os.path.join(params["work_root"], env)
            rows.append(env_status.row(env, work_dir, env_status.read_records(work_dir), cluster, applications[env]))
    except RecordError as error:
        module.fail_json(msg=str(error), field=error.field)
    result = dict(changed=False, cluster=cluster, environments=rows,
                  table=env_status.table(rows) + [env_status.cluster_line(cluster)])
    if params["teardown"]:
        result["plan"] = env_status.teardown_plan(
            params["teardown"], rows, params["env_resources"], params["shared_resources"], params["teardown_cluster"],
            cluster_reachable=cluster["asked"] and not cluster["error"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
