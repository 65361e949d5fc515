"""The real server process on 127.0.0.1: requests, metrics scraped and parsed, logs, and SIGTERM drain."""
import json
import threading
import time

from app1_helpers import get, scrape

from app1.metrics import LATENCY_BUCKETS, UNMATCHED


def count(samples, endpoint, status, method="GET"):
    return samples.get(("app_request_count_total", frozenset(
        {"method": method, "endpoint": endpoint, "http_status": str(status)}.items())), 0.0)


def in_flight(server):
    return sum(value for (name, _labels), value in scrape(server.metrics_port).items() if name == "app_requests_in_flight")


def latency(samples, suffix, endpoint, method="GET", **extra):
    return samples.get((f"app_request_latency_seconds_{suffix}", frozenset(
        {"method": method, "endpoint": endpoint, **extra}.items())), 0.0)


def test_counters_and_histogram_move_by_exactly_what_was_sent(start_server):
    server = start_server(ENVIRONMENT="qa", APP_VERSION="3.2.1", APP_COMMIT="feedbeef")
    before = scrape(server.metrics_port)
    sent = {"/health": 7, "/": 4, "/nothing-here": 3}
    for path, times in sent.items():
        for _ in range(times):
            get(server.url(path))
    get(server.url("/"), method="DELETE")
    after = scrape(server.metrics_port)

    assert count(after, "/health", 200) - count(before, "/health", 200) == 7
    assert count(after, "/", 200) - count(before, "/", 200) == 4
    assert count(after, UNMATCHED, 404) - count(before, UNMATCHED, 404) == 3
    assert count(after, UNMATCHED, 405, method="DELETE") - count(before, UNMATCHED, 405, method="DELETE") == 1
    for endpoint, times in (("/health", 7), ("/", 4), (UNMATCHED, 3)):
        assert latency(after, "count", endpoint) - latency(before, "count", endpoint) == times
        assert latency(after, "bucket", endpoint, le="+Inf") - latency(before, "bucket", endpoint, le="+Inf") == times
        assert latency(after, "sum", endpoint) > latency(before, "sum", endpoint)
    buckets = [latency(after, "bucket", "/health", le=str(bound)) for bound in LATENCY_BUCKETS]
    assert buckets == sorted(buckets) and buckets[-1] == latency(after, "count", "/health")
    assert after[("app_build_info", frozenset(
        {"version": "3.2.1", "environment": "qa", "commit": "feedbeef"}.items()))] == 1
    assert after[("app_requests_in_flight", frozenset())] == 0  # scrapes are not app traffic
    # Scrapes are prometheus_client's to answer, not counted as requests (Prometheus has its own scrape series).
    assert not [key for key in after if ("endpoint", "/metrics") in key[1]]


def test_responses_and_logs_carry_the_request_id(start_server):
    server = start_server()
    status, headers, _body = get(server.url("/"), headers={"X-Request-ID": "from-ingress-42"})
    assert status == 200 and headers["X-Request-ID"] == "from-ingress-42"
    _status, generated_headers, _body = get(server.url("/health"))
    generated = generated_headers["X-Request-ID"]
    server.terminate_and_wait(timeout=30)
    access = [record for record in server.log_records() if record["logger"] == "app1.access"]
    by_id = {record["request_id"]: record for record in access}
    assert by_id["from-ingress-42"]["path"] == "/" and by_id["from-ingress-42"]["status"] == 200
    assert by_id[generated]["path"] == "/health"
    assert all(record["level"] in {"INFO", "WARNING", "ERROR"} for record in server.log_records())


def test_every_line_the_server_writes_is_a_json_record(start_server):
    server = start_server()  # stdout and stderr into one file
    get(server.url("/health"))
    server.terminate_and_wait(timeout=30)
    records = [json.loads(line) for line in server.stdout_path.read_text().splitlines()]
    # granian's own records (start, worker, stop) are there too, in the same format.
    assert {"_granian", "app1.access"} <= {record["logger"] for record in records}
    assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)


def test_log_level_warning_silences_the_access_log(start_server):
    server = start_server(LOG_LEVEL="WARNING")
    get(server.url("/health"))
    server.terminate_and_wait(timeout=30)
    assert [record for record in server.log_records() if record["logger"] == "app1.access"] == []


def test_sigterm_stops_new_connections_and_finishes_the_request_in_flight(start_server):
    server = start_server(test_routes=True, SHUTDOWN_TIMEOUT="10")
    slow_result = {}

    def slow_request():
        slow_result["response"] = get(server.url("/test/slow?seconds=2.5"), timeout=20)
    caller = threading.Thread(target=slow_request)
    caller.start()
    wait_for_a_request_in_flight(server)
    stopping = threading.Thread(target=lambda: slow_result.setdefault("exit", server.terminate_and_wait(timeout=30)))
    stopping.start()
    time.sleep(0.5)
    try:
        ready = get(server.url("/ready"), timeout=2)[0]
    except OSError as error:
        ready = type(error).__name__
    caller.join(timeout=30)
    stopping.join(timeout=30)

    assert ready != 200  # a readiness probe fails from SIGTERM on
    status, _headers, body = slow_result["response"]
    assert (status, json.loads(body)) == (200, {"slept": 2.5})
    exit_code, took = slow_result["exit"]
    assert exit_code == 0
    # Out as soon as the slow request is done (~2.5 s), not at the 10 s bound.
    assert took < 6.5


def test_a_stuck_request_cannot_hold_shutdown_past_the_bound(start_server):
    server = start_server(test_routes=True, SHUTDOWN_TIMEOUT="1")
    outcome = []

    def stuck_request():
        try:
            outcome.append(get(server.url("/test/slow?seconds=60"), timeout=70)[0])
        except OSError as error:  # the worker is killed with the request unanswered
            outcome.append(type(error).__name__)
    caller = threading.Thread(target=stuck_request)
    caller.start()
    wait_for_a_request_in_flight(server)
    _exit_code, took = server.terminate_and_wait(timeout=30)
    caller.join(timeout=10)
    assert took < 1 + 3
    assert outcome and outcome[0] != 200
    warnings = [record["message"] for record in server.log_records() if record["level"] == "WARNING"]
    assert "Killing worker-1 after it refused to gracefully stop" in warnings  # granian's, naming the kill


def wait_for_a_request_in_flight(server):
    # SIGTERM only once the worker holds the request (a fixed sleep lost that race on a loaded machine, and the
    # worker then stopped cleanly with nothing in flight).
    deadline = time.monotonic() + 10
    while not in_flight(server) and time.monotonic() < deadline:
        time.sleep(0.05)
