# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The argument spec that goes with the kindling.gitops.registry_auth doc fragment."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import env_fallback


def registry_argument_spec():
    return dict(
        registry=dict(type="str", required=True),
        username=dict(type="str", fallback=(env_fallback, ["KINDLING_REGISTRY_USERNAME"])),
        password=dict(type="str", no_log=True, fallback=(env_fallback, ["KINDLING_REGISTRY_PASSWORD"])),
        scheme=dict(type="str", default="auto", choices=["auto", "https", "http"]),
        validate_certs=dict(type="bool", default=True),
        retries=dict(type="int", default=4),
        retry_delay=dict(type="float", default=1.0),
        timeout=dict(type="float", default=10.0),
    )


def registry_client_options(params):
    """The RegistryClient keyword arguments from module parameters."""
    return dict((name, params[name]) for name in
                ("username", "password", "scheme", "validate_certs", "retries", "retry_delay", "timeout"))
