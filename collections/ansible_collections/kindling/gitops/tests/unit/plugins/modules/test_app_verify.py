# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The app_verify module: options in, one result out; exit_json/fail_json patched to raise."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from unittest import mock

import pytest

from ansible_collections.kindling.gitops.plugins.module_utils import app_verify as app_verify_utils
from ansible_collections.kindling.gitops.plugins.modules import app_verify
from ansible_collections.kindling.gitops.tests.unit.plugins.modules.harness import ModuleExit, ModuleFail, run_module


class VersionedApp(BaseHTTPRequestHandler):
    """HTTP-boundary double of the app that reports version 1.0.1 and one metric family."""

    answers = {
        "/health": ("application/json", {"status": "ok"}),
        "/ready": ("application/json", {"status": "ready"}),
        "/": ("application/json", {"app": "app1", "environment": "qa", "version": "1.0.1"}),
        "/metrics": ("text/plain; version=0.0.4", "# TYPE app_in_flight_requests gauge\napp_in_flight_requests 0.0\n"),
    }

    def do_GET(self):  # pylint: disable=invalid-name  # BaseHTTPRequestHandler's naming
        content_type, body = self.answers[self.path]
        payload = (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def app_url():
    server = HTTPServer(("127.0.0.1", 0), VersionedApp)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
    server.server_close()


def test_passing_app_exits_unchanged_with_all_records(app_url):
    args = {"base_url": app_url, "metrics_url": app_url + "/metrics", "expected_version": "1.0.1",
            "required_metrics": ["app_in_flight_requests"], "latency_budget_ms": 5000}
    output = run_module(app_verify, dict(args, _ansible_check_mode=True), ModuleExit)
    assert output["changed"] is False
    assert output["ok"] is True
    assert output["failed_checks"] == []
    assert [c["name"] for c in output["checks"]] == list(app_verify_utils.CHECK_NAMES)


def test_failing_checks_fail_the_module_listing_them(app_url):
    args = {"base_url": app_url, "metrics_url": app_url + "/metrics", "expected_version": "1.0.2",
            "expected_environment": "qa", "required_metrics": ["app_request_count_total"]}
    output = run_module(app_verify, args, ModuleFail)
    assert output["changed"] is False
    assert output["failed_checks"] == ["/: version 1.0.1 != expected 1.0.2",
                                       "metrics: missing app_request_count_total"]
    assert output["msg"] == ("2 of 5 checks failed: /: version 1.0.1 != expected 1.0.2; "
                             "metrics: missing app_request_count_total")


@pytest.mark.parametrize("args, option", [
    ({"base_url": "localhost:8080"}, "base_url"),
    ({"base_url": "http://127.0.0.1:8080", "required_metrics": [{"name": "x y"}]}, "required_metrics[0].name"),
    ({"base_url": "http://127.0.0.1:8080", "latency_budget_ms": -1}, "latency_budget_ms"),
])
def test_bad_option_fails_before_any_request(args, option):
    with mock.patch.object(app_verify_utils, "open_url") as open_url:
        output = run_module(app_verify, args, ModuleFail)
    assert output["option"] == option
    assert output["msg"].startswith(option + ": ")
    open_url.assert_not_called()


def test_unknown_check_is_refused_by_choices():
    output = run_module(app_verify, {"base_url": "http://127.0.0.1:8080", "checks": ["/status"]}, ModuleFail)
    assert "checks" in output["msg"]


def test_missing_prometheus_client_fails_naming_the_library():
    with mock.patch.object(app_verify_utils, "PROMETHEUS_CLIENT_IMPORT_ERROR", "Traceback: no module"):
        output = run_module(app_verify, {"base_url": "http://127.0.0.1:8080"}, ModuleFail)
    assert "prometheus_client" in output["msg"]
