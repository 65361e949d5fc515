#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: wiring_check
short_description: Follow every link of the platform's wiring through the rendered artifacts, offline
version_added: 0.1.0
description:
  - Renders the app's overlay (C(kubectl kustomize)) and, when O(render_charts) is true and helm works, every
    platform release (C(helm template), from O(chart_dir) when it holds the packaged chart, else from the chart
    repository), then follows each link and fails when its two ends disagree.
  - "C(ingress): O(verify.ingress_url) -> kind C(extraPortMappings) (hostPort, listenAddress) -> the ingress
    controller's pod hostPort on the node kind labels -> the Ingress rule for O(verify.ingress_host) (class, path
    C(/), backend) -> Service port -> targetPort -> container port -> the app's C(PORT)."
  - "C(port-forward): each of O(verify.service_ports) (the remote ports of the verify role's port-forward) -> a
    Service port -> targetPort -> container port -> the app's C(PORT) or C(METRICS_PORT)."
  - "C(image): the overlay's image registry -> the containerd C(hosts.toml) the local_registry role writes for
    O(registry.mirror_host) -> the registry container's network, which must be the kind nodes'."
  - "C(gitops-repo): the Application's repoURL (else O(argocd_repo_url)) must be a URL the cluster reaches; a
    C(git://) or C(http(s)://) URL whose host is a bare name is a container on the kind network and must be one
    of O(network_containers)."
  - "C(argocd-app): the Application's repoURL -> O(argocd.repo_url), its path -> O(argocd.overlay_path), its
    targetRevision -> O(argocd.branch), its destination namespace -> the overlay's namespace; the AppProject's
    sourceRepos admit the repoURL and its destinations the namespace."
  - "C(monitoring): the ServiceMonitor's selector and port name -> the Service; the rendered Prometheus'
    selectors -> the ServiceMonitor's and PrometheusRule's labels and namespaces; each rule's C(job) -> the job
    the operator sets (the Service's name, or its C(jobLabel))."
  - "C(tls): the C(cert-manager.io/cluster-issuer) of each Ingress -> a ClusterIssuer in O(cluster_issuers)."
  - "C(dashboard): each Grafana dashboard ConfigMap of the overlay -> the labels and namespaces the chart's Grafana
    dashboard sidecar loads; each panel's datasource uid -> a datasource the chart provisions, whose URL is a
    rendered Service and port."
  - "C(probes): each readiness, liveness and startup probe's port in the overlay -> a port (name or number) of
    its container."
  - Each broken link is one line naming both ends and the values that disagree. Links that cannot be followed
    (charts not rendered, a link switched off by O(skip)) are listed in RV(not_followed) with the reason.
author:
  - kindling.gitops maintainers (@kindling)
extends_documentation_fragment:
  - kindling.gitops.read_only
options:
  overlay_path:
    description: The env's overlay directory (a C(kustomization.yaml)), as the gitops role writes it.
    type: path
    required: true
  kubectl:
    description: The kubectl that renders the overlay (C(kubectl kustomize)).
    type: str
    default: kubectl
  kind_config:
    description:
      - The kind cluster configuration (the kind_cluster role's template), as YAML text or a mapping.
      - Empty for a cluster that is not kind; the kind links are then reported as not followed.
    type: raw
  releases:
    description: The platform's Helm releases, with the merged values the platform role passes to helm.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Release name.
        type: str
        required: true
      namespace:
        description: Release namespace.
        type: str
        required: true
      chart:
        description: Chart name.
        type: str
        required: true
      repo_url:
        description: Chart repository URL (C(helm template --repo)).
        type: str
        required: true
      version:
        description: Chart version.
        type: str
        required: true
      values:
        description: The merged values.
        type: dict
        default: {}
  render_charts:
    description: Render the releases with helm. False reports the chart links as not followed, with O(charts_reason).
    type: bool
    default: true
  charts_reason:
    description: Why the charts are not rendered when O(render_charts) is false.
    type: str
    default: chart rendering is off
  helm:
    description: The helm v3 binary.
    type: str
    default: helm
  chart_dir:
    description: A directory of packaged charts (C(<chart>-<version>.tgz)) used instead of the repository when it has the chart.
    type: path
  render_cache_dir:
    description:
      - A directory where each render of a packaged chart from O(chart_dir) is kept, keyed by the sha256 of what
        it depends on (the archive's bytes, the release's name, namespace and values, O(kube_version), the helm
        binary), and read back instead of running helm again for the same inputs.
      - Unset, nothing is kept. Charts from a repository are never kept.
    type: path
  kube_version:
    description:
      - The Kubernetes version helm renders for (C(--kube-version)), the kind node image's (kindling_defaults'
        C(kubernetes_version)). Required when O(render_charts) is true.
    type: str
  ingress_release:
    description: The release of the ingress controller (empty when none is installed, e.g. on openshift).
    type: str
    default: ""
  monitoring_release:
    description: The release that renders the Prometheus object (empty when monitoring is off).
    type: str
    default: ""
  verify:
    description: The verify role's settings the links start from.
    type: dict
    default: {}
    suboptions:
      ingress_url:
        description: verify_ingress_url.
        type: str
      ingress_host:
        description: verify_ingress_host.
        type: str
      service_name:
        description: verify_service_name, the Service the port-forward targets.
        type: str
      service_ports:
        description: verify_service_ports, the Service ports (names or numbers) the port-forward targets.
        type: dict
        default: {}
  registry:
    description: The local registry wiring (local_registry role).
    type: dict
    default: {}
    suboptions:
      mirror_host:
        description: The registry host each node's containerd C(hosts.toml) is written for (C(certs.d/<host>)).
        type: str
      name:
        description: The registry container's name.
        type: str
      network:
        description: The docker network the registry container joins.
        type: str
      kind_network:
        description: The docker network of the kind nodes.
        type: str
        default: kind
  argocd:
    description: The objects the argocd role applies and what they must point at.
    type: dict
    default: {}
    suboptions:
      application:
        description: This env's Application, as the argocd role renders it.
        type: dict
      project:
        description: Its AppProject, as the argocd role renders it.
        type: dict
      repo_url:
        description: The repository the pipeline pushes to, as the cluster reaches it (the git server's URL when it serves it).
        type: str
      overlay_path:
        description: The overlay's directory inside the repository, as the gitops role writes it.
        type: str
      branch:
        description: The branch the gitops role pushes to.
        type: str
  argocd_repo_url:
    description: The repoURL of Argo CD's Application.
    type: str
    default: ""
  network_containers:
    description: Names of the containers the project runs on the kind network (registry, git server).
    type: list
    elements: str
    default: []
  cluster_issuers:
    description: The ClusterIssuers the platform creates (YAML text of the rendered template, or a list of objects).
    type: raw
  skip:
    description:
      - Links not to follow (C(ingress), C(port-forward), C(image), C(gitops-repo), C(argocd-app), C(monitoring),
        C(tls), C(dashboard), C(probes)) and why; each is reported in RV(not_followed).
    type: dict
    default: {}
seealso:
  - module: kindling.gitops.kustomize_validate
"""

EXAMPLES = r"""
# roles/preflight/tasks/wiring.yml calls it through its action plugin, which decides the links to skip.
- name: Follow every link
  kindling.gitops.wiring_check:
    overlay_path: /tmp/wiring/apps/app1/overlays/dev
    kind_config: "{{ kind_cluster_config }}"
    releases: "{{ wiring_releases }}"
    chart_dir: /opt/charts
    ingress_release: traefik
    monitoring_release: kube-prometheus-stack
    verify:
      ingress_url: http://127.0.0.1:8080
      ingress_host: app1.dev.localhost
      service_name: app1
      service_ports: {app: http, metrics: metrics}
    registry:
      mirror_host: localhost:5001
      name: kind-registry
      network: kind
    argocd:
      application: "{{ argocd_objects.application }}"
      project: "{{ argocd_objects.project }}"
      repo_url: git://kindling-git/gitops.git
      overlay_path: apps/app1/overlays/dev
      branch: main
    network_containers: [kind-registry, kindling-git]
    cluster_issuers: "{{ lookup('ansible.builtin.template', 'cluster-issuers.yaml.j2') }}"
  register: wiring
"""

RETURN = r"""
broken:
  description: One line per broken link, naming both ends and the values that disagree.
  returned: always
  type: list
  elements: str
  sample:
    - "(ingress) verify_ingress_url http://127.0.0.1 (host 127.0.0.1, port 80) -> kind extraPortMappings: no
      mapping publishes that address and port (mappings: 127.0.0.1:8080->80, 127.0.0.1:8443->443)"
not_followed:
  description: Links that were not followed, and why.
  returned: always
  type: list
  elements: str
  sample: ["(ingress) kind node port 80 -> the ingress controller's hostPort: helm not found"]
followed:
  description: Links followed whose ends agree.
  returned: always
  type: list
  elements: str
charts:
  description: Objects rendered per release (empty when the charts were not rendered).
  returned: always
  type: dict
  sample: {traefik: 31, argo-cd: 44}
summary:
  description: One line saying how many links were followed, and which were not and why.
  returned: always
  type: str
  sample: "wiring: 9 of 9 links followed (ingress, port-forward, image, gitops-repo, argocd-app, monitoring, tls, dashboard, probes)"
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kindling.gitops.plugins.module_utils import kustomize_validate
from ansible_collections.kindling.gitops.plugins.module_utils import wiring


def as_objects(module, value, field):
    if value in (None, "", [], {}):
        return None
    if isinstance(value, str):
        try:
            value = wiring.load_yaml_all(value)
        except Exception as error:  # yaml.YAMLError and friends
            module.fail_json(msg="%s: not valid YAML: %s" % (field, error), field=field)
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        module.fail_json(msg="%s: must be YAML text, a mapping or a list of mappings" % field, field=field)
    return value


def main():
    release = dict(name=dict(type="str", required=True), namespace=dict(type="str", required=True),
                   chart=dict(type="str", required=True), repo_url=dict(type="str", required=True),
                   version=dict(type="str", required=True), values=dict(type="dict", default={}))
    verify = dict(ingress_url=dict(type="str"), ingress_host=dict(type="str"), service_name=dict(type="str"),
                  service_ports=dict(type="dict", default={}))
    registry = dict(mirror_host=dict(type="str"), name=dict(type="str"), network=dict(type="str"),
                    kind_network=dict(type="str", default="kind"))
    argocd = dict(application=dict(type="dict"), project=dict(type="dict"), repo_url=dict(type="str"),
                  overlay_path=dict(type="str"), branch=dict(type="str"))
    module = AnsibleModule(argument_spec=dict(
        overlay_path=dict(type="path", required=True),
        kubectl=dict(type="str", default="kubectl"),
        kind_config=dict(type="raw"),
        releases=dict(type="list", elements="dict", default=[], options=release),
        render_charts=dict(type="bool", default=True),
        charts_reason=dict(type="str", default="chart rendering is off"),
        helm=dict(type="str", default="helm"),
        chart_dir=dict(type="path"),
        render_cache_dir=dict(type="path"),
        kube_version=dict(type="str"),
        ingress_release=dict(type="str", default=""),
        monitoring_release=dict(type="str", default=""),
        verify=dict(type="dict", default={}, options=verify),
        registry=dict(type="dict", default={}, options=registry),
        argocd=dict(type="dict", default={}, options=argocd),
        argocd_repo_url=dict(type="str", default=""),
        network_containers=dict(type="list", elements="str", default=[]),
        cluster_issuers=dict(type="raw"),
        skip=dict(type="dict", default={}),
    ), supports_check_mode=True)
    params = module.params
    if not wiring.HAS_YAML:
        module.fail_json(msg="the Python package PyYAML is required on the managed node")
    bad_links = sorted(set(params["skip"]) - set(wiring.LINKS))
    if bad_links:
        module.fail_json(msg="skip: unknown link(s) %s (links are %s)" % (", ".join(bad_links), ", ".join(wiring.LINKS)),
                         field="skip")
    if not os.path.isdir(params["overlay_path"]):
        module.fail_json(msg="overlay_path: %s is not a directory" % params["overlay_path"], field="overlay_path")
    kind_config = as_objects(module, params["kind_config"], "kind_config")
    try:
        overlay = kustomize_validate.kustomize_build(params["overlay_path"], params["kubectl"])
    except kustomize_validate.ValidationSetupError as error:
        module.fail_json(msg="kubectl: %s" % error, field="kubectl")
    except RuntimeError as error:
        module.fail_json(msg="overlay_path: kubectl kustomize failed: %s" % error, field="overlay_path")
    charts, reason = None, params["charts_reason"]
    if params["render_charts"] and not params["kube_version"]:
        module.fail_json(msg="kube_version: the Kubernetes version to render the charts for is required with render_charts",
                         field="kube_version")
    if params["render_charts"]:
        charts = {}
        for item in params["releases"]:
            try:
                charts[item["name"]] = wiring.render_release(item, params["helm"], params["kube_version"],
                                                             params["chart_dir"], cache_dir=params["render_cache_dir"])
            except RuntimeError as error:
                charts, reason = None, "the charts were not rendered (%s)" % str(error).splitlines()[0]
                break
    inputs = dict(
        kind_config=kind_config[0] if kind_config else None,
        verify=params["verify"],
        registry=params["registry"],
        argocd=params["argocd"],
        argocd_repo_url=params["argocd_repo_url"],
        network_containers=params["network_containers"],
        cluster_issuers=as_objects(module, params["cluster_issuers"], "cluster_issuers") or [],
        ingress_release=params["ingress_release"],
        monitoring_release=params["monitoring_release"],
        charts_reason=reason,
        skip=params["skip"],
    )
    result = wiring.check(inputs, overlay, charts)
    result["charts"] = dict((name, len(objects)) for name, objects in (charts or {}).items())
    result["summary"] = wiring.summary(result)
    if result["broken"]:
        module.fail_json(msg="wiring check: %d broken link(s):\n%s\n%s" % (
            len(result["broken"]), "\n".join(result["broken"]), result["summary"]), changed=False, **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
