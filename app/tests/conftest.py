"""Fixtures for app1's tests: an app with its own metrics registry, and the real server as a process."""
import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app1 import logs
from app1.metrics import Metrics
from app1.readiness import Readiness
from app1.settings import Settings
from app1.web import create_app
from support.net import free_port, wait_for_port

APP_DIR = Path(__file__).resolve().parent.parent
SLOW_SERVER = Path(__file__).resolve().parent / "slow_server.py"


@pytest.fixture
def log_stream():
    """Everything the app logs during the test, one JSON object per line."""
    stream = io.StringIO()
    logs.configure("INFO", stream)
    yield stream
    logs.configure("INFO")


@pytest.fixture
def service(log_stream):
    """(flask_app, readiness, metrics) with environment/version/commit set to recognisable values."""
    readiness, metrics = Readiness(), Metrics()
    settings = Settings(environment="qa", version="9.8.7", commit="c0ffee")
    app = create_app(settings, readiness, metrics)
    return app, readiness, metrics


@pytest.fixture
def client(service):
    app, readiness, _metrics = service
    readiness.mark_ready()
    return app.test_client()


def log_lines(stream):
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def get(url, headers=None, method="GET", timeout=10):
    """(status, headers, body bytes) for any status, 4xx/5xx included."""
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def scrape(port):
    """{(sample name, frozenset(labels)): value} from /metrics, parsed by prometheus_client's parser."""
    _status, _headers, body = get(f"http://127.0.0.1:{port}/metrics")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(body.decode()) for sample in family.samples}


class RunningServer:
    def __init__(self, process, port, metrics_port, stdout_path):
        self.process, self.port, self.metrics_port, self.stdout_path = process, port, metrics_port, stdout_path

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def log_records(self):
        return [json.loads(line) for line in self.stdout_path.read_text().splitlines() if line.startswith("{")]

    def terminate_and_wait(self, timeout):
        self.process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code = self.process.wait(timeout=timeout)
        return code, time.monotonic() - started


@pytest.fixture
def start_server(tmp_path):
    """start_server(slow=False, **env) -> RunningServer: `python -m app1` (or the slow-route variant) on
    127.0.0.1 free ports, waited for until /ready says 200. Stopped (killed if need be) after the test."""
    started = []

    def start(slow=False, **env):
        port, metrics_port = free_port(), free_port()
        stdout_path = tmp_path / f"server-{len(started)}.log"
        environment = dict(os.environ, HOST="127.0.0.1", PORT=str(port), METRICS_PORT=str(metrics_port),
                           PYTHONPATH=str(APP_DIR), **{key: str(value) for key, value in env.items()})
        argv = [sys.executable, str(SLOW_SERVER)] if slow else [sys.executable, "-m", "app1"]
        with stdout_path.open("w") as stdout:
            process = subprocess.Popen(argv, cwd=APP_DIR, env=environment, stdout=stdout, stderr=subprocess.STDOUT)
        started.append(process)
        server = RunningServer(process, port, metrics_port, stdout_path)
        wait_for_port(port)
        deadline = time.monotonic() + 15
        while get(server.url("/ready"))[0] != 200:
            assert process.poll() is None, f"server exited: {stdout_path.read_text()}"
            assert time.monotonic() < deadline, "server never became ready"
            time.sleep(0.05)
        return server

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()
