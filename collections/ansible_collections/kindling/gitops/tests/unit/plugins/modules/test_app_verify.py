# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The app_verify module: options in, one result out; exit_json/fail_json patched to raise."""

from __future__ import annotations

from unittest import mock

import pytest

from ansible_collections.kindling.gitops.plugins.module_utils import app_verify as app_verify_utils
from ansible_collections.kindling.gitops.plugins.modules import app_verify
from ansible_collections.kindling.gitops.tests.unit.plugins.module_utils.test_app_verify import (  # noqa: F401  # pylint: disable=unused-import  # serve is a fixture
    healthy_routes, serve)
from ansible_collections.kindling.gitops.tests.unit.plugins.modules.harness import ModuleExit, ModuleFail, run_module


@pytest.fixture
def app_url(serve):  # pylint: disable=redefined-outer-name  # pytest fixture
    """HTTP-boundary double of the app reporting version 1.0.1 in dev."""
    return serve(healthy_routes())


def test_passing_app_exits_unchanged_with_all_records(app_url):
    args = {"base_url": app_url, "metrics_url": app_url + "/metrics", "expected_version": "1.0.1",
            "required_metrics": ["app_request_count_total"], "latency_budget_ms": 5000}
    output = run_module(app_verify, dict(args, _ansible_check_mode=True), ModuleExit)
    assert output["changed"] is False
    assert output["ok"] is True
    assert output["failed_checks"] == []
    assert [c["name"] for c in output["checks"]] == list(app_verify_utils.DEFAULT_CHECKS)


def test_failing_checks_fail_the_module_listing_them(app_url):
    args = {"base_url": app_url, "metrics_url": app_url + "/metrics", "expected_version": "1.0.2",
            "expected_environment": "dev", "required_metrics": ["app_requests_in_flight"]}
    output = run_module(app_verify, args, ModuleFail)
    assert output["changed"] is False
    assert output["failed_checks"] == ["/: version 1.0.1 != expected 1.0.2",
                                       "metrics: missing app_requests_in_flight"]
    assert output["msg"].startswith("2 of 5 checks failed: /: version 1.0.1 != expected 1.0.2; "
                                    "metrics: missing app_requests_in_flight; latency p50 ")


@pytest.mark.parametrize("args, option", [
    ({"base_url": "localhost:8080"}, "base_url"),
    ({"base_url": "http://127.0.0.1:8080", "required_metrics": [{"name": "x y"}]}, "required_metrics[0].name"),
    ({"base_url": "http://127.0.0.1:8080", "latency_budget_ms": -1}, "latency_budget_ms"),
    ({"base_url": "http://127.0.0.1:8080", "latency_samples": 0}, "latency_samples"),
])
def test_bad_option_fails_before_any_request(args, option):
    with mock.patch.object(app_verify_utils, "Request") as request:
        output = run_module(app_verify, args, ModuleFail)
    assert output["option"] == option
    assert output["msg"].startswith(option + ": ")
    request.assert_not_called()


def test_unknown_check_is_refused_by_choices():
    output = run_module(app_verify, {"base_url": "http://127.0.0.1:8080", "checks": ["/status"]}, ModuleFail)
    assert "checks" in output["msg"]


def test_missing_prometheus_client_fails_naming_the_library():
    with mock.patch.object(app_verify_utils, "PROMETHEUS_CLIENT_IMPORT_ERROR", "Traceback: no module"):
        output = run_module(app_verify, {"base_url": "http://127.0.0.1:8080"}, ModuleFail)
    assert "prometheus_client" in output["msg"]


def test_ca_path_and_ca_data_are_mutually_exclusive_in_the_argument_spec(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    output = run_module(app_verify, {"base_url": "https://127.0.0.1:8443", "ca_path": str(ca),
                                     "ca_data": "-----BEGIN CERTIFICATE-----\n"}, ModuleFail)
    assert output["msg"] == "parameters are mutually exclusive: ca_path|ca_data"
