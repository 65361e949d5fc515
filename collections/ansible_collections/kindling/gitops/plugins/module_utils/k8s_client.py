# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes API access with kubernetes.core's option names (doc fragment kindling.gitops.k8s_auth).

Built on the kubernetes Python client's DynamicClient, as kubernetes.core is, but without importing that
collection, so this collection's modules load and test where kubernetes.core is not installed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.basic import env_fallback

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.dynamic import DynamicClient
    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError as error:
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = error


def _env(name):
    return dict(fallback=(env_fallback, ["K8S_AUTH_" + name]))


AUTH_ARG_SPEC = dict(
    kubeconfig=dict(type="path", **_env("KUBECONFIG")),
    context=dict(type="str", **_env("CONTEXT")),
    host=dict(type="str", **_env("HOST")),
    api_key=dict(type="str", no_log=True, **_env("API_KEY")),
    validate_certs=dict(type="bool", aliases=["verify_ssl"], **_env("VERIFY_SSL")),
    ca_cert=dict(type="path", aliases=["ssl_ca_cert"], **_env("SSL_CA_CERT")),
    client_cert=dict(type="path", aliases=["cert_file"], **_env("CERT_FILE")),
    client_key=dict(type="path", aliases=["key_file"], no_log=False, **_env("KEY_FILE")),
)


class K8sAuthError(Exception):
    """The cluster's credentials could not be loaded; the message names the option."""


def _kubeconfig_present(path):
    return os.path.isfile(os.path.expanduser(path or os.environ.get("KUBECONFIG", "~/.kube/config").split(":")[0]))


def dynamic_client(params):
    """A DynamicClient configured from kubernetes.core-style params."""
    configuration = k8s_client.Configuration()
    kubeconfig, context, host = params.get("kubeconfig"), params.get("context"), params.get("host")
    try:
        if kubeconfig or context or not host:
            if kubeconfig and not os.path.isfile(kubeconfig):
                raise K8sAuthError("kubeconfig: {0} does not exist".format(kubeconfig))
            if _kubeconfig_present(kubeconfig):
                k8s_config.load_kube_config(config_file=kubeconfig, context=context,
                                            client_configuration=configuration)
            elif not host:
                k8s_config.load_incluster_config(client_configuration=configuration)
    except k8s_config.ConfigException as error:
        raise K8sAuthError("kubeconfig/context: {0}".format(error))
    if host:
        configuration.host = host
    if params.get("api_key"):
        configuration.api_key = {"authorization": "Bearer " + params["api_key"]}
    if params.get("validate_certs") is not None:
        configuration.verify_ssl = params["validate_certs"]
    for option, attribute in (("ca_cert", "ssl_ca_cert"), ("client_cert", "cert_file"), ("client_key", "key_file")):
        if params.get(option):
            setattr(configuration, attribute, params[option])
    return DynamicClient(k8s_client.ApiClient(configuration))
