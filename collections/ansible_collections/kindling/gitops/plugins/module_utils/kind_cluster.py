# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of kindling.gitops.kind_cluster, importable without Ansible.

Drift of creation-time settings is read from two places, because neither alone sees everything:
the node containers themselves (``docker inspect``: kind's role label, the image, published ports),
which cannot lie about what is running, and a record of the config we applied (JSON next to the
kubeconfig) for what Docker cannot show (Kubernetes node labels, mounts, containerd patches,
networking). A cluster created outside this module has no record: only the Docker-visible fields
are compared then, and the result says so.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
import re

from ansible_collections.kindling.gitops.plugins.module_utils import rules

KIND_API_VERSION = "kind.x-k8s.io/v1alpha4"
NODE_ROLES = ("control-plane", "worker")
ROLE_LABEL = "io.x-k8s.kind.role"
CLUSTER_LABEL = "io.x-k8s.kind.cluster"
# kind publishes the API server of every control-plane node itself; it is not ours to compare.
API_SERVER_PORT = "6443/tcp"
NAME_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]{0,48}[a-z0-9])?$")
PROTOCOLS = ("TCP", "UDP", "SCTP")
# Drift is reported in the kind config's own field names.
CONFIG_FIELD_NAMES = {"ports": "extraPortMappings", "mounts": "extraMounts"}
NODE_KEYS = ("role", "image", "labels", "extraPortMappings", "extraMounts", "kubeadmConfigPatches",
             "kubeadmConfigPatchesJSON6902")
CLUSTER_KEYS = ("kind", "apiVersion", "name", "nodes", "networking", "featureGates", "runtimeConfig",
                "containerdConfigPatches", "containerdConfigPatchesJSON6902", "kubeadmConfigPatches",
                "kubeadmConfigPatchesJSON6902")


class KindError(Exception):
    """A failure of kind or docker, or a user error, as one line fit for msg."""


def _fail(field, problem):
    raise KindError("{0}: {1}".format(field, problem))


def validate_name(name):
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        _fail("name", "must be 1-50 lowercase letters, digits or '-', starting and ending with a letter or digit, "
                      "got {0!r}".format(name))


def validate_image(image, field="node_image"):
    try:
        _name, tag, digest = rules.split_image_ref(field, image)
    except rules.InputError:
        tag = digest = None
    if not tag or not (digest or "").startswith("sha256:"):
        _fail(field, "must be a kind node image pinned by digest (name:tag@sha256:<64 hex>), got {0!r}".format(image))


def _validate_port_mapping(mapping, field):
    if not isinstance(mapping, dict):
        _fail(field, "must be a mapping")
    unknown = sorted(set(mapping) - {"containerPort", "hostPort", "listenAddress", "protocol"})
    if unknown:
        _fail(field, "unknown keys {0}".format(", ".join(unknown)))
    for key in ("containerPort", "hostPort"):
        value = mapping.get(key)
        if key == "containerPort" and value is None:
            _fail(field + ".containerPort", "is required")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535):
            _fail(field + "." + key, "must be a port number 0-65535, got {0!r}".format(value))
    if str(mapping.get("protocol", "TCP")).upper() not in PROTOCOLS:
        _fail(field + ".protocol", "must be one of " + ", ".join(PROTOCOLS))


def _validate_node(node, field):
    if not isinstance(node, dict):
        _fail(field, "must be a mapping")
    unknown = sorted(set(node) - set(NODE_KEYS))
    if unknown:
        allowed = ", ".join(NODE_KEYS)
        _fail(field, "unknown keys {0} (kind {1} node keys: {2})".format(", ".join(unknown), KIND_API_VERSION, allowed))
    if node.get("role", "control-plane") not in NODE_ROLES:
        _fail(field + ".role", "must be one of {0}, got {1!r}".format(", ".join(NODE_ROLES), node.get("role")))
    if "image" in node:
        validate_image(node["image"], field + ".image")
    labels = node.get("labels", {})
    if not isinstance(labels, dict) or not all(isinstance(v, (str, int, float, bool)) for v in labels.values()):
        _fail(field + ".labels", "must be a mapping of label names to scalar values")
    try:
        # kind applies them as Kubernetes node labels: the API server's label key and value rules.
        rules.check_labels(field + ".labels", dict((k, str(v).lower() if isinstance(v, bool) else v)
                                                   for k, v in labels.items()))
    except rules.InputError as error:
        raise KindError(str(error))
    for kind_list in ("extraPortMappings", "extraMounts"):
        if not isinstance(node.get(kind_list, []), list):
            _fail(field + "." + kind_list, "must be a list")
    for index, mapping in enumerate(node.get("extraPortMappings", [])):
        _validate_port_mapping(mapping, "{0}.extraPortMappings[{1}]".format(field, index))
    for index, mount in enumerate(node.get("extraMounts", [])):
        if not isinstance(mount, dict) or not mount.get("hostPath") or not mount.get("containerPath"):
            _fail("{0}.extraMounts[{1}]".format(field, index), "needs hostPath and containerPath")


def normalize_config(config, name):
    """The kind Cluster config to apply: validated, with kind/apiVersion/name filled in."""
    if config is None:
        config = {}
    if not isinstance(config, dict):
        _fail("config", "must be a mapping (a kind {0} Cluster)".format(KIND_API_VERSION))
    config = copy.deepcopy(config)
    unknown = sorted(set(config) - set(CLUSTER_KEYS))
    if unknown:
        _fail("config", "unknown keys {0}".format(", ".join(unknown)))
    if config.setdefault("kind", "Cluster") != "Cluster":
        _fail("config.kind", "must be Cluster")
    if config.setdefault("apiVersion", KIND_API_VERSION) != KIND_API_VERSION:
        _fail("config.apiVersion", "must be " + KIND_API_VERSION)
    if config.setdefault("name", name) != name:
        _fail("config.name", "must match name ({0!r}), got {1!r}".format(name, config["name"]))
    nodes = config.setdefault("nodes", [{"role": "control-plane"}])
    if not isinstance(nodes, list) or not nodes:
        _fail("config.nodes", "must be a non-empty list")
    for index, node in enumerate(nodes):
        _validate_node(node, "config.nodes[{0}]".format(index))
        node.setdefault("role", "control-plane")
    if not any(node["role"] == "control-plane" for node in nodes):
        _fail("config.nodes", "needs at least one control-plane node")
    patches = config.get("containerdConfigPatches", [])
    if not isinstance(patches, list) or not all(isinstance(p, str) for p in patches):
        _fail("config.containerdConfigPatches", "must be a list of TOML strings")
    return config


def _port_key(mapping):
    return "{0}:{1}->{2}/{3}".format(mapping.get("listenAddress", "0.0.0.0"), mapping.get("hostPort", 0),
                                     mapping["containerPort"], str(mapping.get("protocol", "TCP")).lower())


def _role_order(nodes):
    """Nodes grouped by role, control planes first, the order kind names them in."""
    return sorted(nodes, key=lambda node: NODE_ROLES.index(node["role"]))


def desired_settings(config, node_image):
    """The creation-time settings of a config, in the shape observed_settings returns."""
    nodes = []
    for node in _role_order(config["nodes"]):
        nodes.append({
            "role": node["role"],
            "image": node.get("image", node_image),
            "ports": sorted(_port_key(m) for m in node.get("extraPortMappings", [])),
            "labels": {k: str(v) for k, v in sorted(node.get("labels", {}).items())},
            "mounts": node.get("extraMounts", []),
        })
    return {"nodes": nodes, "cluster": _cluster_only(config)}


def _cluster_only(config):
    return {k: v for k, v in sorted(config.items()) if k not in ("nodes", "kind", "apiVersion", "name")}


def observed_settings(inspect_output, record):
    """Settings of a running cluster from `docker inspect` of its nodes plus our record (or None)."""
    try:
        containers = json.loads(inspect_output)
    except ValueError:
        raise KindError("docker inspect: output is not JSON")
    nodes = []
    for container in containers:
        labels = (container.get("Config") or {}).get("Labels") or {}
        bindings = (container.get("HostConfig") or {}).get("PortBindings") or {}
        ports = []
        for container_port, hosts in sorted(bindings.items()):
            if container_port == API_SERVER_PORT and labels.get(ROLE_LABEL) == "control-plane":
                continue
            number, _sep, protocol = container_port.partition("/")
            for host in hosts or []:
                ports.append(_port_key({"listenAddress": host.get("HostIp") or "0.0.0.0",
                                        "hostPort": int(host.get("HostPort") or 0),
                                        "containerPort": int(number), "protocol": protocol or "tcp"}))
        nodes.append({"name": container.get("Name", "").lstrip("/"), "role": labels.get(ROLE_LABEL, "unknown"),
                      "image": (container.get("Config") or {}).get("Image"), "ports": sorted(ports)})
    nodes = _role_order([n for n in nodes if n["role"] in NODE_ROLES]) + [n for n in nodes if n["role"] not in NODE_ROLES]
    recorded = None
    if record is not None:
        recorded_nodes = _role_order(record["nodes"])
        if len(recorded_nodes) == len(nodes):
            for node, recorded_node in zip(nodes, recorded_nodes):
                node["labels"] = {k: str(v) for k, v in sorted(recorded_node.get("labels", {}).items())}
                node["mounts"] = recorded_node.get("extraMounts", [])
        recorded = _cluster_only(record)
    for node in nodes:
        node.pop("name")
    return {"nodes": nodes, "cluster": recorded}


def drifted_fields(desired, observed):
    """Names of creation-time fields that differ, e.g. ['nodes (count or roles)', 'nodes[0].ports']."""
    fields = []
    if [n["role"] for n in desired["nodes"]] != [n["role"] for n in observed["nodes"]]:
        return ["nodes (count or roles: want {0}, have {1})".format(
            ",".join(n["role"] for n in desired["nodes"]), ",".join(n["role"] for n in observed["nodes"]))]
    for index, (want, have) in enumerate(zip(desired["nodes"], observed["nodes"])):
        for key in ("image", "ports", "labels", "mounts"):
            if key in have and want[key] != have[key]:
                fields.append("nodes[{0}].{1}".format(index, CONFIG_FIELD_NAMES.get(key, key)))
    if observed["cluster"] is not None:
        for key in sorted(set(desired["cluster"]) | set(observed["cluster"])):
            if desired["cluster"].get(key) != observed["cluster"].get(key):
                fields.append(key)
    return fields


def error_line(command, rc, stdout, stderr):
    """One line for a failed kind/docker call: its ERROR line when it printed one, else its last words."""
    lines = [line.strip() for line in (stderr or "").splitlines() + (stdout or "").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:") or line.startswith("Error")]
    detail = (errors or lines or ["no output"])[0 if errors else -1]
    return "{0} failed (exit {1}): {2}".format(command, rc, detail)


class KindCluster:
    """Drives the kind and docker CLIs through run(argv, data=None) -> (rc, stdout, stderr)."""

    def __init__(self, run, kind="kind", docker="docker"):
        self._run = run
        self.kind = kind
        self.docker = docker

    def _call(self, argv, data=None, what=None):
        rc, out, err = self._run(argv, data=data)
        if rc != 0:
            raise KindError(error_line(what or " ".join(argv[:3]), rc, out, err))
        return out

    def clusters(self):
        # "No kind clusters found." goes to stderr with exit 0, so stdout alone lists the names.
        out = self._call([self.kind, "get", "clusters"])
        return [line.strip() for line in out.splitlines() if line.strip()]

    def nodes(self, name):
        out = self._call([self.kind, "get", "nodes", "--name", name])
        return sorted(line.strip() for line in out.splitlines() if line.strip() and not line.startswith("No kind"))

    def inspect(self, nodes):
        return self._call([self.docker, "inspect"] + list(nodes), what="docker inspect")

    def kubeconfig(self, name):
        """The kubeconfig as `kind create cluster` writes it to its file.

        kind v0.32.0 prints it with fmt.Fprintln (pkg/cmd/kind/get/kubeconfig/kubeconfig.go, runE) although the
        YAML already ends in a newline, so stdout has one newline more than the file."""
        return self._call([self.kind, "get", "kubeconfig", "--name", name]).rstrip("\n") + "\n"

    def create(self, config, node_image, kubeconfig, wait):
        self._call([self.kind, "create", "cluster", "--name", config["name"], "--config", "-", "--image", node_image,
                    "--kubeconfig", kubeconfig, "--wait", "{0}s".format(wait)],
                   data=json.dumps(config), what="kind create cluster")

    def delete(self, name, kubeconfig):
        self._call([self.kind, "delete", "cluster", "--name", name, "--kubeconfig", kubeconfig],
                   what="kind delete cluster")


def record_path(kubeconfig, name):
    return os.path.join(os.path.dirname(os.path.abspath(kubeconfig)), "kind-{0}.applied.json".format(name))


def read_record(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (IOError, OSError, ValueError):
        return None


def _private_dir(path):
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)


def write_private(path, content):
    """Write content with mode 0600 from the start (never world-readable, not even briefly)."""
    _private_dir(path)
    descriptor = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(content)
    os.chmod(path + ".tmp", 0o600)
    os.replace(path + ".tmp", path)


def _content_and_mode(path):
    """(text, permission bits) of a file, or (None, None) when there is none."""
    if not os.path.isfile(path):
        return None, None
    with open(path) as handle:
        return handle.read(), os.stat(path).st_mode & 0o777


def ensure_cluster(cli, params, check_mode):
    """Bring the cluster to params['state']; returns the result dict (changed, diff, nodes, ...)."""
    name = params["name"]
    validate_name(name)
    kubeconfig = params["kubeconfig"]
    if not kubeconfig:
        _fail("kubeconfig", "is required")
    record_file = record_path(kubeconfig, name)
    result = {"changed": False, "name": name, "kubeconfig": kubeconfig, "context": "kind-" + name,
              "nodes": [], "drift": [], "recreated": False}
    if params["state"] == "present":
        validate_image(params["node_image"])
        config = normalize_config(params["config"], name)
        desired = desired_settings(config, params["node_image"])
    exists = name in cli.clusters()

    if params["state"] == "absent":
        result["diff"] = {"before": {"cluster": name} if exists else {}, "after": {}}
        if exists:
            result["changed"] = True
            if not check_mode:
                cli.delete(name, kubeconfig)
                if os.path.exists(record_file):
                    os.remove(record_file)
        return result

    before = {}
    if exists:
        nodes = cli.nodes(name)
        before = observed_settings(cli.inspect(nodes), read_record(record_file))
        result["drift"] = drifted_fields(desired, before)
        if before["cluster"] is None:
            result["warnings"] = ["no record of the config applied to cluster {0} ({1}): only node count, roles, "
                                  "images and ports were compared".format(name, record_file)]
        result["nodes"] = nodes
    result["diff"] = {"before": before, "after": desired}
    if exists and result["drift"] and not params["allow_recreate"]:
        raise KindError("cluster {0} exists with different creation-time settings: {1}; kind cannot change them in "
                        "place: set allow_recreate=true to delete and recreate it".format(name, ", ".join(result["drift"])))
    if not exists or result["drift"]:
        result["changed"] = True
        result["recreated"] = exists
        if not check_mode:
            if exists:
                cli.delete(name, kubeconfig)
            _private_dir(kubeconfig)
            cli.create(config, params["node_image"], kubeconfig, params["wait"])
            os.chmod(kubeconfig, 0o600)
            write_private(record_file, json.dumps(config, indent=2, sort_keys=True) + "\n")
            result["nodes"] = cli.nodes(name)
        return result
    # Same cluster: the kubeconfig file still has to hold its credentials, privately.
    wanted = cli.kubeconfig(name)
    current, mode = _content_and_mode(kubeconfig)
    if current != wanted or mode != 0o600:
        result["changed"] = True
        result["diff"] = {"before": {"kubeconfig": "(absent)" if current is None else "(other content or mode)"},
                          "after": {"kubeconfig": "(credentials of kind-{0}, mode 0600)".format(name)}}
        if not check_mode:
            write_private(kubeconfig, wanted)
    return result
