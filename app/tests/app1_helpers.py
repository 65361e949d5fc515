"""Helpers for app1's tests (a module of its own: `conftest` is ambiguous with tests/conftest.py)."""
import json
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

APP_DIR = Path(__file__).resolve().parent.parent
SERVER_WITH_TEST_ROUTES = Path(__file__).resolve().parent / "server_with_test_routes.py"


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
