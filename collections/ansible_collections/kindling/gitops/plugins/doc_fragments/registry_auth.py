# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Options every module that talks to an OCI registry's v2 API shares.
    DOCUMENTATION = r'''
options:
  registry:
    description:
      - The registry as it appears in an image reference, C(host) or C(host:port), without a scheme or path,
        for example V(localhost:5001) (the local registry kind documents) or V(ghcr.io).
    type: str
    required: true
  username:
    description:
      - User name for the registry. Leave unset for a registry without authentication.
      - When the registry challenges for credentials and none are given, the module fails naming the registry.
      - Defaults to the E(KINDLING_REGISTRY_USERNAME) environment variable of the target host.
    type: str
  password:
    description:
      - Password or access token (for GHCR a personal access token with C(read:packages)).
      - Never logged. Defaults to the E(KINDLING_REGISTRY_PASSWORD) environment variable of the target host.
    type: str
  scheme:
    description:
      - How to reach the registry. V(auto) uses plain HTTP for loopback registries (V(localhost), V(127.0.0.1),
        V([::1])), as the Docker daemon does, and HTTPS for every other registry.
    type: str
    choices: [auto, https, http]
    default: auto
  validate_certs:
    description:
      - Verify the registry's TLS certificate. Only turn off for a registry with a self-signed certificate you trust.
    type: bool
    default: true
  retries:
    description:
      - How many times a transient failure (connection refused or reset, timeout, HTTP 429 or 5xx) is retried
        before the module fails. The wait doubles after each attempt, starting at O(retry_delay) seconds and
        capped at 16 seconds.
    type: int
    default: 4
  retry_delay:
    description:
      - Seconds to wait before the first retry.
    type: float
    default: 1.0
  timeout:
    description:
      - Seconds to wait for each HTTP response.
    type: float
    default: 10.0
'''
