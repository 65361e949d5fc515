"""Each value's one home as the tests read it (versions.yml's pins, roles/kindling_defaults' shared values), so
that a test derives a value instead of writing it again and moves with it."""
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = yaml.safe_load((ROOT / "versions.yml").read_text())["kindling_versions"]
SHARED = yaml.safe_load((ROOT / "roles/kindling_defaults/defaults/main.yml").read_text())


def _kubernetes_version(node_image):
    """X.Y.Z of a kind node image kindest/node:vX.Y.Z@sha256:..., as kindling_defaults' kubernetes_version reads it."""
    match = re.search(r":v([0-9]+\.[0-9]+\.[0-9]+)@", node_image)
    assert match, f"cannot read the Kubernetes version from kind_node_image {node_image}"
    return match.group(1)


# The Kubernetes of the pinned kind node image.
KUBERNETES_VERSION = _kubernetes_version(VERSIONS["kind_node_image"])
# The ClusterIssuer the platform creates and every Ingress names.
CLUSTER_ISSUER = SHARED["cluster_issuer"]
