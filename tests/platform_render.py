"""The platform as helm really renders it: the releases and merged values the platform role itself computes
(roles/platform/tasks/releases.yml, and release.yml's own expressions), rendered by the real helm v3.19.0 on
the packaged pinned charts (the reference data's helm-charts/), validated offline, and semantic checks on it.
Used by tests/test_platform_render.py."""
import concurrent.futures
import copy
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
REAL_HELM = ROOT / ".tools" / "bin" / "helm"
MODULE_UTILS = ROOT / "collections/ansible_collections/kindling/gitops/plugins/module_utils"
ENVS = ("dev", "qa", "prod")
COMBOS = [(provider, flavor, ingress) for provider in ("kind", "existing") for flavor in ("kubernetes", "openshift")
          for ingress in ("traefik", "ingress-nginx")]
CLUSTER_SCOPED = {"CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "Namespace", "IngressClass",
                  "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService", "PriorityClass",
                  "StorageClass", "PersistentVolume", "ClusterIssuer", "PodSecurityPolicy"}


def _load(name):
    spec = importlib.util.spec_from_file_location(f"kindling_{name}", MODULE_UTILS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


wiring = _load("wiring")
kustomize_validate = _load("kustomize_validate")


def combo_id(combo):
    return "-".join(combo)


def helm_task():
    """The kubernetes.core.helm task of roles/platform/tasks/release.yml that installs the release (the one with
    release_values), with the vars of the blocks around it merged in: what the role passes to helm."""
    tasks = yaml.safe_load((ROOT / "roles/platform/tasks/release.yml").read_text())
    found = []

    def walk(items, inherited):
        for task in items:
            scope = {**inherited, **(task.get("vars") or {})}
            if "block" in task:
                walk(task["block"], scope)
            elif "release_values" in (task.get("kubernetes.core.helm") or {}):
                found.append({**task, "vars": scope})

    walk(tasks, {})
    assert len(found) == 1, "release.yml should have exactly one kubernetes.core.helm task passing release_values"
    return found[0]


def _expr(template):
    """The Jinja expression inside one "{{ ... }}" (release.yml writes each parameter that way)."""
    match = re.fullmatch(r"\s*\{\{(.*)\}\}\s*", str(template), re.DOTALL)
    assert match, f"not a single expression: {template}"
    return match.group(1).strip().replace("role_path", "_platform_role_path")


PLAYBOOK = """
- hosts: build
  gather_facts: false
  vars_files: [{root}/versions.yml]
  # The shared values, as every play of playbooks/ has them.
  roles: [{root}/roles/kindling_defaults]
  tasks:
    - ansible.builtin.include_vars:
        file: {root}/roles/kind_cluster/defaults/main.yml
        name: _kind_defaults
    - ansible.builtin.include_tasks: {combo_tasks}
      loop: {combos}
      loop_control:
        loop_var: combo
    - ansible.builtin.copy:
        content: "{{{{ {{'combos': _out, 'argocd_server_host': argocd_server_host,
                        'kubernetes_version': kubernetes_version}} | to_json }}}}"
        dest: {out}
        mode: "0644"
"""

COMBO_TASKS = """
- ansible.builtin.include_role:
    name: {root}/roles/platform
    tasks_from: releases.yml
  vars:
    cluster_provider: "{{{{ combo[0] }}}}"
    cluster_flavor: "{{{{ combo[1] }}}}"
    ingress_provider: "{{{{ combo[2] }}}}"
- ansible.builtin.set_fact:
    _acc: []
- name: What release.yml passes to kubernetes.core.helm, with its own expressions
  ansible.builtin.set_fact:
    _acc: "{{{{ _acc + [{{'name': {name}, 'namespace': {namespace}, 'chart': {chart}, 'repo_url': {repo},
                         'version': ({version}) | string, 'values': {values},
                         'value_files': platform_release.value_files}}] }}}}"
  loop: "{{{{ platform_releases }}}}"
  loop_control:
    loop_var: platform_release
  vars:
    _platform_role_path: {root}/roles/platform
{helm_vars}
- ansible.builtin.set_fact:
    _out: "{{{{ _out | default({{}}) | combine({{combo | join('-'): {{'releases': _acc, 'role_values': platform_release_values,
             'grafana_host': grafana_host | default(''),
             'kind_config': lookup('ansible.builtin.template', '{root}/roles/kind_cluster/templates/kind-config.yml.j2',
                                   template_vars=_kind_defaults | combine(_kind_set))}}}}) }}}}"
  vars:
    _kind_set:
      kind_cluster_http_port: "{{{{ kind_cluster_http_port }}}}"
      kind_cluster_https_port: "{{{{ kind_cluster_https_port }}}}"
"""


def role_inputs(tmp_dir):
    """{env: {combos: {id: {releases, role_values, kind_config}}, argocd_server_host, kubernetes_version}}, one
    ansible run per env."""
    task = helm_task()
    helm = task["kubernetes.core.helm"]
    helm_vars = "\n".join(f"    {key}: {json.dumps(value)}".replace("role_path", "_platform_role_path")
                          for key, value in (task.get("vars") or {}).items())
    combo_tasks = Path(tmp_dir) / "combo.yml"
    combo_tasks.write_text(COMBO_TASKS.format(
        root=ROOT, name=_expr(helm["release_name"]), namespace=_expr(helm["release_namespace"]),
        chart=_expr(helm["chart_ref"]), repo=_expr(helm["chart_repo_url"]), version=_expr(helm["chart_version"]),
        values=_expr(helm["release_values"]), helm_vars=helm_vars))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_DEPRECATION_WARNINGS="False")

    def run(name):
        out = Path(tmp_dir) / f"{name}.json"
        playbook = Path(tmp_dir) / f"{name}.yml"
        playbook.write_text(PLAYBOOK.format(root=ROOT, combo_tasks=combo_tasks, combos=json.dumps(COMBOS), out=out))
        process = subprocess.run(["ansible-playbook", "-i", str(ROOT / "inventories" / name), str(playbook)],
                                 cwd=ROOT, capture_output=True, text=True, env=env)
        assert process.returncode == 0, process.stdout[-4000:] + process.stderr[-2000:]
        return json.loads(out.read_text())

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(ENVS)) as pool:
        return dict(zip(ENVS, pool.map(run, ENVS)))


def render_key(release, kube):
    return json.dumps([release["name"], release["namespace"], release["chart"], release["version"], kube,
                       release["values"]], sort_keys=True)


class Renders:
    """Each distinct (release, values) rendered once per test session with the real helm on the packaged charts."""

    def __init__(self, chart_dir, kube, cache_dir=None):
        self.chart_dir, self.kube, self.cache, self.count = str(chart_dir), kube, {}, 0
        self.cache_dir = str(cache_dir) if cache_dir else None

    def render(self, release):
        key = render_key(release, self.kube)
        if key not in self.cache:
            assert wiring.chart_archive(self.chart_dir, release["chart"], release["version"]), \
                f"no packaged chart {release['chart']}-{release['version']}.tgz in {self.chart_dir}"
            self.cache[key] = wiring.render_release(release, str(REAL_HELM), self.kube, self.chart_dir,
                                                    cache_dir=self.cache_dir)
            self.count += 1
        return self.cache[key]


# --- validation ---------------------------------------------------------------------------------------------

def crd_schemas(rendered, reference_crds):
    """The CRDs the releases render themselves, plus the reference data's crds/."""
    schemas = kustomize_validate.load_crd_schemas([str(reference_crds)])
    for objects in rendered.values():
        for doc in objects:
            if doc.get("kind") != "CustomResourceDefinition":
                continue
            spec = doc.get("spec") or {}
            for version in spec.get("versions") or []:
                schema = (version.get("schema") or {}).get("openAPIV3Schema")
                if schema and version.get("served", True):
                    schemas[(f"{spec['group']}/{version['name']}", spec["names"]["kind"])] = schema
    return schemas


def validation_errors(rendered, schemas, kube_minor):
    """'release R: Kind ns/name: field: message' for every object that does not conform (no schema is an error)."""
    errors = []
    for release, objects in rendered.items():
        for obj in objects:
            for item in kustomize_validate.schema_findings(obj, kube_minor, schemas):
                errors.append(f"release {release}: {item.get('object', wiring.ident(obj))}: {item['message']}")
    return errors


def identity(obj, release_namespace):
    namespace = "" if obj.get("kind") in CLUSTER_SCOPED else (wiring.meta(obj).get("namespace") or release_namespace)
    return obj.get("kind"), namespace, wiring.meta(obj).get("name")


# --- semantic checks: each returns the problems it finds ---------------------------------------------------------

def deep_merge(base, override):
    """ansible.builtin.combine(recursive=True): mappings merged, everything else replaced."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        merged[key] = deep_merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) \
            else copy.deepcopy(value)
    return merged


def controller_pods(objects):
    return [w for w in objects if w.get("kind") in ("Deployment", "DaemonSet")
            and any(p.get("hostPort") or p.get("name") in ("web", "http") for c in wiring.pod_spec(w).get("containers") or []
                    for p in c.get("ports") or [])]


def binds_kind_ports(objects, release, kind_config):
    """The controller's pod binds every node port kind maps, on the node kind labels, tolerating its taint."""
    problems = []
    for node in kind_config.get("nodes") or []:
        for mapping in node.get("extraPortMappings") or []:
            report = wiring.Report()
            workload = wiring.ingress_controller(report, node, mapping, objects, release)
            problems += report.broken
            if workload is None:
                continue
            tolerations = wiring.pod_spec(workload).get("tolerations") or []
            if node.get("role") == "control-plane" and not any(
                    t.get("key") == "node-role.kubernetes.io/control-plane" and t.get("effect") in (None, "NoSchedule")
                    or (t.get("operator") == "Exists" and not t.get("key")) for t in tolerations):
                problems.append(f"{wiring.ident(workload)}: no toleration of node-role.kubernetes.io/control-plane "
                                f"NoSchedule (tolerations: {tolerations})")
    return problems


def _args(workload):
    return [a for c in wiring.pod_spec(workload).get("containers") or [] for a in (c.get("args") or [])]


def sets_ingress_status(objects, release, on_kind):
    """Ingress status (gitops-engine's Ingress health waits for status.loadBalancer.ingress): traefik with
    ingressEndpoint or publishedService, ingress-nginx with publish-status-address or publish-service; a
    published Service must exist and, on kind (no load balancer), the address must be given directly."""
    services = {f"{wiring.meta(s).get('namespace')}/{wiring.meta(s).get('name')}": s for s in wiring.of_kind(objects, "Service")}
    problems = []
    for workload in controller_pods(objects):
        # Flag names lower-cased (traefik's are case-insensitive); $(POD_NAMESPACE) as the kubelet expands it.
        args = [a.partition("=")[0].lower() + a.partition("=")[1]
                + a.partition("=")[2].replace("$(POD_NAMESPACE)", wiring.meta(workload).get("namespace") or "")
                for a in _args(workload)]
        if release == "traefik":
            endpoint = [a for a in args if a.startswith("--providers.kubernetesingress.ingressendpoint.ip=")
                        or a.startswith("--providers.kubernetesingress.ingressendpoint.hostname=")]
            published = [a.split("=", 1)[1] for a in args
                         if a.startswith("--providers.kubernetesingress.ingressendpoint.publishedservice=")]
        else:
            endpoint = [a for a in args if a.startswith("--publish-status-address=")]
            published = [a.split("=", 1)[1] for a in args if a.startswith("--publish-service=")]
        if endpoint:
            continue
        if not published:
            problems.append(f"{wiring.ident(workload)}: sets no Ingress status (no ingressEndpoint / publish address "
                            f"and no published Service in its args)")
            continue
        service = services.get(published[0])
        if service is None:
            problems.append(f"{wiring.ident(workload)}: publishes Service {published[0]}, which the release does not render")
        elif on_kind or (service.get("spec") or {}).get("type") != "LoadBalancer":
            problems.append(f"{wiring.ident(workload)}: publishes Service {published[0]} of type "
                            f"{(service.get('spec') or {}).get('type', 'ClusterIP')}"
                            f"{' on kind (no load balancer)' if on_kind else ''}: it never gets an address, so no "
                            f"Ingress gets status")
    if not controller_pods(objects):
        problems.append(f"release {release}: no controller Deployment/DaemonSet rendered")
    return problems


ARGOCD_CM_ONLY = ("timeout.reconciliation", "timeout.hard.reconciliation", "url")


def argocd_settings(objects, values, server_host):
    """argocd-server runs insecure (plain HTTP behind the ingress), argocd-cm carries timeout.reconciliation
    and the url of the argocd role's host, and nothing argocd-cm reads sits in argocd-cmd-params-cm."""
    maps = {wiring.meta(c).get("name"): c.get("data") or {} for c in wiring.of_kind(objects, "ConfigMap")}
    cm, params = maps.get("argocd-cm"), maps.get("argocd-cmd-params-cm")
    problems = []
    if cm is None or params is None:
        return [f"argocd-cm or argocd-cmd-params-cm not rendered (ConfigMaps: {sorted(maps)})"]
    if params.get("server.insecure") != "true":
        problems.append(f"argocd-cmd-params-cm server.insecure is {params.get('server.insecure')!r}, not 'true'")
    server = [d for d in wiring.of_kind(objects, "Deployment")
              if (wiring.meta(d).get("labels") or {}).get("app.kubernetes.io/component") == "server"]
    if not server:
        problems.append("no argocd-server Deployment (app.kubernetes.io/component=server) rendered")
    env = [e for d in server for c in wiring.pod_spec(d).get("containers") or [] for e in c.get("env") or []
           if e.get("name") == "ARGOCD_SERVER_INSECURE"]
    ref = ((env[0].get("valueFrom") or {}).get("configMapKeyRef") or {}) if env else {}
    if (ref.get("name"), ref.get("key")) != ("argocd-cmd-params-cm", "server.insecure"):
        problems.append(f"argocd-server does not read ARGOCD_SERVER_INSECURE from argocd-cmd-params-cm (env: {env})")
    for key in ARGOCD_CM_ONLY:
        if key in params:
            problems.append(f"argocd-cmd-params-cm carries {key}={params[key]}, which Argo CD reads only from argocd-cm")
    wanted = {**((values.get("configs") or {}).get("params") or {}), **((values.get("configs") or {}).get("cm") or {})}
    if "timeout.reconciliation" in wanted and cm.get("timeout.reconciliation") != str(wanted["timeout.reconciliation"]):
        problems.append(f"argocd-cm timeout.reconciliation is {cm.get('timeout.reconciliation')}, the role's values "
                        f"mean {wanted['timeout.reconciliation']}")
    host = wiring.urlsplit(cm.get("url", "")).hostname
    if host != server_host:
        problems.append(f"argocd-cm url {cm.get('url')} (host {host}) != the argocd role's argocd_server_host {server_host}")
    return problems


def webhook_ready_before_issuers(objects):
    """The cert-manager webhook Deployment has a readiness probe (helm --wait waits for it), release.yml waits,
    and the role applies the issuers only after the releases (main.yml's order)."""
    problems = []
    webhooks = [d for d in wiring.of_kind(objects, "Deployment") if "webhook" in wiring.meta(d).get("name", "")]
    if not webhooks:
        problems.append("no cert-manager webhook Deployment rendered")
    for webhook in webhooks:
        if not all(c.get("readinessProbe") for c in wiring.pod_spec(webhook).get("containers") or []):
            problems.append(f"{wiring.ident(webhook)}: a container without readinessProbe; helm --wait would not wait "
                            f"for the webhook to serve")
    helm = helm_task()["kubernetes.core.helm"]
    if helm.get("wait") is not True:
        problems.append(f"release.yml's kubernetes.core.helm has wait: {helm.get('wait')!r}, not true")
    main = yaml.safe_load((ROOT / "roles/platform/tasks/main.yml").read_text())

    def flat(tasks):  # the tasks in run order, blocks opened
        for task in tasks:
            yield from flat(task["block"]) if "block" in task else [task]
    order = [str(t.get("ansible.builtin.include_tasks") or t.get("ansible.builtin.import_tasks") or "")
             for t in flat(main)]
    if "release.yml" not in order or "issuers.yml" not in order or order.index("release.yml") > order.index("issuers.yml"):
        problems.append(f"roles/platform/tasks/main.yml does not install the releases before the issuers (order: {order})")
    return problems


def duplicates(rendered, namespaces):
    seen, problems = {}, []
    for release, objects in rendered.items():
        for obj in objects:
            key = identity(obj, namespaces[release])
            if key in seen and seen[key] != release:
                problems.append(f"{key[0]} {key[1]}/{key[2]} rendered by both {seen[key]} and {release}")
            seen.setdefault(key, release)
    return problems
