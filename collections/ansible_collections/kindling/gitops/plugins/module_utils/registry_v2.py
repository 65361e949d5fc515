# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A minimal OCI distribution (registry v2) client: does NAME:TAG exist, and what digest does it have.

Handles anonymous access, HTTP Basic (docker-registry with htpasswd) and the Bearer token flow
(GHCR, Docker Hub, Harbor), and retries transient failures (connection errors, 429, 5xx) with a
bounded exponential backoff. Only stdlib: importable and testable without Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import ipaddress
import json
import re
import ssl
import time

from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import HTTPRedirectHandler, HTTPSHandler, Request, build_opener

from ansible_collections.kindling.gitops.plugins.module_utils import rules

MANIFEST_MEDIA_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
RETRYABLE_STATUS = (429, 500, 502, 503, 504)
AUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')


class RegistryError(Exception):
    """A failure to report to the user; ``field`` names the option at fault when there is one."""

    def __init__(self, message, field=None, attempts=0):
        super(RegistryError, self).__init__(message)
        self.field = field
        self.attempts = attempts


def validate_reference(registry, repository, tag):
    if not rules.is_registry_host(registry):
        raise RegistryError("registry: %r is not a registry host[:port] (no scheme, no path)" % (registry,), "registry")
    if not rules.is_image_repository(repository):
        raise RegistryError("repository: %r is not a valid repository name (lowercase path components)" % (repository,),
                            "repository")
    if not rules.is_image_tag(tag):
        raise RegistryError("tag: %r is not a valid image tag" % (tag,), "tag")


def is_loopback(registry):
    host = registry.rsplit(":", 1)[0] if not registry.startswith("[") else registry[1:registry.index("]")]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def base_url(registry, scheme="auto"):
    """Docker's own rule: loopback registries speak plain HTTP, every other one HTTPS."""
    if scheme == "auto":
        scheme = "http" if is_loopback(registry) else "https"
    return "%s://%s" % (scheme, registry)


class _NoRedirect(HTTPRedirectHandler):
    """Redirects (blob storage, token hosts) are not followed with credentials attached."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class RegistryClient:
    def __init__(self, registry, username=None, password=None, scheme="auto", validate_certs=True,
                 timeout=10.0, retries=4, retry_delay=1.0, max_delay=16.0, opener=None, sleep=time.sleep):
        # username and password come together: registry_image_info's argument spec requires it (required_together).
        if retries < 0:
            raise RegistryError("retries: must be 0 or more", "retries")
        self.registry = registry
        self.username = username
        self.password = password
        self.base = base_url(registry, scheme)
        self.timeout = timeout
        self.retries = retries
        self.retry_delay = retry_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self.attempts = 0
        self._authorization = None
        if opener is None:
            context = ssl.create_default_context()
            if not validate_certs:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            opener = build_opener(HTTPSHandler(context=context), _NoRedirect())
        self.opener = opener

    # -- transport ---------------------------------------------------------------------------
    def _send(self, method, url, headers):
        """One request with the bounded retry loop; returns (status, headers, body)."""
        delay = self.retry_delay
        last = None
        for attempt in range(self.retries + 1):
            self.attempts += 1
            try:
                response = self.opener.open(Request(url, method=method, headers=headers), timeout=self.timeout)
                with response:
                    return response.status, response.headers, response.read()
            except HTTPError as error:
                with error:
                    body = error.read()
                if error.code not in RETRYABLE_STATUS:
                    return error.code, error.headers, body
                last = "HTTP %s" % error.code
            except (URLError, OSError) as error:
                last = str(getattr(error, "reason", error))
            if attempt < self.retries:
                self.sleep(min(delay, self.max_delay))
                delay *= 2
        raise RegistryError("registry %s is unreachable after %d attempts (%s); is it running at %s?"
                            % (self.registry, self.attempts, last, self.base), attempts=self.attempts)

    def _basic(self):
        token = base64.b64encode(("%s:%s" % (self.username, self.password)).encode("utf-8")).decode("ascii")
        return "Basic " + token

    def _authorize(self, challenge, scope):
        """Answer a WWW-Authenticate challenge; sets the Authorization header for the next requests."""
        scheme, _sep, params = (challenge or "").partition(" ")
        scheme = scheme.lower()
        if scheme == "basic":
            if not self.username:
                raise RegistryError("registry %s requires credentials: set a username and password (token)" % self.registry,
                                    "username")
            self._authorization = self._basic()
            return
        if scheme != "bearer":
            raise RegistryError("registry %s asks for unsupported authentication %r" % (self.registry, scheme))
        values = dict(AUTH_PARAM.findall(params))
        if "realm" not in values:
            raise RegistryError("registry %s sent a Bearer challenge without a realm" % self.registry)
        query = {"scope": scope}
        if values.get("service"):
            query["service"] = values["service"]
        headers = {"Authorization": self._basic()} if self.username else {}
        status, _headers, body = self._send("GET", values["realm"] + "?" + urlencode(query), headers)
        if status == 401:
            raise self._rejected()
        if status != 200:
            raise RegistryError("registry %s token service answered HTTP %s" % (self.registry, status))
        try:
            document = json.loads(body.decode("utf-8"))
            token = document.get("token") or document["access_token"]
        except (ValueError, KeyError, AttributeError):
            raise RegistryError("registry %s token service returned no token" % self.registry)
        self._authorization = "Bearer " + token

    def _rejected(self):
        if self.username:
            return RegistryError("registry %s rejected the credentials of user %s (wrong username or password/token?)"
                                 % (self.registry, self.username), "password")
        return RegistryError("registry %s requires credentials: set a username and password (token)" % self.registry,
                             "username")

    def _request(self, method, path, scope, accept=None):
        headers = {"Accept": accept} if accept else {}
        for round_trip in range(2):
            if self._authorization:
                headers["Authorization"] = self._authorization
            status, response_headers, body = self._send(method, self.base + path, dict(headers))
            if status != 401:
                return status, response_headers, body
            if round_trip or self._authorization:
                raise self._rejected()
            self._authorize(response_headers.get("WWW-Authenticate"), scope)
        raise self._rejected()  # pragma: no cover - the loop always returns or raises

    # -- API -----------------------------------------------------------------------------------
    def manifest_digest(self, repository, tag):
        """{'exists', 'digest', 'media_type'} for repository:tag, straight from the registry."""
        validate_reference(self.registry, repository, tag)
        status, headers, _body = self._request("HEAD", "/v2/%s/manifests/%s" % (repository, tag),
                                               "repository:%s:pull" % repository, ", ".join(MANIFEST_MEDIA_TYPES))
        if status == 404:
            return {"exists": False, "digest": None, "media_type": None}
        if status == 403:
            raise RegistryError("registry %s denies access to %s (HTTP 403): check the token's scopes"
                                % (self.registry, repository), "username")
        if status != 200:
            raise RegistryError("registry %s answered HTTP %s for %s:%s" % (self.registry, status, repository, tag))
        digest = headers.get("Docker-Content-Digest")
        if not digest:
            raise RegistryError("registry %s did not send Docker-Content-Digest for %s:%s" % (self.registry, repository, tag))
        return {"exists": True, "digest": digest, "media_type": headers.get("Content-Type")}


def image_info(registry, repository, tag, **client_options):
    """What the registry_image_info module returns (without ``changed``)."""
    validate_reference(registry, repository, tag)
    client = RegistryClient(registry, **client_options)
    result = client.manifest_digest(repository, tag)
    result.update({
        "registry": registry,
        "repository": repository,
        "tag": tag,
        "attempts": client.attempts,
        "ref": "%s/%s@%s" % (registry, repository, result["digest"]) if result["exists"] else None,
    })
    return result
