"""The metrics exposition and the metrics port, over real sockets on 127.0.0.1.

The text format is compared byte for byte with prometheus_client's own rendering, so an upgrade of
prometheus_client that changes what it renders (or the internals TextFormat reads) fails here.
"""
import gzip
import http.client
import json
import socket
import threading
import time

import pytest
from app1_helpers import log_lines
from prometheus_client import generate_latest
from prometheus_client.exposition import choose_encoder
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families

from app1.metrics import METRICS_ENDPOINT, UNMATCHED, Exposition, Metrics, TextFormat
from app1.metrics_server import MAX_HEAD_BYTES, serve_metrics

OPENMETRICS = "application/openmetrics-text"
# What Prometheus 2 and 3 send (scrape/scrape.go acceptHeader, default scrape protocols).
PROMETHEUS_ACCEPT = ("application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;"
                     "q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2")
PROMETHEUS_3_ACCEPT = ("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
                       "application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;"
                       "q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1")
ACCEPTS = (None, PROMETHEUS_ACCEPT, PROMETHEUS_3_ACCEPT, *Exposition.FAST_ACCEPTS)


def served(metrics, method, endpoint, status):
    return metrics.registry.get_sample_value(
        "app_request_count_total", {"method": method, "endpoint": endpoint, "http_status": str(status)}) or 0.0


def assert_same_as_prometheus_client(metrics, exposition=None):
    """For every Accept header the fast renderers serve, Exposition's body is prometheus_client's."""
    exposition = exposition or Exposition(metrics)
    for accept in ACCEPTS:
        encoder, content_type = choose_encoder(accept)
        assert exposition.render(accept, None) == (content_type, None, encoder(metrics.registry)), accept


def test_text_format_of_an_empty_registry_is_prometheus_clients():
    assert_same_as_prometheus_client(Metrics())


def test_text_format_follows_every_change_byte_for_byte():
    metrics = Metrics()
    exposition = Exposition(metrics)  # one for the whole test: its kept prefixes must not go stale
    metrics.set_build_info("1.2.3", "qa", "c0ffee")
    assert_same_as_prometheus_client(metrics, exposition)
    observations = [("GET", "/", 200, 0.0004), ("GET", "/health", 200, 0.003), ("POST", "/", 405, 0.7),
                    ("BREW", UNMATCHED, 404, 12.5), ("GET", "/items/<int:id>", 500, 123456789.0)]
    for method, endpoint, status, seconds in observations:
        metrics.observe(method, endpoint, status, seconds)
        assert_same_as_prometheus_client(metrics, exposition)
    metrics.in_flight.inc(3)
    metrics.requests.labels("GET", "/", "200").inc(1e22)  # Go's exponent notation for large numbers
    assert_same_as_prometheus_client(metrics, exposition)


def test_prometheus_and_plain_clients_get_the_fast_renderer_and_other_formats_prometheus_clients(monkeypatch):
    metrics = Metrics()
    metrics.observe("GET", "/", 200, 0.01)
    exposition = Exposition(metrics)
    collected = []
    collect = metrics.registry.collect
    monkeypatch.setattr(metrics.registry, "collect", lambda: collected.append(1) or collect())
    for accept in ACCEPTS:
        exposition.render(accept, None)
    assert collected == []  # prometheus_client's renderers start with registry.collect()
    exposition.render("text/plain;version=1.0.0;escaping=dots", None)
    assert collected == [1]


def test_renderings_stay_consistent_while_requests_are_counted():
    """Other threads count requests, on routes seen for the first time too, while scrapes are rendered."""
    metrics = Metrics()
    exposition = Exposition(metrics)
    stop = threading.Event()

    def traffic(offset):
        sent = offset
        while not stop.is_set():
            metrics.observe("GET", f"/route-{sent % 40}", 200, 0.001)
            sent += 1
            time.sleep(0)  # let the scraping thread run (the GIL would otherwise stay with the traffic)

    threads = [threading.Thread(target=traffic, args=(offset,)) for offset in range(3)]
    for thread in threads:
        thread.start()
    try:
        totals = []
        for _ in range(30):
            body = exposition.render(None, None)[2].decode()
            samples = [sample for family in text_string_to_metric_families(body) for sample in family.samples]
            totals.append(sum(sample.value for sample in samples if sample.name == "app_request_count_total"))
            counts = {sample.labels["endpoint"]: sample.value for sample in samples
                      if sample.name == "app_request_latency_seconds_count"}
            infinite = {sample.labels["endpoint"]: sample.value for sample in samples
                        if sample.name == "app_request_latency_seconds_bucket" and sample.labels["le"] == "+Inf"}
            assert counts == infinite
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert totals == sorted(totals) and totals[-1] > 0


def test_text_format_escapes_label_values_and_help_like_prometheus_client():
    metrics = Metrics()
    metrics.set_build_info('say "hi"', "back\\slash", "two\nlines")
    metrics.in_flight._documentation = 'a "quoted" back\\slash\nand a second line'
    assert_same_as_prometheus_client(metrics)


def test_an_unregistered_family_leaves_both_renderings():
    metrics = Metrics()
    metrics.observe("GET", "/", 200, 0.01)
    metrics.unregister(metrics.requests)
    assert b"app_request_count" not in TextFormat().render(metrics.families)
    assert b"app_request_count" not in TextFormat().render(metrics.families, openmetrics=True)
    assert_same_as_prometheus_client(metrics)


def test_exposition_negotiates_openmetrics_gzip_and_name_filters():
    metrics = Metrics()
    metrics.observe("GET", "/", 200, 0.01)
    exposition = Exposition(metrics)

    content_type, encoding, body = exposition.render(None, None)
    assert (content_type.split(";")[0], encoding) == ("text/plain", None)
    assert body == generate_latest(metrics.registry)

    content_type, _encoding, body = exposition.render(PROMETHEUS_ACCEPT, None)
    assert content_type.startswith(OPENMETRICS) and body.endswith(b"# EOF\n")
    families = {family.name: family for family in openmetrics_families(body.decode())}
    assert families["app_request_count"].samples[0].value == 1.0

    _content_type, encoding, body = exposition.render(None, "gzip, deflate")
    assert encoding == "gzip" and gzip.decompress(body) == generate_latest(metrics.registry)

    _content_type, _encoding, body = exposition.render(None, None, "name[]=app_requests_in_flight")
    assert [family.name for family in text_string_to_metric_families(body.decode())] == ["app_requests_in_flight"]


@pytest.fixture
def metrics_port():
    """(metrics, port) of a real metrics server on 127.0.0.1."""
    metrics = Metrics()
    server = serve_metrics(metrics, "127.0.0.1", 0)
    yield metrics, server.server_port
    server.shutdown()
    server.server_close()


def connect(port):
    return http.client.HTTPConnection("127.0.0.1", port, timeout=5)


def raw_exchange(port, data):
    """Send bytes, return everything the server sends until it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_scrapes_share_one_kept_alive_connection_and_each_is_counted(metrics_port):
    metrics, port = metrics_port
    connection = connect(port)
    bodies = []
    for _ in range(3):
        connection.request("GET", METRICS_ENDPOINT)
        response = connection.getresponse()
        assert response.status == 200 and response.getheader("Content-Type").startswith("text/plain")
        bodies.append(response.read().decode())
        assert response.getheader("Connection") is None  # HTTP/1.1: kept alive
    first_socket = connection.sock
    connection.request("GET", METRICS_ENDPOINT)
    connection.getresponse().read()
    assert connection.sock is first_socket
    connection.close()
    # Each scrape sees the ones before it.
    counts = [sample.value for body in bodies for family in text_string_to_metric_families(body)
              for sample in family.samples if sample.name == "app_request_count_total"]
    assert counts == [1.0, 2.0]
    assert served(metrics, "GET", METRICS_ENDPOINT, 200) == 4
    # Scrapes are not app traffic: the in-flight gauge never counts them.
    assert "app_requests_in_flight 0.0" in bodies[-1]


def test_head_answers_the_length_without_a_body(metrics_port):
    _metrics, port = metrics_port
    connection = connect(port)
    connection.request("HEAD", METRICS_ENDPOINT)
    response = connection.getresponse()
    assert response.status == 200 and int(response.getheader("Content-Length")) > 0
    assert response.read() == b""
    connection.close()


def test_gzip_is_sent_when_asked_for(metrics_port):
    _metrics, port = metrics_port
    connection = connect(port)
    connection.request("GET", METRICS_ENDPOINT, headers={"Accept-Encoding": "gzip", "Accept": PROMETHEUS_ACCEPT})
    response = connection.getresponse()
    assert response.getheader("Content-Encoding") == "gzip"
    assert response.getheader("Content-Type").startswith(OPENMETRICS)
    assert gzip.decompress(response.read()).endswith(b"# EOF\n")
    connection.close()


def test_other_paths_are_a_counted_json_404(metrics_port):
    metrics, port = metrics_port
    connection = connect(port)
    connection.request("GET", "/favicon.ico")
    response = connection.getresponse()
    assert (response.status, json.loads(response.read())) == (404, {"error": "not found", "status": 404})
    assert served(metrics, "GET", UNMATCHED, 404) == 1
    connection.close()


def test_other_methods_are_a_405_and_the_unread_body_ends_the_connection(metrics_port):
    metrics, port = metrics_port
    answer = raw_exchange(port, b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                                b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 405 ") and b"\r\nAllow: GET, HEAD" in head and b"Connection: close" in head
    assert json.loads(body) == {"error": "method not allowed", "status": 405}  # and nothing after it
    assert served(metrics, "POST", METRICS_ENDPOINT, 405) == 1
    assert served(metrics, "GET", METRICS_ENDPOINT, 200) == 0


def test_http_1_0_closes_unless_asked_to_keep_alive(metrics_port):
    _metrics, port = metrics_port
    answer = raw_exchange(port, b"GET /metrics HTTP/1.0\r\n\r\nGET /metrics HTTP/1.0\r\n\r\n")
    assert answer.count(b"HTTP/1.1 200 OK") == 1 and b"Connection: close" in answer
    kept = raw_exchange(port, b"GET /metrics HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                              b"GET /metrics HTTP/1.0\r\n\r\n")
    assert kept.count(b"HTTP/1.1 200 OK") == 2 and kept.count(b"Connection: keep-alive") == 1


def test_connection_close_among_other_options_ends_the_connection(metrics_port):
    _metrics, port = metrics_port
    # raw_exchange reads until the server closes: a kept-open connection would time the test out.
    answer = raw_exchange(port, b"GET /metrics HTTP/1.1\r\nConnection: TE, close\r\nTE: trailers\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and b"Connection: close" in answer


def test_empty_lines_before_a_request_are_ignored(metrics_port):
    _metrics, port = metrics_port
    answer = raw_exchange(port, b"\r\n\r\nGET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")


def test_a_large_unread_body_still_gets_its_405(metrics_port):
    _metrics, port = metrics_port
    body = b"x" * (4 * 1024 * 1024)
    answer = raw_exchange(port, b"POST /metrics HTTP/1.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    assert answer.startswith(b"HTTP/1.1 405 Method Not Allowed\r\n")


def test_a_failing_rendering_is_a_json_500_logged_once_and_the_connection_goes_on(metrics_port, log_stream,
                                                                                  monkeypatch):
    metrics, port = metrics_port
    server_exposition = Exposition.render

    def broken(self, accept, accept_encoding, query=""):
        if accept == "break":
            raise RuntimeError("collector failed")
        return server_exposition(self, accept, accept_encoding, query)
    monkeypatch.setattr(Exposition, "render", broken)
    connection = connect(port)
    connection.request("GET", METRICS_ENDPOINT, headers={"Accept": "break"})
    response = connection.getresponse()
    assert (response.status, json.loads(response.read())) == (500, {"error": "internal server error", "status": 500})
    connection.request("GET", METRICS_ENDPOINT)
    assert connection.getresponse().status == 200
    connection.close()
    errors = [record for record in log_lines(log_stream) if record["level"] == "ERROR"]
    assert [record["message"] for record in errors] == ["rendering /metrics failed"]
    assert "collector failed" in errors[0]["exception"]
    assert served(metrics, "GET", METRICS_ENDPOINT, 500) == 1


def test_shutdown_right_after_the_start_stops_cleanly():
    for _ in range(20):
        server = serve_metrics(Metrics(), "127.0.0.1", 0)
        server.shutdown()
        server.server_close()
        assert not server._thread.is_alive() and server._loop.is_closed()


@pytest.mark.parametrize("request_bytes", [
    b"GET /metrics\r\n\r\n",  # no version
    b"GET /metrics HTTP/2.0\r\n\r\n",
    b"GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n",
    b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * MAX_HEAD_BYTES + b"\r\n\r\n",
])
def test_unparsable_requests_get_a_400_and_a_closed_connection(metrics_port, request_bytes):
    metrics, port = metrics_port
    answer = raw_exchange(port, request_bytes)
    assert answer.startswith(b"HTTP/1.1 400 Bad Request\r\n") and b"Connection: close" in answer
    assert served(metrics, "other", UNMATCHED, 400) == 1


def test_a_taken_port_fails_at_once():
    taken = socket.create_server(("127.0.0.1", 0))
    try:
        with pytest.raises(OSError):
            serve_metrics(Metrics(), "127.0.0.1", taken.getsockname()[1])
    finally:
        taken.close()
