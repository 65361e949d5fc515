# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""registry_v2 against a registry double over real HTTP on 127.0.0.1.

The double answers like distribution 2.8 (htpasswd: Basic challenge) and like GHCR (Bearer challenge
with a token endpoint); headers are the ones those registries send.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.kindling.gitops.plugins.module_utils import registry_v2 as rv2

DIGEST = "sha256:" + "ab" * 32
MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


class RegistryDouble(BaseHTTPRequestHandler):
    """A registry double: `state` on the server says which auth it wants and which failures to play."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output quiet
        pass

    def _reply(self, status, headers=None, body=b""):
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _authorized(self, state):
        header = self.headers.get("Authorization", "")
        if state["auth"] == "basic":
            expected = "Basic " + base64.b64encode(b"kindling:right").decode()
            if header != expected:
                self._reply(401, {"WWW-Authenticate": 'Basic realm="kindling-test"',
                                  "Docker-Distribution-Api-Version": "registry/2.0"})
                return False
        if state["auth"] == "bearer" and header != "Bearer token-for-" + state.get("user", "anonymous"):
            self._reply(401, {"WWW-Authenticate": 'Bearer realm="http://%s/token",service="ghcr.io",scope="repository:org/app1:pull"'
                                                  % self.headers["Host"]})
            return False
        return True

    def do_GET(self):  # pylint: disable=invalid-name  # BaseHTTPRequestHandler's naming
        state = self.server.state
        state["requests"].append((self.command, self.path, self.headers.get("Authorization")))
        if self.path.startswith("/token"):
            header = self.headers.get("Authorization", "")
            if header.startswith("Basic "):
                user, _sep, password = base64.b64decode(header[6:]).decode().partition(":")
                if password != "right":
                    self._reply(401, {}, b'{"errors":[{"code":"UNAUTHORIZED"}]}')
                    return
                state["user"] = user
            self._reply(200, {"Content-Type": "application/json"},
                        json.dumps({"token": "token-for-" + state.get("user", "anonymous")}).encode())
            return
        self.do_HEAD()

    def do_HEAD(self):  # pylint: disable=invalid-name
        state = self.server.state
        if self.command == "HEAD":
            state["requests"].append((self.command, self.path, self.headers.get("Authorization")))
        if state["failures"]:
            self._reply(state["failures"].pop(0))
            return
        if not self._authorized(state):
            return
        if self.path == "/v2/org/app1/manifests/1.0.0-0123456789ab":
            self._reply(200, {"Docker-Content-Digest": DIGEST, "Content-Type": MEDIA_TYPE})
        elif self.path.startswith("/v2/org/forbidden/"):
            self._reply(403, {"Content-Type": "application/json"}, b'{"errors":[{"code":"DENIED"}]}')
        else:
            self._reply(404, {"Content-Type": "application/json"}, b'{"errors":[{"code":"MANIFEST_UNKNOWN"}]}')


@pytest.fixture
def double():
    server = ThreadingHTTPServer(("127.0.0.1", 0), RegistryDouble)
    server.state = {"auth": None, "failures": [], "requests": []}
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _host(server):
    return "127.0.0.1:%d" % server.server_address[1]


def _client(server, **kwargs):
    kwargs.setdefault("sleep", lambda seconds: None)
    return rv2.RegistryClient(_host(server), **kwargs)


def test_anonymous_registry_reports_the_digest(double):
    result = rv2.image_info(_host(double), "org/app1", "1.0.0-0123456789ab", sleep=lambda s: None)
    assert result["exists"] is True and result["digest"] == DIGEST and result["media_type"] == MEDIA_TYPE
    assert result["ref"] == "%s/org/app1@%s" % (_host(double), DIGEST)
    assert result["attempts"] == 1


def test_missing_tag_is_not_an_error(double):
    result = rv2.image_info(_host(double), "org/app1", "1.0.0-ffffffffffff", sleep=lambda s: None)
    assert (result["exists"], result["digest"], result["ref"]) == (False, None, None)


def test_basic_auth_answers_the_challenge(double):
    double.state["auth"] = "basic"
    client = _client(double, username="kindling", password="right")
    assert client.manifest_digest("org/app1", "1.0.0-0123456789ab")["digest"] == DIGEST
    assert [r[2] is not None for r in double.state["requests"]] == [False, True]


def test_bearer_token_flow_like_ghcr(double):
    double.state["auth"] = "bearer"
    client = _client(double, username="octocat", password="right")
    assert client.manifest_digest("org/app1", "1.0.0-0123456789ab")["exists"] is True
    token_request = [r for r in double.state["requests"] if r[1].startswith("/token")][0]
    assert "scope=repository%3Aorg%2Fapp1%3Apull" in token_request[1] and "service=ghcr.io" in token_request[1]


def test_anonymous_bearer_token_for_a_public_image(double):
    double.state["auth"] = "bearer"
    assert _client(double).manifest_digest("org/app1", "1.0.0-0123456789ab")["exists"] is True


@pytest.mark.parametrize("auth", ["basic", "bearer"])
def test_wrong_password_names_registry_and_user(double, auth):
    double.state["auth"] = auth
    with pytest.raises(rv2.RegistryError) as caught:
        _client(double, username="kindling", password="wr0ng-pass").manifest_digest("org/app1", "1.0.0-0123456789ab")
    assert "registry %s rejected the credentials of user kindling" % _host(double) in str(caught.value)
    assert caught.value.field == "password"
    assert "wr0ng-pass" not in str(caught.value)


def test_missing_credentials_name_the_registry(double):
    double.state["auth"] = "basic"
    with pytest.raises(rv2.RegistryError) as caught:
        _client(double).manifest_digest("org/app1", "1.0.0-0123456789ab")
    assert "registry %s requires credentials" % _host(double) in str(caught.value)


def test_forbidden_repository_fails_clearly(double):
    with pytest.raises(rv2.RegistryError, match="denies access to org/forbidden"):
        _client(double).manifest_digest("org/forbidden", "1.0.0-0123456789ab")


def test_transient_failures_are_retried_with_doubling_waits(double):
    double.state["failures"] = [503, 429, 502]
    waits = []
    client = _client(double, retries=4, retry_delay=0.5, sleep=waits.append)
    assert client.manifest_digest("org/app1", "1.0.0-0123456789ab")["exists"] is True
    assert waits == [0.5, 1.0, 2.0]
    assert client.attempts == 4


def test_waits_are_capped(double):
    double.state["failures"] = [500] * 3
    waits = []
    _client(double, retries=3, retry_delay=10, max_delay=16, sleep=waits.append).manifest_digest(
        "org/app1", "1.0.0-0123456789ab")
    assert waits == [10, 16, 16]


def test_registry_that_stays_down_fails_after_the_bound():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    waits = []
    client = rv2.RegistryClient("127.0.0.1:%d" % port, retries=2, retry_delay=0.1, sleep=waits.append)
    with pytest.raises(rv2.RegistryError) as caught:
        client.manifest_digest("org/app1", "1.0.0-0123456789ab")
    assert "registry 127.0.0.1:%d is unreachable after 3 attempts" % port in str(caught.value)
    assert caught.value.attempts == 3 and waits == [0.1, 0.2]


def test_persistent_server_errors_fail_after_the_bound(double):
    double.state["failures"] = [503] * 10
    with pytest.raises(rv2.RegistryError, match="unreachable after 2 attempts \\(HTTP 503\\)"):
        _client(double, retries=1).manifest_digest("org/app1", "1.0.0-0123456789ab")


@pytest.mark.parametrize("registry, repository, tag, field", [
    ("https://ghcr.io", "org/app1", "1.0.0", "registry"),
    ("ghcr.io/org", "org/app1", "1.0.0", "registry"),
    ("ghcr.io", "Org/App1", "1.0.0", "repository"),
    ("ghcr.io", "org//app1", "1.0.0", "repository"),
    ("ghcr.io", "org/app1", "bad tag", "tag"),
    ("ghcr.io", "org/app1", "-1.0", "tag"),
])
def test_bad_references_name_the_field(registry, repository, tag, field):
    with pytest.raises(rv2.RegistryError) as caught:
        rv2.image_info(registry, repository, tag)
    assert caught.value.field == field


@pytest.mark.parametrize("registry, scheme", [
    ("localhost:5001", "http"), ("127.0.0.1:5000", "http"), ("[::1]:5000", "http"),
    ("ghcr.io", "https"), ("registry.example.com:5000", "https"),
])
def test_loopback_registries_speak_http(registry, scheme):
    assert rv2.base_url(registry).startswith(scheme + "://")
