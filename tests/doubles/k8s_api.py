"""A Kubernetes API server double over real HTTP on 127.0.0.1, for the real `kubernetes` client and the
kubernetes.core modules (which then run unchanged through a kubeconfig that points here).

It serves what those clients use: /version, discovery (/api, /apis, group versions), and get/list/
create/replace/merge-patch/delete of the resources in RESOURCES, honouring `dryRun=All`. Status
progressions are scripted: `progress(...)` queues states that successive GETs of one object return,
the last one sticking, which is how an Argo CD Application moves from Progressing to Healthy.
Not a Kubernetes: no admission, no controllers, no watch, no strategic merge (merge patch instead).
"""
import base64
import copy
import json
import sys
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

# Run as a script (the molecule scenarios' API double), tests/ is not on the path as it is under pytest.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support.shared_values import KUBERNETES_VERSION  # noqa: E402

# (group, version, plural, kind, namespaced)
RESOURCES = [
    ("", "v1", "namespaces", "Namespace", False),
    ("", "v1", "configmaps", "ConfigMap", True),
    ("", "v1", "secrets", "Secret", True),
    ("", "v1", "services", "Service", True),
    ("", "v1", "pods", "Pod", True),
    ("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True),
    ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True),
    ("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False),
    ("batch", "v1", "jobs", "Job", True),
    ("apps", "v1", "deployments", "Deployment", True),
    ("networking.k8s.io", "v1", "ingresses", "Ingress", True),
    ("route.openshift.io", "v1", "routes", "Route", True),
    ("argoproj.io", "v1alpha1", "applications", "Application", True),
    ("argoproj.io", "v1alpha1", "appprojects", "AppProject", True),
    ("cert-manager.io", "v1", "clusterissuers", "ClusterIssuer", False),
    ("cert-manager.io", "v1", "issuers", "Issuer", True),
    ("cert-manager.io", "v1", "certificates", "Certificate", True),
    ("monitoring.coreos.com", "v1", "servicemonitors", "ServiceMonitor", True),
    ("monitoring.coreos.com", "v1", "prometheusrules", "PrometheusRule", True),
]
VERBS = ["create", "delete", "get", "list", "patch", "update"]
# The namespaces an API server creates when it starts (kubernetes v1.34 pkg/controlplane/controller/systemnamespaces,
# the list pkg/controlplane/instance.go passes it).
SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease", "default")


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class KubeAPIDouble:
    def __init__(self, kubernetes_version="v" + KUBERNETES_VERSION):
        self.version = kubernetes_version
        self.objects = {}
        self.requests = []
        self.scripts = {}
        self.controllers = {}
        # Callables (plural, namespace, name) run under the lock before a GET of one object is answered: how an
        # in-cluster controller double (argocd_controller.py) reconciles what the client is about to read.
        self.before_get = []
        self._lock = threading.Lock()
        self._resource_version = 1000
        self.server = None
        self.recreate()

    # ---- test-facing API -------------------------------------------------------------
    def start(self):
        double = self

        class Handler(_Handler):
            api = double

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def write_kubeconfig(self, path, context="kind-kindling"):
        """A kubeconfig pointing at this double (plain HTTP on loopback, a bearer token like kind's users)."""
        path.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": context,
            "clusters": [{"name": context, "cluster": {"server": self.url}}],
            "users": [{"name": context, "user": {"token": "double-token"}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        }))
        path.chmod(0o600)
        return path

    def recreate(self):
        """Stand in for a new cluster behind the same address: every object gone, the system namespaces made again
        with new uids (k8s.io/apiserver pkg/registry/rest/create.go FillObjectMetaSystemFields: uuid.NewUUID, v4)."""
        with self._lock:
            self.objects.clear()
            for name in SYSTEM_NAMESPACES:
                self._store(RESOURCES[0], None, {"apiVersion": "v1", "kind": "Namespace",
                                                 "metadata": {"name": name, "uid": str(uuid.uuid4())},
                                                 "spec": {"finalizers": ["kubernetes"]},
                                                 "status": {"phase": "Active"}})
        return self

    def put(self, obj):
        """Store an object as if a controller had created it."""
        resource = self._resource_for(obj["apiVersion"], obj["kind"])
        with self._lock:
            self._store(resource, obj.get("metadata", {}).get("namespace"), copy.deepcopy(obj))

    def get(self, plural, name, namespace=None):
        for key, obj in self.objects.items():
            if key[2] == plural and key[3] == namespace and key[4] == name:
                return obj
        return None

    def progress(self, plural, name, namespace, statuses):
        """Successive GETs of this object return it with these statuses in turn; the last one sticks."""
        self.scripts[(plural, namespace, name)] = [copy.deepcopy(s) for s in statuses]

    def controller(self, plural, status):
        """Stand in for the controller of a resource: objects created from now on get this status."""
        self.controllers[plural] = copy.deepcopy(status)

    def calls(self, method=None):
        return [r for r in self.requests if method is None or r["method"] == method]

    # ---- internals ----------------------------------------------------------------------
    def _resource_for(self, api_version, kind):
        group, _, version = api_version.rpartition("/")
        for resource in RESOURCES:
            if resource[0] == group and resource[1] == version and resource[3] == kind:
                return resource
        raise KeyError("%s %s is not served by the double" % (api_version, kind))

    def _store(self, resource, namespace, obj):
        if resource[3] == "Secret" and obj.get("stringData"):
            # kubernetes pkg/apis/core/v1/conversion.go Convert_v1_Secret_To_core_Secret: stringData overwrites
            # data, and the stored object (core.Secret) has no stringData: reads return data only, base64.
            data = obj.setdefault("data", {})
            for key, value in obj.pop("stringData").items():
                data[key] = base64.b64encode(str(value).encode()).decode()
        self._resource_version += 1
        meta = obj.setdefault("metadata", {})
        meta["resourceVersion"] = str(self._resource_version)
        meta.setdefault("uid", "00000000-0000-4000-8000-%012d" % self._resource_version)
        meta.setdefault("creationTimestamp", "2026-11-26T04:00:00Z")
        meta["generation"] = int(meta.get("generation", 0)) + 1
        if namespace:
            meta["namespace"] = namespace
        self.objects[(resource[0], resource[1], resource[2], namespace, meta["name"])] = obj


def label_selector(text):
    """A list's labelSelector as the API server applies it (k8s.io/apimachinery pkg/labels/selector.go Parse):
    requirements joined by commas, each `key=value`, `key==value`, `key!=value`, `key` or `!key`, all of which
    must hold. The set-based forms (`in`, `notin`) are refused rather than ignored: nothing here sends them."""
    requirements = []
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        if " in " in part or " notin " in part or "(" in part:
            raise ValueError(f"unable to parse requirement: the double does not implement set-based selectors: {part}")
        if "!=" in part:
            key, value = part.split("!=", 1)
            requirements.append(lambda labels, k=key.strip(), v=value.strip(): labels.get(k) != v)
        elif "=" in part:
            key, value = part.replace("==", "=").split("=", 1)
            requirements.append(lambda labels, k=key.strip(), v=value.strip(): labels.get(k) == v)
        elif part.startswith("!"):
            requirements.append(lambda labels, k=part[1:].strip(): k not in labels)
        else:
            requirements.append(lambda labels, k=part: k in labels)
    return lambda labels: all(requirement(labels) for requirement in requirements)


def _discovery(group, version):
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{group}/{version}".lstrip("/"),
            "resources": [{"name": plural, "singularName": kind.lower(), "namespaced": namespaced, "kind": kind,
                           "verbs": VERBS}
                          for g, v, plural, kind, namespaced in RESOURCES if g == group and v == version]}


def _groups():
    groups = {}
    for group, version, *_rest in RESOURCES:
        if group:
            groups.setdefault(group, [])
            if version not in groups[group]:
                groups[group].append(version)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        {"name": name, "versions": [{"groupVersion": f"{name}/{v}", "version": v} for v in versions],
         "preferredVersion": {"groupVersion": f"{name}/{versions[0]}", "version": versions[0]}}
        for name, versions in groups.items()]}


def _status(code, reason, message):
    return code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
                  "reason": reason, "code": code}


def _not_found(resource, name):
    """The API server's 404 for a missing object (k8s.io/apimachinery v0.34.0, pkg/api/errors/errors.go
    `NewNotFound`; the resource qualified by its group as in pkg/runtime/schema/group_version.go
    `GroupResource.String`): `applications.argoproj.io "app1-qa" not found`. Argo CD v3.4.4 answers a missing
    Application with this very error (server/application/application.go `getAppEnforceRBAC`)."""
    group, plural = resource[0], resource[2]
    code, body = _status(404, "NotFound", '%s "%s" not found' % (plural + "." + group if group else plural, name))
    body["details"] = dict({"group": group} if group else {}, kind=plural, name=name)
    return code, body


class _Handler(BaseHTTPRequestHandler):
    api = None  # set by KubeAPIDouble.start
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return yaml.safe_load(raw) if raw else None

    def _route(self, path):
        """(resource, namespace, name) for a resource path, or None."""
        parts = [p for p in path.split("/") if p]
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif parts[:1] == ["apis"] and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        namespace = None
        if rest[:1] == ["namespaces"] and len(rest) >= 3:
            namespace, rest = rest[1], rest[2:]
        if not rest:
            return None
        for resource in RESOURCES:
            if resource[0] == group and resource[1] == version and resource[2] == rest[0]:
                return resource, namespace, rest[1] if len(rest) > 1 else None
        return None

    def _handle(self, method):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        body = self._body() if method in ("POST", "PUT", "PATCH") else None
        api = self.api
        with api._lock:
            api.requests.append({"method": method, "path": url.path, "query": query, "body": body,
                                 "content_type": self.headers.get("Content-Type")})
            code, reply = self._dispatch(method, url.path, query, body)
        self._reply(code, reply)

    def _dispatch(self, method, path, query, body):
        api = self.api
        if path == "/version":
            major, minor = api.version.lstrip("v").split(".")[:2]
            return 200, {"major": major, "minor": minor, "gitVersion": api.version, "platform": "linux/amd64"}
        if path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]}
        if path == "/apis":
            return 200, _groups()
        if path == "/api/v1":
            return 200, _discovery("", "v1")
        parts = [p for p in path.split("/") if p]
        if len(parts) == 3 and parts[0] == "apis":
            listing = _discovery(parts[1], parts[2])
            return (200, listing) if listing["resources"] else _status(404, "NotFound", "no such group version")
        route = self._route(path)
        if route is None:
            return _status(404, "NotFound", "the server could not find the requested resource")
        resource, namespace, name = route
        dry_run = "All" in query.get("dryRun", [])
        key = (resource[0], resource[1], resource[2], namespace, name)
        if method == "GET" and name is None:
            try:
                selected = label_selector(query.get("labelSelector", [""])[0])
            except ValueError as error:
                return _status(400, "BadRequest", str(error))
            items = [copy.deepcopy(o) for k, o in sorted(api.objects.items())
                     if k[:3] == key[:3] and (namespace is None or k[3] == namespace)
                     and selected((o.get("metadata") or {}).get("labels") or {})]
            return 200, {"kind": resource[3] + "List", "apiVersion": "/".join(filter(None, resource[:2])),
                         "metadata": {"resourceVersion": str(api._resource_version)}, "items": items}
        if method == "GET" and name is not None:
            for hook in api.before_get:
                hook(resource[2], namespace, name)
        existing = api.objects.get(key)
        if method == "POST":
            name = (body.get("metadata") or {}).get("name")
            key = key[:4] + (name,)
            if key in api.objects:
                return _status(409, "AlreadyExists", '%s "%s" already exists' % (resource[2], name))
            obj = copy.deepcopy(body)
            if dry_run:
                return 201, obj
            if resource[2] in api.controllers:
                obj["status"] = copy.deepcopy(api.controllers[resource[2]])
            api._store(resource, namespace, obj)
            return 201, obj
        if existing is None:
            return _not_found(resource, name)
        if method == "GET":
            script = api.scripts.get((resource[2], namespace, name))
            if script:
                existing["status"] = script.pop(0) if len(script) > 1 else copy.deepcopy(script[0])
            return 200, copy.deepcopy(existing)
        if method == "DELETE":
            if not dry_run:
                del api.objects[key]
            return 200, {"kind": "Status", "apiVersion": "v1", "status": "Success", "details": {"name": name}}
        if method in ("PUT", "PATCH"):
            updated = merge_patch(existing, body) if method == "PATCH" else copy.deepcopy(body)
            if method == "PUT" and "status" in existing:
                updated["status"] = existing["status"]
            for field in ("resourceVersion", "uid", "creationTimestamp", "generation"):
                updated.setdefault("metadata", {})[field] = existing["metadata"].get(field)
            if updated == existing or dry_run:
                return 200, updated
            api._store(resource, namespace, updated)
            return 200, updated
        return _status(405, "MethodNotAllowed", method)

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def do_PATCH(self):
        self._handle("PATCH")

    def do_DELETE(self):
        self._handle("DELETE")


def main():
    """Serve the double as its own process (molecule scenarios): writes a kubeconfig pointing at it, runs until killed."""
    import argparse
    import pathlib
    import signal

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--kubeconfig", required=True, type=pathlib.Path)
    parser.add_argument("--context", default="kind-kindling")
    parser.add_argument("--ready", action="append", default=[], metavar="PLURAL",
                        help="stand in for the controller of PLURAL (e.g. cert-manager's for clusterissuers): objects "
                             "created get condition Ready=True, as controller() does; repeatable")
    args = parser.parse_args()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    double = KubeAPIDouble().start()
    for plural in args.ready:
        double.controller(plural, {"conditions": [{"type": "Ready", "status": "True", "reason": "Ready",
                                                   "message": "ready (set by the double's --ready)"}]})
    double.write_kubeconfig(args.kubeconfig, args.context)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    double.stop()


if __name__ == "__main__":
    main()
