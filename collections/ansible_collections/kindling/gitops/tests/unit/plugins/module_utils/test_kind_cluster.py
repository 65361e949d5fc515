# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kind_cluster's logic with an in-memory kind/docker runner: validation, drift, create/keep/delete, check mode."""

from __future__ import annotations

import json
import stat

import pytest

from ansible_collections.kindling.gitops.plugins.module_utils import kind_cluster as kc

IMAGE = "kindest/node:v1.36.1@sha256:" + "3" * 64


class FakeKind:
    """Answers kind get/create/delete and docker inspect from a dict of clusters; records argv."""

    def __init__(self, clusters=None, fail=None):
        self.clusters = clusters or {}
        self.calls = []
        self.fail = fail

    def __call__(self, argv, data=None):
        self.calls.append(argv)
        tool, args = argv[0], argv[1:]
        if self.fail and args[:2] == self.fail[0]:
            return self.fail[1]
        name = args[args.index("--name") + 1] if "--name" in args else None
        if args[:2] == ["get", "clusters"]:
            return 0, "".join(c + "\n" for c in self.clusters), "" if self.clusters else "No kind clusters found.\n"
        if args[:2] == ["get", "nodes"]:
            return 0, "".join(n + "\n" for n in self.clusters.get(name, {})), ""
        if args[:2] == ["get", "kubeconfig"]:
            # kind v0.32.0 pkg/cmd/kind/get/kubeconfig/kubeconfig.go runE: fmt.Fprintln of YAML ending in a newline.
            return 0, "kubeconfig-of-" + name + "\n\n", ""
        if args[:2] == ["create", "cluster"]:
            config = json.loads(data)
            kubeconfig = args[args.index("--kubeconfig") + 1]
            with open(kubeconfig, "w") as handle:
                handle.write("kubeconfig-of-" + name + "\n")
            roles = [n.get("role", "control-plane") for n in config["nodes"]]
            self.clusters[name] = {
                "{0}-{1}{2}".format(name, role, i or ""): container(role, args[args.index("--image") + 1],
                                                                    node.get("extraPortMappings", []))
                for i, (role, node) in enumerate(zip(roles, config["nodes"]))}
            return 0, "", "Creating cluster ...\n"
        if args[:2] == ["delete", "cluster"]:
            self.clusters.pop(name, None)
            return 0, "", "Deleting cluster ...\n"
        if tool == "docker" and args[0] == "inspect":
            everything = {n: c for nodes in self.clusters.values() for n, c in nodes.items()}
            return 0, json.dumps([dict(everything[n], Name="/" + n) for n in args[1:]]), ""
        return 1, "", "ERROR: unexpected " + " ".join(argv)


def container(role, image, mappings):
    bindings = {"6443/tcp": [{"HostIp": "127.0.0.1", "HostPort": "41234"}]} if role == "control-plane" else {}
    for mapping in mappings:
        bindings["{0}/tcp".format(mapping["containerPort"])] = [
            {"HostIp": mapping.get("listenAddress", "0.0.0.0"), "HostPort": str(mapping.get("hostPort", 0))}]
    return {"Config": {"Image": image, "Labels": {kc.ROLE_LABEL: role}}, "HostConfig": {"PortBindings": bindings}}


def params(tmp_path, **overrides):
    base = {"state": "present", "name": "unit", "config": {"nodes": [
        {"role": "control-plane", "labels": {"ingress-ready": "true"},
         "extraPortMappings": [{"containerPort": 80, "hostPort": 8080, "listenAddress": "127.0.0.1"}]}]},
        "node_image": IMAGE, "kubeconfig": str(tmp_path / "kube" / "config"), "wait": 30, "allow_recreate": False}
    base.update(overrides)
    return base


def test_create_then_unchanged(tmp_path):
    fake = FakeKind()
    cli = kc.KindCluster(fake)
    first = kc.ensure_cluster(cli, params(tmp_path), check_mode=False)
    assert first["changed"] and not first["recreated"]
    assert stat.S_IMODE((tmp_path / "kube" / "config").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "kube").stat().st_mode) == 0o700
    second = kc.ensure_cluster(cli, params(tmp_path), check_mode=False)
    assert not second["changed"] and second["drift"] == []
    assert sum(1 for c in fake.calls if c[1:3] == ["create", "cluster"]) == 1


def test_kubeconfig_rewritten_when_mode_or_content_is_wrong(tmp_path):
    cli = kc.KindCluster(FakeKind())
    kc.ensure_cluster(cli, params(tmp_path), check_mode=False)
    (tmp_path / "kube" / "config").chmod(0o644)
    assert kc.ensure_cluster(cli, params(tmp_path), check_mode=True)["changed"]
    assert stat.S_IMODE((tmp_path / "kube" / "config").stat().st_mode) == 0o644  # check mode wrote nothing
    assert kc.ensure_cluster(cli, params(tmp_path), check_mode=False)["changed"]
    assert stat.S_IMODE((tmp_path / "kube" / "config").stat().st_mode) == 0o600


def test_port_drift_is_refused_then_recreated_when_allowed(tmp_path):
    fake = FakeKind()
    cli = kc.KindCluster(fake)
    kc.ensure_cluster(cli, params(tmp_path), check_mode=False)
    moved = params(tmp_path)
    moved["config"]["nodes"][0]["extraPortMappings"][0]["hostPort"] = 9090
    with pytest.raises(kc.KindError, match=r"nodes\[0\]\.extraPortMappings.*allow_recreate"):
        kc.ensure_cluster(cli, moved, check_mode=False)
    moved["allow_recreate"] = True
    result = kc.ensure_cluster(cli, moved, check_mode=False)
    assert result["recreated"] and [c[1:3] for c in fake.calls].count(["delete", "cluster"]) == 1


def test_api_server_port_of_control_plane_is_not_drift():
    observed = kc.observed_settings(json.dumps([dict(container("control-plane", IMAGE, []), Name="/x")]), None)
    assert observed["nodes"][0]["ports"] == []


def test_absent_deletes_and_removes_record_then_is_unchanged(tmp_path):
    fake = FakeKind()
    cli = kc.KindCluster(fake)
    kc.ensure_cluster(cli, params(tmp_path), check_mode=False)
    record = tmp_path / "kube" / "kind-unit.applied.json"
    assert json.loads(record.read_text())["name"] == "unit"
    assert kc.ensure_cluster(cli, params(tmp_path, state="absent"), check_mode=False)["changed"]
    assert not record.exists()
    assert not kc.ensure_cluster(cli, params(tmp_path, state="absent"), check_mode=False)["changed"]


def test_kind_error_is_one_line(tmp_path):
    failure = (["create", "cluster"], (1, "", " ✗ Preparing nodes 📦\nERROR: failed to create cluster: boom\nmore\n"))
    cli = kc.KindCluster(FakeKind(fail=failure))
    with pytest.raises(kc.KindError) as raised:
        kc.ensure_cluster(cli, params(tmp_path), check_mode=False)
    assert str(raised.value) == "kind create cluster failed (exit 1): ERROR: failed to create cluster: boom"


@pytest.mark.parametrize("config, message", [
    ("nodes", "config: must be a mapping"),
    ({"nodes": []}, "config.nodes: must be a non-empty list"),
    ({"nodes": [{"role": "control-plane", "labels": ["a"]}]}, "config.nodes[0].labels:"),
    ({"nodes": [{"role": "control-plane", "labels": {"ingress ready": "true"}}]}, "config.nodes[0].labels:"),
    ({"nodes": [{"role": "control-plane", "labels": {"tier": "front end"}}]}, "config.nodes[0].labels:"),
    ({"nodes": [{"role": "control-plane", "extraPortMappings": [{"hostPort": 80}]}]},
     "config.nodes[0].extraPortMappings[0].containerPort: is required"),
    ({"nodes": [{"role": "control-plane", "extraMounts": [{"hostPath": "/x"}]}]}, "config.nodes[0].extraMounts[0]:"),
    ({"name": "other"}, "config.name: must match name"),
    ({"apiVersion": "kind.x-k8s.io/v1alpha3"}, "config.apiVersion:"),
    ({"networkin": {}}, "config: unknown keys networkin"),
])
def test_bad_config_names_the_field(config, message):
    with pytest.raises(kc.KindError) as raised:
        kc.normalize_config(config, "unit")
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize("name", ["Upper", "-dash", "a" * 51, ""])
def test_bad_names_are_refused(name):
    with pytest.raises(kc.KindError, match="^name:"):
        kc.validate_name(name)


def test_validation_happens_before_any_call(tmp_path):
    fake = FakeKind()
    with pytest.raises(kc.KindError, match="^node_image:"):
        kc.ensure_cluster(kc.KindCluster(fake), params(tmp_path, node_image="kindest/node:v1.36.1"), check_mode=False)
    assert fake.calls == []
