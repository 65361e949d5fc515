"""Fixtures for app1's tests: an app with its own metrics registry, and the real server as a process."""
import io
import logging.config
import os
import signal
import subprocess
import sys
import time

import pytest
from app1_helpers import APP_DIR, SERVER_WITH_TEST_ROUTES, RunningServer, get

from app1 import logs
from app1.metrics import Metrics
from app1.settings import Settings
from app1.web import create_app
from support.net import free_port, wait_for_port


def pytest_collection_modifyitems(items):
    """app1's tests need no Docker and take seconds: all of them are in the fast tier."""
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here):
            item.add_marker(pytest.mark.fast)


@pytest.fixture
def log_stream():
    """Everything the app logs during the test, one JSON object per line."""
    stream = io.StringIO()
    logging.config.dictConfig(logs.dict_config("INFO", stream))
    yield stream
    logging.config.dictConfig(logs.dict_config("INFO"))


@pytest.fixture
def service(log_stream):
    """(flask_app, metrics) with environment/version/commit set to recognisable values."""
    metrics = Metrics()
    settings = Settings(environment="qa", version="9.8.7", commit="c0ffee")
    return create_app(settings, metrics), metrics


@pytest.fixture
def client(service):
    app, _metrics = service
    return app.test_client()


@pytest.fixture
def start_server(tmp_path):
    """start_server(test_routes=False, **env) -> RunningServer: `python -m app1` (or with its test routes) on
    127.0.0.1 free ports, waited for until /ready says 200. Stopped (killed if need be) after the test."""
    started = []

    def start(test_routes=False, **env):
        port, metrics_port = free_port(), free_port()
        stdout_path = tmp_path / f"server-{len(started)}.log"
        environment = dict(os.environ, HOST="127.0.0.1", PORT=str(port), METRICS_PORT=str(metrics_port),
                           PYTHONPATH=str(APP_DIR), **{key: str(value) for key, value in env.items()})
        argv = [sys.executable, str(SERVER_WITH_TEST_ROUTES)] if test_routes else [sys.executable, "-m", "app1"]
        with stdout_path.open("w") as stdout:
            # A session of its own: teardown kills granian's worker process with its main process.
            process = subprocess.Popen(argv, cwd=APP_DIR, env=environment, stdout=stdout, stderr=subprocess.STDOUT,
                                       start_new_session=True)
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
        try:
            os.killpg(process.pid, signal.SIGKILL)  # the worker too, even when the main process is gone
        except ProcessLookupError:
            pass
        process.wait()
