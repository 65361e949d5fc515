# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The wiring check: follow each link of the request, image, GitOps, monitoring and TLS paths through the
rendered artifacts (kind config, Helm charts, the app's overlay, the roles' templates) and report every link
whose two ends disagree, as one line naming both ends and the values.

Pure functions over plain data (dicts and lists as `yaml.safe_load` gives them), importable without Ansible;
`render_release` is the one function that runs a program (helm template).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported by the collection
    from urlparse import urlsplit

try:
    import yaml
    HAS_YAML = True

    class _Loader(getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader):
        """SafeLoader plus YAML 1.1's `=` value tag, which PyYAML resolves but cannot construct (charts'
        CRDs have `- =` in enums, e.g. the Prometheus operator's relabel actions)."""

    _Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))
    _LOADER = _Loader
except ImportError:
    HAS_YAML = False

LINKS = {
    "ingress": "ingress path (verify_ingress_url -> kind -> controller -> Ingress -> Service -> container -> PORT)",
    "port-forward": "direct path (verify's port-forward -> Service ports -> container -> PORT/METRICS_PORT)",
    "image": "image (overlay image -> the node's registry mirror -> the registry container's network)",
    "gitops-repo": "GitOps repository (the Application's repoURL -> a server the cluster reaches)",
    "argocd-app": "Argo CD Application (repoURL, path, targetRevision, destination -> the repository, the overlay, "
                  "its namespace; the AppProject admits them)",
    "monitoring": "monitoring (ServiceMonitor -> Service, Prometheus selectors, job label)",
    "tls": "TLS (Ingress cluster-issuer -> ClusterIssuer)",
    "dashboard": "dashboard (the overlay's dashboard ConfigMap -> Grafana's sidecar, its datasource -> Prometheus' Service)",
    "probes": "probes (each readiness/liveness/startup probe's port -> a port of its container)",
}
WORKLOAD_KINDS = ("Deployment", "DaemonSet", "StatefulSet")


# --- rendering ---------------------------------------------------------------------------------------------

def chart_archive(chart_dir, chart, version):
    """The packaged chart <chart>-<version>.tgz in chart_dir, or None."""
    if not chart_dir:
        return None
    path = os.path.join(chart_dir, "%s-%s.tgz" % (chart, version))
    return path if os.path.isfile(path) else None


def helm_template_argv(release, helm, kube_version, values_file, chart_dir=None):
    """`helm template` for one release: the local archive when chart_dir has it, else the chart repository."""
    argv = [helm, "template", release["name"]]
    archive = chart_archive(chart_dir, release["chart"], release["version"])
    if archive:
        argv.append(archive)
    else:
        argv += [release["chart"], "--repo", release["repo_url"], "--version", str(release["version"])]
    argv += ["--namespace", release["namespace"], "--kube-version", str(kube_version), "--include-crds",
             "--values", values_file]
    return argv


def _file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def render_key(release, helm, kube_version, chart_dir):
    """What a render of a local chart archive depends on, as a sha256: the archive's bytes, the release's name,
    namespace and values, the Kubernetes version, and the helm binary (its path, size and mtime). None for a
    chart from a repository: its bytes are not known before it is fetched."""
    archive = chart_archive(chart_dir, release["chart"], release["version"])
    if not archive:
        return None
    binary = shutil.which(helm) or helm
    try:
        helm_stat = os.stat(binary)
        helm_id = [os.path.realpath(binary), helm_stat.st_size, int(helm_stat.st_mtime)]
    except OSError:
        helm_id = [binary]
    inputs = [_file_sha256(archive), release["name"], release["namespace"], release.get("values") or {},
              str(kube_version), helm_id]
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def render_release(release, helm, kube_version, chart_dir=None, timeout=300, cache_dir=None):
    """Every object `helm template` renders for the release with its merged values (raises RuntimeError).

    With cache_dir, a render of a local archive is kept there under render_key and read back by the next call
    with the same inputs (helm template is deterministic for them); one file per key, written atomically."""
    key = render_key(release, helm, kube_version, chart_dir) if cache_dir else None
    cached = os.path.join(cache_dir, key + ".json") if key else None
    if cached and os.path.isfile(cached):
        with open(cached) as handle:
            return json.load(handle)
    objects = _render(release, helm, kube_version, chart_dir, timeout)
    try:
        text = json.dumps(objects) if cached else None
    except TypeError:  # a value JSON cannot hold (a YAML timestamp): such a render is not kept
        text = None
    if text is not None:
        if not os.path.isdir(cache_dir):
            os.makedirs(cache_dir)
        handle, partial = tempfile.mkstemp(dir=cache_dir, prefix=".render-")
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.rename(partial, cached)
    return objects


def _render(release, helm, kube_version, chart_dir, timeout):
    workdir = tempfile.mkdtemp(prefix="kindling-wiring-")
    try:
        values_file = os.path.join(workdir, "values.json")
        with open(values_file, "w") as handle:
            json.dump(release.get("values") or {}, handle)
        argv = helm_template_argv(release, helm, kube_version, values_file, chart_dir)
        try:
            process = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise RuntimeError("cannot run %s: %s" % (helm, error))
        if process.returncode != 0:
            raise RuntimeError("helm template %s failed: %s" % (release["name"],
                                                                (process.stderr or process.stdout).strip()))
        return [doc for doc in yaml.load_all(process.stdout, Loader=_LOADER) if isinstance(doc, dict)]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# --- small helpers over objects ------------------------------------------------------------------------------

def meta(obj):
    return obj.get("metadata") or {}


def ident(obj):
    namespace = meta(obj).get("namespace")
    return "%s %s%s" % (obj.get("kind"), (namespace + "/") if namespace else "", meta(obj).get("name"))


def of_kind(objects, kind):
    return [obj for obj in objects or [] if obj.get("kind") == kind]


def pod_spec(obj):
    return ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}


def pod_labels(obj):
    return meta((obj.get("spec") or {}).get("template") or {}).get("labels") or {}


def labels_match(selector, labels):
    """A LabelSelector ({matchLabels, matchExpressions}); None selects nothing, {} everything."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def fmt_labels(labels):
    return ",".join("%s=%s" % item for item in sorted((labels or {}).items())) or "(none)"


def fmt_selector(selector):
    if selector is None:
        return "nil"
    parts = ["%s=%s" % item for item in sorted((selector.get("matchLabels") or {}).items())]
    parts += ["%s %s %s" % (e.get("key"), e.get("operator"), e.get("values") or "")
              for e in selector.get("matchExpressions") or []]
    return ",".join(parts) or "{} (everything)"


def service_port(service, wanted):
    """The Service port a number or a name refers to (kubectl port-forward, an Ingress backend), or None."""
    for port in (service.get("spec") or {}).get("ports") or []:
        if isinstance(wanted, int) or str(wanted).isdigit():
            if port.get("port") == int(wanted):
                return port
        elif port.get("name") == wanted:
            return port
    return None


def fmt_ports(service):
    return ", ".join("%s%s" % (p.get("port"), " (%s)" % p["name"] if p.get("name") else "")
                     for p in (service.get("spec") or {}).get("ports") or []) or "none"


def selected_workloads(service, objects):
    selector = (service.get("spec") or {}).get("selector") or {}
    namespace = meta(service).get("namespace")
    return [w for w in objects if w.get("kind") in WORKLOAD_KINDS and meta(w).get("namespace") == namespace
            and selector and all(pod_labels(w).get(k) == v for k, v in selector.items())]


def container_port(workload, target):
    """(container, port) a Service targetPort (number or name) reaches in the workload's pods, or (None, None)."""
    for container in pod_spec(workload).get("containers") or []:
        for port in container.get("ports") or []:
            if (isinstance(target, int) and port.get("containerPort") == target) or port.get("name") == target:
                return container, port
    return None, None


def config_values(workload, objects):
    """The environment a container gets from ConfigMaps (envFrom) and env values, merged."""
    namespace = meta(workload).get("namespace")
    maps = dict((meta(c).get("name"), c.get("data") or {}) for c in of_kind(objects, "ConfigMap")
                if meta(c).get("namespace") == namespace)
    environment = {}
    for container in pod_spec(workload).get("containers") or []:
        for source in container.get("envFrom") or []:
            environment.update(maps.get((source.get("configMapRef") or {}).get("name"), {}))
        for item in container.get("env") or []:
            if "value" in item:
                environment[item["name"]] = item["value"]
    return environment


# --- the links --------------------------------------------------------------------------------------------------

class Report(object):
    def __init__(self):
        self.broken, self.not_followed, self.followed = [], [], []

    def bad(self, link, message):
        self.broken.append("(%s) %s" % (link, message))

    def skip(self, link, message):
        self.not_followed.append("(%s) %s" % (link, message))

    def ok(self, link, message):
        self.followed.append("(%s) %s" % (link, message))

    def as_dict(self):
        return {"broken": self.broken, "not_followed": self.not_followed, "followed": self.followed}


def url_parts(url):
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, parts.hostname, port


def _address_matches(listen, host):
    if listen in (None, "", "0.0.0.0", "::"):
        return True
    loopback = ("127.0.0.1", "localhost", "::1")
    return listen == host or (listen in loopback and host in loopback)


def kind_mapping(report, kind_config, url):
    """(node, mapping) of kind's extraPortMappings that the verify URL's host:port reaches."""
    scheme, host, port = url_parts(url)
    mappings = []
    for node in kind_config.get("nodes") or []:
        for mapping in node.get("extraPortMappings") or []:
            mappings.append((node, mapping))
            if mapping.get("hostPort") == port and _address_matches(mapping.get("listenAddress"), host):
                report.ok("ingress", "verify_ingress_url %s -> kind %s:%s -> node port %s" % (
                    url, mapping.get("listenAddress") or "0.0.0.0", port, mapping.get("containerPort")))
                return node, mapping
    published = ", ".join("%s:%s->%s" % (m.get("listenAddress") or "0.0.0.0", m.get("hostPort"), m.get("containerPort"))
                          for _n, m in mappings) or "none"
    report.bad("ingress", "verify_ingress_url %s (host %s, port %s) -> kind extraPortMappings: no mapping publishes "
               "that address and port (mappings: %s)" % (url, host, port, published))
    return None, None


def node_labels(node):
    """A kind node's labels: the config's, plus the well-known ones the kubelet populates itself (kubernetes.io/os,
    arch, hostname: kubernetes/kubernetes staging/src/k8s.io/api/core/v1/well_known_labels.go and the
    "Well-Known Labels" reference) and the node-role label kubeadm puts on a control plane."""
    labels = {"kubernetes.io/os": "linux"}
    if node.get("role", "control-plane") == "control-plane":
        labels["node-role.kubernetes.io/control-plane"] = ""
    labels.update(dict((k, str(v)) for k, v in (node.get("labels") or {}).items()))
    return labels


# Labels whose value depends on the machine (kubelet sets them): a nodeSelector on them is not judged offline.
MACHINE_LABELS = ("kubernetes.io/arch", "kubernetes.io/hostname")


def ingress_controller(report, node, mapping, controller_objects, release):
    """The controller's pod must bind the node port kind maps (hostPort) on the node kind labels."""
    node_port = mapping.get("containerPort")
    bound = []
    for workload in controller_objects:
        if workload.get("kind") not in ("Deployment", "DaemonSet"):
            continue
        spec = pod_spec(workload)
        for container in spec.get("containers") or []:
            for port in container.get("ports") or []:
                if port.get("hostPort") is not None:
                    bound.append(port.get("hostPort"))
                if port.get("hostPort") == node_port:
                    labels = node_labels(node)
                    selector = spec.get("nodeSelector") or {}
                    if not all(k in MACHINE_LABELS or labels.get(k) == str(v) for k, v in selector.items()):
                        report.bad("ingress", "%s nodeSelector %s -> kind node %s labels %s: the controller's pod is "
                                   "never scheduled on the node kind maps port %s to" % (
                                       ident(workload), fmt_labels(selector), node.get("role"),
                                       fmt_labels(labels), node_port))
                        return None
                    report.ok("ingress", "kind node port %s -> %s hostPort %s (containerPort %s)" % (
                        node_port, ident(workload), node_port, port.get("containerPort")))
                    return workload
    report.bad("ingress", "kind containerPort %s -> ingress controller (release %s): no pod binds hostPort %s "
               "(hostPorts: %s)" % (node_port, release, node_port, ", ".join(map(str, sorted(bound))) or "none"))
    return None


def ingress_classes(objects):
    return [meta(c).get("name") for c in of_kind(objects, "IngressClass")]


def app_ingress(report, overlay, host, classes, issuers_check=True):
    """The overlay's Ingress rule for host and the Service port its backend names."""
    rules = []
    for ingress in of_kind(overlay, "Ingress"):
        spec = ingress.get("spec") or {}
        for rule in spec.get("rules") or []:
            rules.append(rule.get("host"))
            if rule.get("host") != host:
                continue
            if classes is not None and spec.get("ingressClassName") not in classes:
                report.bad("ingress", "%s ingressClassName %s -> the controller's IngressClass %s: no controller "
                           "serves this Ingress" % (ident(ingress), spec.get("ingressClassName"),
                                                    ", ".join(classes) or "none"))
            for path in (rule.get("http") or {}).get("paths") or []:
                if path.get("path", "/") == "/" or path.get("pathType") == "ImplementationSpecific" and not path.get("path"):
                    backend = (path.get("backend") or {}).get("service") or {}
                    port = backend.get("port") or {}
                    report.ok("ingress", "verify_ingress_host %s -> %s path / -> service %s port %s" % (
                        host, ident(ingress), backend.get("name"), port.get("number", port.get("name"))))
                    return ingress, backend.get("name"), port.get("number", port.get("name"))
            report.bad("ingress", "%s rule for host %s -> verify's requests to /, /health, /metrics: no path / "
                       "(paths: %s)" % (ident(ingress), host, ", ".join(
                           p.get("path", "") for p in (rule.get("http") or {}).get("paths") or [])))
            return ingress, None, None
    report.bad("ingress", "verify_ingress_host %s -> the overlay's Ingress rules: no rule for that host (hosts: %s)"
               % (host, ", ".join(str(h) for h in rules) or "none"))
    return None, None, None


def service_to_app(report, link, origin, service, port_ref, overlay, setting):
    """Service port -> targetPort -> container port -> the app's setting (PORT / METRICS_PORT)."""
    port = service_port(service, port_ref)
    if port is None:
        report.bad(link, "%s -> %s: no Service port %s (ports: %s)" % (
            origin, ident(service), port_ref, fmt_ports(service)))
        return
    target = port.get("targetPort", port.get("port"))
    workloads = selected_workloads(service, overlay)
    if not workloads:
        report.bad(link, "%s selector %s -> pods: no workload in the overlay carries those labels" % (
            ident(service), fmt_labels((service.get("spec") or {}).get("selector"))))
        return
    for workload in workloads:
        container, cport = container_port(workload, target)
        if cport is None:
            report.bad(link, "%s port %s targetPort %s -> %s containers: no container port %s" % (
                ident(service), port.get("port"), target, ident(workload), target))
            continue
        environment = config_values(workload, overlay)
        name = setting if setting else ("METRICS_PORT" if cport.get("name") == "metrics" else "PORT")
        if name not in environment:
            report.bad(link, "%s container %s port %s -> the app's %s: not set in its ConfigMap or env" % (
                ident(workload), container.get("name"), cport.get("containerPort"), name))
        elif str(environment[name]) != str(cport.get("containerPort")):
            report.bad(link, "%s container %s port %s (%s) -> the app's %s=%s: the app listens elsewhere" % (
                ident(workload), container.get("name"), cport.get("name"), cport.get("containerPort"), name,
                environment[name]))
        else:
            report.ok(link, "%s -> %s port %s -> targetPort %s -> %s container port %s == %s" % (
                origin, ident(service), port.get("port"), target, ident(workload), cport.get("containerPort"), name))


def find_service(overlay, name):
    for service in of_kind(overlay, "Service"):
        if meta(service).get("name") == name:
            return service
    return None


def check_ingress_path(report, inputs, overlay, charts):
    verify = inputs.get("verify") or {}
    url, host = verify.get("ingress_url"), verify.get("ingress_host")
    kind_config = inputs.get("kind_config")
    release = inputs.get("ingress_release")
    controller = charts.get(release) if charts is not None and release else None
    classes = ingress_classes(controller) if controller is not None else None
    if kind_config is None:
        report.skip("ingress", "verify_ingress_url -> kind extraPortMappings: not a kind cluster (cluster_provider "
                    "existing): the ingress address is the cluster's own")
    else:
        node, mapping = kind_mapping(report, kind_config, url)
        if mapping is not None:
            if controller is None:
                report.skip("ingress", "kind node port %s -> the ingress controller's hostPort: %s" % (
                    mapping.get("containerPort"), inputs.get("charts_reason") or "the charts were not rendered"))
            else:
                ingress_controller(report, node, mapping, controller, release)
    if controller is None and release:
        report.skip("ingress", "Ingress ingressClassName -> the controller's IngressClass: %s" % (
            inputs.get("charts_reason") or "the charts were not rendered"))
    ingress, service_name, port_ref = app_ingress(report, overlay, host, classes)
    if service_name is None:
        return
    service = find_service(overlay, service_name)
    if service is None:
        report.bad("ingress", "%s backend service %s -> the overlay's Services: no such Service (Services: %s)" % (
            ident(ingress), service_name, ", ".join(meta(s).get("name") for s in of_kind(overlay, "Service"))
            or "none"))
        return
    service_to_app(report, "ingress", "%s backend port %s" % (ident(ingress), port_ref), service, port_ref, overlay, "PORT")


def check_port_forward(report, inputs, overlay):
    verify = inputs.get("verify") or {}
    service = find_service(overlay, verify.get("service_name"))
    if service is None:
        report.bad("port-forward", "verify port-forward service/%s -> the overlay's Services: no such Service "
                                   "(Services: %s)" % (verify.get("service_name"), ", ".join(
                                       meta(s).get("name") for s in of_kind(overlay, "Service")) or "none"))
        return
    # verify_service_ports: the REMOTE side of each LOCAL:REMOTE the verify role passes to kubectl port-forward.
    remotes = sorted((verify.get("service_ports") or {}).items())
    if not remotes:
        report.bad("port-forward", "verify_service_ports -> Service %s: no port to forward" % ident(service))
    for key, remote in remotes:
        remote = int(remote) if str(remote).isdigit() else remote
        service_to_app(report, "port-forward", "verify_service_ports.%s %s" % (key, remote), service, remote,
                       overlay, None)


def image_registry_host(image):
    name = image.split("@", 1)[0]
    first = name.split("/", 1)[0]
    if "/" in name and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def check_image(report, inputs, overlay):
    registry = inputs.get("registry") or {}
    images = [c.get("image", "") for w in overlay if w.get("kind") in WORKLOAD_KINDS
              for c in pod_spec(w).get("containers") or []]
    if not images:
        report.bad("image", "the overlay's workloads -> image: no container image rendered")
        return
    mirror = registry.get("mirror_host")
    kind_network = registry.get("kind_network", "kind")
    for image in images:
        host = image_registry_host(image)
        local = host.split(":")[0] in ("localhost", "127.0.0.1")
        if not local:
            report.skip("image", "image %s -> registry %s: not the local registry; the nodes pull from it directly "
                                 "(reachability is not checked offline)" % (image, host))
        elif host != mirror:
            report.bad("image", "image %s (registry %s) -> containerd hosts.toml (certs.d/%s): no hosts.toml for "
                                "%s, so the nodes would pull from their own loopback" % (image, host, mirror, host))
        elif registry.get("network") != kind_network:
            report.bad("image", "registry container %s on network %s -> kind nodes on network %s: not the same "
                                "network, so the nodes cannot resolve %s" % (
                                    registry.get("name"), registry.get("network"), kind_network, registry.get("name")))
        else:
            # The hosts.toml's upstream and the container's name and port come from the same variables
            # (roles/local_registry), so they cannot disagree: nothing to follow there.
            report.ok("image", "image %s -> hosts.toml certs.d/%s -> container %s on network %s" % (
                image, mirror, registry.get("name"), registry.get("network")))


SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")


def check_repo(report, inputs):
    application = (inputs.get("argocd") or {}).get("application")
    if application:
        url = ((application.get("spec") or {}).get("source") or {}).get("repoURL") or ""
    else:
        url = inputs.get("argocd_repo_url") or ""
    containers = inputs.get("network_containers") or []
    on_kind = inputs.get("kind_config") is not None
    if SCP_LIKE.match(url):
        report.ok("gitops-repo", "repoURL %s -> an ssh remote (reachability is not checked offline)" % url)
        return
    scheme, host, _port = url_parts(url) if "://" in url else ("", None, None)
    if not scheme:
        report.bad("gitops-repo", "repoURL %s -> Argo CD's repo-server in the cluster: not a URL (a path on the "
                   "build host, which the cluster cannot read); use git:// or http(s):// of a server it reaches"
                   % (url or "(empty)"))
        return
    if host in ("localhost", "127.0.0.1", "::1"):
        report.bad("gitops-repo", "repoURL %s -> Argo CD's repo-server: %s is the pod's own loopback, not the build "
                   "host" % (url, host))
        return
    names = [c if isinstance(c, str) else c.get("name") for c in containers]
    looks_like_container = host and "." not in host and not re.match(r"^[\d:]+$", host)
    if scheme in ("git", "http", "https") and looks_like_container and on_kind:
        if host in names:
            report.ok("gitops-repo", "repoURL %s -> container %s on the kind network" % (url, host))
        else:
            report.bad("gitops-repo", "repoURL %s -> a container named %s on the kind network: no such container "
                       "is created (containers: %s)" % (url, host, ", ".join(names) or "none"))
        return
    report.ok("gitops-repo", "repoURL %s -> %s server %s (reachability is not checked offline)" % (url, scheme, host))


JOB_MATCHER = re.compile(r'\bjob\s*=\s*"([^"]*)"')


def platform_monitor_jobs(objects):
    """{job: ServiceMonitor} for the ServiceMonitors a chart renders. prometheus-operator (pkg/prometheus/promcfg.go)
    sets job from the Service's jobLabel label, else the Service's name: the label's value is taken from the
    selector when it pins it (the kubelet's Service is made by the operator, not the chart), else from the
    rendered Services the selector matches."""
    services = of_kind(objects, "Service")
    jobs = {}
    for monitor in of_kind(objects, "ServiceMonitor"):
        spec = monitor.get("spec") or {}
        selector = spec.get("selector") or {}
        job_label = spec.get("jobLabel")
        if job_label and job_label in (selector.get("matchLabels") or {}):
            jobs[selector["matchLabels"][job_label]] = ident(monitor)
            continue
        for service in services:
            if labels_match(selector, meta(service).get("labels") or {}):
                labels = meta(service).get("labels") or {}
                job = labels.get(job_label) if job_label else meta(service).get("name")
                if job:
                    jobs[job] = ident(monitor)
    return jobs


def check_monitoring(report, inputs, overlay, charts):
    namespace_labels_cache = {}

    def namespace_labels(namespace):
        if namespace not in namespace_labels_cache:
            labels = {"kubernetes.io/metadata.name": namespace}
            for ns in of_kind(overlay, "Namespace"):
                if meta(ns).get("name") == namespace:
                    labels.update(meta(ns).get("labels") or {})
            namespace_labels_cache[namespace] = labels
        return namespace_labels_cache[namespace]

    monitors = of_kind(overlay, "ServiceMonitor")
    services = of_kind(overlay, "Service")
    jobs = {}
    for monitor in monitors:
        spec = monitor.get("spec") or {}
        namespace = meta(monitor).get("namespace")
        allowed = (spec.get("namespaceSelector") or {}).get("matchNames") or [namespace]
        matched = [s for s in services if meta(s).get("namespace") in allowed
                   and labels_match(spec.get("selector") or {}, meta(s).get("labels") or {})]
        if not matched:
            report.bad("monitoring", "%s selector %s -> Services: none in %s carries those labels (Services: %s)" % (
                ident(monitor), fmt_selector(spec.get("selector")), ", ".join(allowed),
                "; ".join("%s %s" % (ident(s), fmt_labels(meta(s).get("labels"))) for s in services) or "none"))
            continue
        for service in matched:
            names = [p.get("name") for p in (service.get("spec") or {}).get("ports") or []]
            for endpoint in spec.get("endpoints") or []:
                if endpoint.get("port") and endpoint["port"] not in names:
                    report.bad("monitoring", "%s endpoint port %s -> %s port names %s: no such port name" % (
                        ident(monitor), endpoint["port"], ident(service), ", ".join(str(n) for n in names)))
                else:
                    report.ok("monitoring", "%s port %s -> %s" % (ident(monitor), endpoint.get("port"), ident(service)))
            job_label = spec.get("jobLabel")
            job = (meta(service).get("labels") or {}).get(job_label) if job_label else meta(service).get("name")
            jobs.setdefault(namespace, set()).add(job)
    monitoring = inputs.get("monitoring_release")
    # Rules may also select the platform's own jobs (kube-state-metrics, the kubelet's cAdvisor): those come from
    # the ServiceMonitors the monitoring chart renders, so they can be followed only when it was rendered.
    platform_rendered = bool(monitoring) and charts is not None and monitoring in charts
    platform_jobs = platform_monitor_jobs(charts[monitoring]) if platform_rendered else {}
    rules = of_kind(overlay, "PrometheusRule")
    for rule in rules:
        wanted = set()
        for group in (rule.get("spec") or {}).get("groups") or []:
            for item in group.get("rules") or []:
                wanted.update(JOB_MATCHER.findall(str(item.get("expr", ""))))
        known = jobs.get(meta(rule).get("namespace"), set())
        for job in sorted(wanted):
            if job in known:
                report.ok("monitoring", "%s job=\"%s\" -> ServiceMonitor job %s" % (ident(rule), job, job))
            elif job in platform_jobs:
                report.ok("monitoring", "%s job=\"%s\" -> %s's %s" % (ident(rule), job, monitoring, platform_jobs[job]))
            elif not platform_rendered and monitoring:
                report.skip("monitoring", "%s job=\"%s\" -> a ServiceMonitor of %s: %s" % (
                    ident(rule), job, monitoring, inputs.get("charts_reason") or "the charts were not rendered"))
            else:
                report.bad("monitoring", "%s rules select job=\"%s\" -> the job the operator sets from the ServiceMonitor "
                           "(the Service's name, or its jobLabel): %s" % (
                               ident(rule), job,
                               ", ".join(sorted(str(j) for j in set(known) | set(platform_jobs)))
                               or "no ServiceMonitor"))
    if not monitoring:
        report.skip("monitoring", "Prometheus' selectors -> the app's ServiceMonitor and PrometheusRule: no monitoring release "
                    "(platform_monitoring_enabled false)")
        return
    if charts is None or monitoring not in charts:
        report.skip("monitoring", "Prometheus' selectors -> the app's ServiceMonitor and PrometheusRule: %s" % (
            inputs.get("charts_reason") or "the charts were not rendered"))
        return
    prometheuses = of_kind(charts[monitoring], "Prometheus")
    if not prometheuses:
        report.bad("monitoring", "release %s -> a Prometheus: the chart renders no Prometheus object" % monitoring)
    for prometheus in prometheuses:
        spec = prometheus.get("spec") or {}
        own_namespace = meta(prometheus).get("namespace")
        for kind, selector_key in (("ServiceMonitor", "serviceMonitor"), ("PrometheusRule", "rule")):
            selector = spec.get(selector_key + "Selector")
            namespace_selector = spec.get(selector_key + "NamespaceSelector")
            for obj in of_kind(overlay, kind):
                namespace = meta(obj).get("namespace")
                if not labels_match(selector, meta(obj).get("labels") or {}):
                    report.bad("monitoring", "%s %sSelector %s -> %s labels %s: not selected" % (
                        ident(prometheus), selector_key, fmt_selector(selector), ident(obj),
                        fmt_labels(meta(obj).get("labels"))))
                elif namespace_selector is None and namespace != own_namespace:
                    report.bad("monitoring", "%s %sNamespaceSelector nil (its own namespace %s only) -> %s in namespace %s: "
                               "not selected" % (ident(prometheus), selector_key, own_namespace, ident(obj),
                                                 namespace))
                elif namespace_selector is not None and not labels_match(
                        namespace_selector, namespace_labels(namespace)):
                    report.bad("monitoring", "%s %sNamespaceSelector %s -> namespace %s labels %s: not selected" % (
                        ident(prometheus), selector_key, fmt_selector(namespace_selector), namespace,
                        fmt_labels(namespace_labels(namespace))))
                else:
                    report.ok("monitoring", "%s %sSelector -> %s" % (ident(prometheus), selector_key, ident(obj)))


def check_tls(report, inputs, overlay):
    issuers = [meta(i).get("name") for i in of_kind(inputs.get("cluster_issuers") or [], "ClusterIssuer")]
    ingresses = of_kind(overlay, "Ingress")
    if not ingresses:
        report.skip("tls", "Ingress cert-manager.io/cluster-issuer -> ClusterIssuer: the overlay has no Ingress")
    for ingress in ingresses:
        wanted = (meta(ingress).get("annotations") or {}).get("cert-manager.io/cluster-issuer")
        if wanted is None:
            report.skip("tls", "%s: no cert-manager.io/cluster-issuer annotation" % ident(ingress))
        elif wanted not in issuers:
            report.bad("tls", "%s annotation cert-manager.io/cluster-issuer %s -> the platform's ClusterIssuers %s: "
                       "no such issuer" % (ident(ingress), wanted, ", ".join(issuers) or "none"))
        else:
            report.ok("tls", "%s cluster-issuer %s -> ClusterIssuer %s" % (ident(ingress), wanted, wanted))


def overlay_dashboards(overlay):
    """[(ConfigMap, file name, dashboard)] for each Grafana dashboard (JSON with panels) a ConfigMap of the overlay holds."""
    found = []
    for config_map in of_kind(overlay, "ConfigMap"):
        for name, text in sorted((config_map.get("data") or {}).items()):
            if not name.endswith(".json"):
                continue
            try:
                model = json.loads(text)
            except ValueError:
                continue
            if isinstance(model, dict) and isinstance(model.get("panels"), list):
                found.append((config_map, name, model))
    return found


def container_env(container):
    return dict((e.get("name"), e.get("value")) for e in container.get("env") or [] if "value" in e)


def grafana_sidecars(objects, folder_hint):
    """[(workload, env)] of the chart's Grafana sidecar containers of one kind (k8s-sidecar: LABEL, LABEL_VALUE,
    NAMESPACE, FOLDER), told apart by the container name the grafana chart gives them (grafana-sc-<kind>)."""
    found = []
    for workload in [o for kind in WORKLOAD_KINDS for o in of_kind(objects, kind)]:
        for container in pod_spec(workload).get("containers") or []:
            env = container_env(container)
            if "LABEL" in env and folder_hint in (container.get("name") or ""):
                found.append((workload, env))
    return found


def dashboard_datasource_uids(model):
    uids = set()
    for panel in model.get("panels") or []:
        for item in [panel] + list(panel.get("targets") or []):
            source = item.get("datasource")
            if isinstance(source, dict) and source.get("uid"):
                uids.add(source["uid"])
    return uids


def check_dashboard(report, inputs, overlay, charts):
    dashboards = overlay_dashboards(overlay)
    if not dashboards:
        report.skip("dashboard", "dashboard ConfigMap -> Grafana's sidecar: the overlay ships no dashboard")
        return
    monitoring = inputs.get("monitoring_release")
    if not monitoring:
        report.skip("dashboard", "dashboard ConfigMap -> Grafana's sidecar: no monitoring release (platform_monitoring_enabled false)")
        return
    if charts is None or monitoring not in charts:
        report.skip("dashboard", "dashboard ConfigMap -> Grafana's sidecar: %s" % (
            inputs.get("charts_reason") or "the charts were not rendered"))
        return
    objects = charts[monitoring]
    sidecars = grafana_sidecars(objects, "sc-dashboard")
    if not sidecars:
        report.bad("dashboard", "release %s -> Grafana's dashboard sidecar: the chart renders none (grafana.enabled and "
                   "grafana.sidecar.dashboards.enabled in its values)" % monitoring)
        return
    datasources = {}
    for _workload, env in grafana_sidecars(objects, "sc-datasource"):
        for config_map in of_kind(objects, "ConfigMap"):
            labels = meta(config_map).get("labels") or {}
            if env["LABEL"] not in labels or labels[env["LABEL"]] != env.get("LABEL_VALUE", labels[env["LABEL"]]):
                continue
            for text in (config_map.get("data") or {}).values():
                for source in (yaml.load(text, Loader=_LOADER) or {}).get("datasources") or []:
                    datasources[source.get("uid")] = source
    for config_map, name, model in dashboards:
        labels = meta(config_map).get("labels") or {}
        namespace = meta(config_map).get("namespace")
        for workload, env in sidecars:
            wanted = env.get("LABEL_VALUE")
            searched = [n.strip() for n in (env.get("NAMESPACE") or meta(workload).get("namespace") or "").split(",")]
            if env["LABEL"] not in labels or (wanted is not None and labels[env["LABEL"]] != wanted):
                report.bad("dashboard", "%s labels %s -> %s's sidecar selects %s=%s: not loaded" % (
                    ident(config_map), fmt_labels(labels), ident(workload), env["LABEL"],
                    wanted if wanted is not None else "(any value)"))
            elif "ALL" not in searched and namespace not in searched:
                report.bad("dashboard", "%s in namespace %s -> %s's sidecar searches %s: not loaded" % (
                    ident(config_map), namespace, ident(workload), ", ".join(searched)))
            else:
                report.ok("dashboard", "%s %s -> %s's sidecar (%s=%s)" % (
                    ident(config_map), name, ident(workload), env["LABEL"], labels[env["LABEL"]]))
        for uid in sorted(dashboard_datasource_uids(model)):
            source = datasources.get(uid)
            if source is None:
                report.bad("dashboard", "%s %s datasource uid %s -> the datasources %s provisions: %s" % (
                    ident(config_map), name, uid, monitoring, ", ".join(sorted(str(u) for u in datasources)) or "none"))
                continue
            host, port = url_parts(source.get("url") or "")[1:3]
            service_name, _dot, service_namespace = (host or "").partition(".")
            services = [s for s in of_kind(objects, "Service") if meta(s).get("name") == service_name
                        and (not service_namespace or meta(s).get("namespace") in (service_namespace.split(".")[0], None))]
            if not services or not any(p.get("port") == port for p in (services[0].get("spec") or {}).get("ports") or []):
                report.bad("dashboard", "datasource %s url %s -> Services of %s: %s" % (
                    uid, source.get("url"), monitoring, "; ".join("%s %s" % (ident(s), fmt_ports(s))
                                                                  for s in of_kind(objects, "Service")) or "none"))
            else:
                report.ok("dashboard", "%s datasource %s -> %s port %s" % (ident(config_map), uid, ident(services[0]), port))


def _argocd_glob(pattern, value):
    """Argo CD's glob of an AppProject's sourceRepos and destinations (argoproj/argo-cd v3
    pkg/apis/application/v1alpha1/app_project_types.go, IsSourcePermitted/isDestinationMatched: util/glob.Match,
    where `*` also matches `/`; a leading `!` denies)."""
    return fnmatch.fnmatchcase(value or "", pattern or "")


def _admitted(patterns, value):
    """Admitted by the allow patterns and not denied by any `!` pattern."""
    allow = [p for p in patterns if not str(p).startswith("!")]
    deny = [p[1:] for p in patterns if str(p).startswith("!")]
    return any(_argocd_glob(p, value) for p in allow) and not any(_argocd_glob(p, value) for p in deny)


def _strip_repo(url):
    return (url or "").rstrip("/")


def check_argocd_app(report, inputs, overlay):
    argocd = inputs.get("argocd") or {}
    application, project = argocd.get("application"), argocd.get("project")
    if not application:
        report.bad("argocd-app", "the argocd role's Application -> the overlay: no Application rendered")
        return
    name = ident(application)
    spec = application.get("spec") or {}
    source, destination = spec.get("source") or {}, spec.get("destination") or {}
    repo_url, path = source.get("repoURL") or "", (source.get("path") or "").strip("/")
    pushed = argocd.get("repo_url") or ""
    if pushed and _strip_repo(repo_url) != _strip_repo(pushed):
        report.bad("argocd-app", "%s repoURL %s -> the repository the pipeline pushes to, as the cluster reaches it "
                                 "(%s): not the same repository" % (name, repo_url, pushed))
    elif pushed:
        report.ok("argocd-app", "%s repoURL %s -> the repository the pipeline pushes to" % (name, repo_url))
    overlay_path = (argocd.get("overlay_path") or "").strip("/")
    if path != overlay_path:
        report.bad("argocd-app", "%s path %s -> the overlay the gitops role writes (%s): Argo CD would sync another "
                                 "directory" % (name, path or "(empty)", overlay_path or "(none)"))
    else:
        report.ok("argocd-app", "%s path %s -> the gitops role's overlay" % (name, path))
    revision, branch = source.get("targetRevision"), argocd.get("branch")
    if branch and str(revision) != str(branch):
        report.bad("argocd-app", "%s targetRevision %s -> the branch the gitops role pushes to (%s): Argo CD would "
                                 "never see the pushed commits" % (name, revision, branch))
    elif branch:
        report.ok("argocd-app", "%s targetRevision %s -> gitops branch %s" % (name, revision, branch))
    wanted = destination.get("namespace")
    namespaces = sorted(set(meta(o).get("namespace") for o in overlay if meta(o).get("namespace")))
    if namespaces != [wanted]:
        report.bad("argocd-app", "%s destination namespace %s -> the overlay's namespace %s: the objects would go "
                                 "elsewhere" % (name, wanted, ", ".join(namespaces) or "(none)"))
    else:
        report.ok("argocd-app", "%s destination namespace %s -> the overlay's namespace" % (name, wanted))
    if not project:
        report.bad("argocd-app", "%s project %s -> the argocd role's AppProject: none rendered" % (name, spec.get("project")))
        return
    project_spec = project.get("spec") or {}
    if spec.get("project") != meta(project).get("name"):
        report.bad("argocd-app", "%s project %s -> AppProject %s: not that project" % (
            name, spec.get("project"), meta(project).get("name")))
    repos = [str(r) for r in project_spec.get("sourceRepos") or []]
    if not _admitted(repos, repo_url):
        report.bad("argocd-app", "%s repoURL %s -> %s sourceRepos %s: not admitted" % (
            name, repo_url, ident(project), ", ".join(repos) or "none"))
    else:
        report.ok("argocd-app", "%s repoURL -> %s sourceRepos" % (name, ident(project)))
    server = destination.get("server") or ""
    allowed = [(str(d.get("server") or "*"), str(d.get("namespace") or "")) for d in project_spec.get("destinations") or []]
    if not any(_argocd_glob(s, server) and _admitted([n], wanted) for s, n in allowed):
        report.bad("argocd-app", "%s destination %s namespace %s -> %s destinations %s: not admitted" % (
            name, server, wanted, ident(project), ", ".join("%s %s" % pair for pair in allowed) or "none"))
    else:
        report.ok("argocd-app", "%s destination namespace %s -> %s destinations" % (name, wanted, ident(project)))


PROBES = ("readinessProbe", "livenessProbe", "startupProbe")


def check_probes(report, overlay):
    probed = False
    for workload in [o for kind in WORKLOAD_KINDS for o in of_kind(overlay, kind)]:
        for container in pod_spec(workload).get("containers") or []:
            ports = container.get("ports") or []
            for probe_name in PROBES:
                probe = container.get(probe_name) or {}
                handler = probe.get("httpGet") or probe.get("tcpSocket") or probe.get("grpc")
                if not handler or handler.get("port") is None:
                    continue
                probed = True
                port = handler["port"]
                number = int(port) if str(port).isdigit() else None
                found = [p for p in ports if (p.get("containerPort") == number if number is not None
                                              else p.get("name") == port)]
                if not found:
                    report.bad("probes", "%s container %s %s port %s -> its container ports %s: no such port" % (
                        ident(workload), container.get("name"), probe_name, port,
                        ", ".join("%s (%s)" % (p.get("containerPort"), p.get("name")) for p in ports) or "none"))
                else:
                    report.ok("probes", "%s container %s %s port %s -> container port %s" % (
                        ident(workload), container.get("name"), probe_name, port, found[0].get("containerPort")))
    if not probed:
        report.skip("probes", "the overlay's containers -> their ports: no probe with a port")


def check(inputs, overlay, charts):
    """Follow every link; charts is {release: objects} or None (then inputs['charts_reason'] says why)."""
    report = Report()
    skip = inputs.get("skip") or {}
    followers = {
        "ingress": lambda: check_ingress_path(report, inputs, overlay, charts),
        "port-forward": lambda: check_port_forward(report, inputs, overlay),
        "image": lambda: check_image(report, inputs, overlay),
        "gitops-repo": lambda: check_repo(report, inputs),
        "argocd-app": lambda: check_argocd_app(report, inputs, overlay),
        "monitoring": lambda: check_monitoring(report, inputs, overlay, charts),
        "tls": lambda: check_tls(report, inputs, overlay),
        "dashboard": lambda: check_dashboard(report, inputs, overlay, charts),
        "probes": lambda: check_probes(report, overlay),
    }
    for link in LINKS:
        if link in skip:
            report.skip(link, "%s: %s" % (LINKS[link], skip[link]))
        else:
            followers[link]()
    return report.as_dict()


# --- which links a run follows -------------------------------------------------------------------------------

# The stages whose plays render or install what the links join (the gitops role's overlay, the platform's charts).
WIRED_STAGES = ("gitops", "platform")


def plan(stages, would_run, settings):
    """Which links this run follows, and why the others are not: (applies, {link: reason}).

    stages: the roles of the play's stages (None or empty: every link, as playbooks/check.yml). would_run(tags):
    whether a task with those tags runs under the run's --tags/--skip-tags (Ansible's own rule, from the caller).
    settings: cluster_provider, cluster_flavor, verify_ingress, verify_port_forward, verify_direct_url.
    applies is false for a play that neither bootstraps nor deploys (nothing it does depends on the wiring)."""
    every = not stages
    stages = set(stages or [])
    # Argo CD's tasks carry the tag argocd and their play's (bootstrap, deploy, promote): a run that skips them
    # (--skip-tags bootstrap,argocd, playbooks/vars/without_cluster.yml) or selects none (--tags build) puts
    # nothing on a cluster.
    cluster = any(would_run(["argocd", play]) for play in ("bootstrap", "deploy", "promote"))
    verifies = (every or "verify" in stages) and would_run(["verify"])
    wired = every or bool(stages & set(WIRED_STAGES))
    applies = every or (wired and any(would_run([tag]) for tag in ("bootstrap", "deploy", "render", "promote")))
    openshift = settings.get("cluster_flavor") == "openshift"
    not_wired = "" if wired else "this play neither bootstraps nor deploys"
    no_argocd = ("no cluster in this run" if not cluster
                 else "this play does not configure Argo CD" if not (every or "argocd" in stages) else "")
    reasons = {
        "ingress": ("verify_ingress is false" if not settings.get("verify_ingress", True)
                    else "openshift: the router serves a Route" if openshift
                    else "this run does not verify" if not verifies
                    else "no cluster in this run" if not cluster else ""),
        "port-forward": ("verify_direct_url is set" if settings.get("verify_direct_url")
                         else "verify_port_forward is false" if not settings.get("verify_port_forward", True)
                         else "this run does not verify" if not verifies else ""),
        "image": ("not a kind cluster: no local registry wiring" if settings.get("cluster_provider", "kind") != "kind"
                  else "no cluster in this run" if not cluster
                  else "this play neither bootstraps nor deploys" if not (every or stages & {"local_registry", "gitops"})
                  else ""),
        "gitops-repo": no_argocd,
        "argocd-app": no_argocd,
        "monitoring": not_wired,
        "tls": "openshift: a Route, not an Ingress" if openshift else not_wired,
        "dashboard": not_wired,
        "probes": not_wired,
    }
    return applies, dict((link, reason) for link, reason in reasons.items() if reason)


def summary(result):
    """One line: how many links were followed, and which were not and why (links that share a reason together)."""
    reasons = {}
    for line in result.get("not_followed") or []:
        link, _space, text = line[1:].partition(") ")
        reason = text.partition(": ")[2] or text
        if not any(link in links for links in reasons.values()):
            reasons.setdefault(reason, []).append(link)
    skipped = set(link for links in reasons.values() for link in links)
    broken = set(line[1:].partition(")")[0] for line in result.get("broken") or [])
    followed = [link for link in LINKS if link not in skipped and link not in broken]
    text = "wiring: %d of %d links followed (%s)" % (len(followed), len(LINKS), ", ".join(followed) or "none")
    if broken:
        text += "; broken: %s" % ", ".join(link for link in LINKS if link in broken)
    if reasons:
        text += "; not followed: %s" % "; ".join("%s (%s)" % (", ".join(links), reason) for reason, links in reasons.items())
    return text


def load_yaml_all(text):
    return [doc for doc in yaml.load_all(text or "", Loader=_LOADER) if isinstance(doc, dict)]
