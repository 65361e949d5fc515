"""kindling.gitops.app_verify through real Ansible against the real app: as a process, as a container, and in
deliberately broken variants (tests/doubles/faulty_app.py), each of which must fail exactly one check, precisely."""
import json
import os
import subprocess
import sys
import uuid

import pytest

from doubles.ansible_run import ROOT, playbook_env
from doubles.faulty_app import FaultyApp
from support.net import free_port, wait_for_port

APP_DIR = ROOT / "app"
VERSION = (APP_DIR / "VERSION").read_text().strip()
REQUIRED_METRICS = ["app_request_count_total", "app_request_latency_seconds", "app_requests_in_flight",
                    {"name": "app_build_info", "labels": {"version": VERSION}}]
CONTAINER_PREFIX = "kverify-"


def app_verify(tmp_path, **args):
    """Run the module as an ad-hoc Ansible task on localhost; returns its result (ok or failed)."""
    env = playbook_env(tmp_path, fakes=False, ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    completed = subprocess.run(
        ["ansible", "localhost", "-c", "local", "-m", "kindling.gitops.app_verify", "-a", json.dumps(args)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
    try:
        output = json.loads(completed.stdout)
    except ValueError:
        raise AssertionError(f"ansible printed no JSON (rc={completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    result = output["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert "Traceback" not in result.get("msg", ""), result
    return result


def full_args(base_url, metrics_url, environment="dev", **overrides):
    args = {"base_url": base_url, "metrics_url": metrics_url, "expected_app": "app1",
            "expected_environment": environment, "expected_version": VERSION,
            "required_metrics": REQUIRED_METRICS, "latency_budget_ms": 400,
            "attempts": 3, "retry_delay": 0.2, "deadline": 30, "latency_samples": 6, "latency_warmup": 1}
    args.update(overrides)
    return args


def assert_all_passed(result):
    assert result.get("failed") is not True, result.get("msg")
    assert result["changed"] is False
    assert [c["name"] for c in result["checks"]] == ["/health", "/ready", "/", "metrics", "latency"]
    assert all(c["ok"] for c in result["checks"]), result["checks"]


@pytest.fixture
def app_process(tmp_path):
    """app/ as its production server command (python -m app1: granian, metrics from its worker) on free loopback ports."""
    port, metrics_port = free_port(), free_port()
    env = dict(os.environ, PYTHONPATH=str(APP_DIR), HOST="127.0.0.1", PORT=str(port),
               METRICS_PORT=str(metrics_port), ENVIRONMENT="dev", LOG_LEVEL="WARNING")
    log = open(tmp_path / "app.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "app1"], env=env, stdout=log, stderr=log)
    try:
        wait_for_port(port)
        wait_for_port(metrics_port)
        yield f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}/metrics"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_real_app_process_passes_every_check(tmp_path, app_process):
    base_url, metrics_url = app_process
    assert_all_passed(app_verify(tmp_path, **full_args(base_url, metrics_url)))


def test_real_app_through_a_host_header_passes(tmp_path, app_process):
    base_url, metrics_url = app_process
    result = app_verify(tmp_path, **full_args(base_url, metrics_url, host_header="app1-dev.localtest.me"))
    assert all(c["ok"] for c in result["checks"]), result["checks"]


@pytest.fixture
def faulty(request):
    app = FaultyApp(request.param, VERSION).start()
    yield app
    app.stop()


@pytest.mark.parametrize("faulty, failures", [
    # The build-info gauge carries the version too, so a wrong version is named twice: by / and by metrics.
    ("wrong_version", ["/: version 0.0.1-wrong != expected " + VERSION,
                       'metrics: missing app_build_info{version="%s"}' % VERSION]),
    ("missing_metric", ["metrics: missing app_request_count_total"]),
    ("health_500", ["/health: 500 after 3 attempts"]),
    ("slow_index", ["latency: p95 "]),
], indirect=["faulty"])
def test_broken_variant_fails_exactly_its_checks(tmp_path, faulty, failures):
    result = app_verify(tmp_path, **full_args(faulty.base_url, faulty.metrics_url))
    assert result["failed"] is True
    assert len(result["failed_checks"]) == len(failures), result["failed_checks"]
    for reported, expected in zip(result["failed_checks"], failures):
        assert reported.startswith(expected), result["failed_checks"]
        assert reported in result["msg"]
    if faulty.variant == "slow_index":
        # / answers one sample in three: the percentile, not one unlucky request, is over the budget.
        assert " > budget 400 ms (p50 " in result["failed_checks"][0]


def test_healthy_double_passes_so_the_variants_fail_for_their_fault_only(tmp_path):
    app = FaultyApp(None, VERSION).start()
    try:
        assert_all_passed(app_verify(tmp_path, **full_args(app.base_url, app.metrics_url)))
    finally:
        app.stop()


def test_nothing_listening_fails_every_check_as_refused(tmp_path):
    port = free_port()
    result = app_verify(tmp_path, **full_args(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/metrics",
                                              attempts=2, retry_delay=0.1))
    assert result["failed_checks"] == [
        "/health: connection refused after 2 attempts", "/ready: connection refused after 2 attempts",
        "/: connection refused after 2 attempts", "metrics: connection refused after 2 attempts",
        "latency: no response to measure"]


@pytest.mark.parametrize("bad, option", [
    ({"base_url": "not a url"}, "base_url"),
    ({"latency_budget_ms": 0}, "latency_budget_ms"),
    ({"required_metrics": ["has-dash"]}, "required_metrics[0].name"),
])
def test_invalid_option_fails_naming_it_without_traceback(tmp_path, bad, option):
    args = full_args("http://127.0.0.1:1", "http://127.0.0.1:1/metrics")
    result = app_verify(tmp_path, **{**args, **bad})
    assert result["msg"].startswith(option + ": "), result["msg"]
    assert "Traceback" not in result.get("exception", "")


# --- the app as a container built from app/Dockerfile -------------------------------------------------------

def test_real_app_container_passes_every_check(tmp_path, app_image):
    port, metrics_port = free_port(), free_port()
    name = f"{CONTAINER_PREFIX}{uuid.uuid4().hex[:8]}"
    run = subprocess.run(["docker", "run", "-d", "--name", name, "-e", "ENVIRONMENT=qa",
                          "-p", f"127.0.0.1:{port}:8080", "-p", f"127.0.0.1:{metrics_port}:9090", app_image["tag"]],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    try:
        wait_for_port(port, timeout=30)
        result = app_verify(tmp_path, **full_args(f"http://127.0.0.1:{port}",
                                                  f"http://127.0.0.1:{metrics_port}/metrics", environment="qa",
                                                  attempts=10, retry_delay=0.5))
        assert_all_passed(result)
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
