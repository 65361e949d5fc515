# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The registry_image_info module: options in, one result out; exit_json/fail_json patched to raise.

The registry is a double over real HTTP on 127.0.0.1 answering like distribution 2.8 with htpasswd.
"""

from __future__ import annotations

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import pytest

from ansible_collections.kindling.gitops.tests.unit.plugins.modules.harness import ModuleFail, run_module
from ansible_collections.kindling.gitops.plugins.modules import registry_image_info

DIGEST = "sha256:" + "cd" * 32


class HtpasswdRegistry(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_HEAD(self):  # pylint: disable=invalid-name  # BaseHTTPRequestHandler's naming
        if self.headers.get("Authorization") != "Basic " + base64.b64encode(b"kindling:s3cret").decode():
            status, headers = 401, {"WWW-Authenticate": 'Basic realm="kindling-test"'}
        elif self.path == "/v2/app1/manifests/1.0.0-0123456789ab":
            status, headers = 200, {"Docker-Content-Digest": DIGEST,
                                    "Content-Type": "application/vnd.docker.distribution.manifest.v2+json"}
        else:
            status, headers = 404, {}
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def registry():
    server = ThreadingHTTPServer(("127.0.0.1", 0), HtpasswdRegistry)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield "127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


def _run(**args):
    return run_module(registry_image_info, args)


def _fail(**args):
    return run_module(registry_image_info, args, ModuleFail)


def test_existing_tag_returns_digest_and_ref(registry):
    result = _run(registry=registry, repository="app1", tag="1.0.0-0123456789ab", username="kindling", password="s3cret")
    assert result["changed"] is False and result["exists"] is True
    assert result["digest"] == DIGEST and result["ref"] == "%s/app1@%s" % (registry, DIGEST)


def test_credentials_from_the_environment(registry, monkeypatch):
    monkeypatch.setenv("KINDLING_REGISTRY_USERNAME", "kindling")
    monkeypatch.setenv("KINDLING_REGISTRY_PASSWORD", "s3cret")
    assert _run(registry=registry, repository="app1", tag="1.0.0-ffffffffffff")["exists"] is False


def test_wrong_password_fails_naming_the_registry(registry):
    result = _fail(registry=registry, repository="app1", tag="1.0.0-0123456789ab", username="kindling", password="nope-123",
                   retries=0)
    assert "registry %s rejected the credentials" % registry in result["msg"]
    assert result["registry"] == registry and result["field"] == "password"


def test_password_is_no_log():
    spec = registry_image_info.registry_argument_spec()
    assert spec["password"]["no_log"] is True


def test_bad_registry_fails_naming_the_field():
    failed = _fail(registry="https://ghcr.io", repository="app1", tag="1.0.0")
    assert failed["field"] == "registry"


def test_username_without_password_is_rejected_by_the_spec(monkeypatch):
    monkeypatch.delenv("KINDLING_REGISTRY_PASSWORD", raising=False)
    failed = _fail(registry="ghcr.io", repository="app1", tag="1.0.0", username="octocat")
    assert "username" in failed["msg"] and "password" in failed["msg"]
