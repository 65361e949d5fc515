# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options every kindling.gitops module that makes HTTP requests to a service shares."""

from __future__ import annotations


class ModuleDocFragment(object):

    DOCUMENTATION = r"""
options:
  validate_certs:
    description:
      - Verify the server's TLS certificate for C(https://) URLs.
      - Set to V(false) only for throw-away clusters with self-signed certificates; prefer O(ca_path).
    type: bool
    default: true
  ca_path:
    description:
      - PEM file with the CA certificate(s) to trust for C(https://) URLs, for example the C(kindling-ca) ClusterIssuer's CA.
    type: path
  ca_data:
    description:
      - PEM text of the CA certificate(s) to trust for C(https://) URLs, instead of O(ca_path); for example the
        C(ca.crt) of the C(kindling-ca) Secret read with M(kubernetes.core.k8s_info). Mutually exclusive with O(ca_path).
    type: str
  request_timeout:
    description:
      - Seconds one HTTP request may take before it counts as timed out (and is retried).
    type: float
    default: 5
  attempts:
    description:
      - How many times a check is tried when it fails in a way that may pass later
        (connection refused, timeout, HTTP 5xx). Wrong content is never retried.
    type: int
    default: 3
  retry_delay:
    description:
      - Seconds to wait between two attempts of the same check.
    type: float
    default: 1
  deadline:
    description:
      - Upper bound in seconds for all checks and their retries together; no attempt starts after it.
    type: float
    default: 60
"""
