"""Prometheus metrics: names the existing dashboards use, labels bounded by route templates.

Label values never come from the raw request: `endpoint` is the matched route template (or
UNMATCHED), `method` is one of HTTP_METHODS (or "other"), `http_status` is a status code.
"""
import threading
import time
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, make_wsgi_app

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"
METRICS_ENDPOINT = "/metrics"
# Sub-millisecond resolution first: this service answers in well under 5 ms; the rest are Prometheus' defaults.
# The *_created series double the scrape size and no dashboard reads them.
disable_created_metrics()
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
                   7.5, 10.0)


def method_label(method):
    return method if method in HTTP_METHODS else "other"


class Metrics:
    """The service's metrics in their own registry (a fresh one per app keeps tests independent)."""

    def __init__(self, registry=None):
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.requests = Counter("app_request_count", "HTTP requests served, by route template and status.",
                                ("method", "endpoint", "http_status"), registry=self.registry)
        self.latency = Histogram("app_request_latency_seconds", "Time to serve an HTTP request, by route template.",
                                 ("method", "endpoint"), buckets=LATENCY_BUCKETS, registry=self.registry)
        self.in_flight = Gauge("app_requests_in_flight", "HTTP requests being served right now.",
                               registry=self.registry)
        self._children = {}
        self.build_info = Gauge("app_build_info", "Always 1; labels say what is running.",
                                ("version", "environment", "commit"), registry=self.registry)

    def set_build_info(self, version, environment, commit):
        self.build_info.labels(version, environment, commit).set(1)

    def observe(self, method, endpoint, status, seconds):
        method = method_label(method)
        key = (method, endpoint, status)
        children = self._children.get(key)
        if children is None:
            # Label values are bounded (route templates, known methods, status codes), so this cache is too.
            children = self._children.setdefault(key, (self.requests.labels(method, endpoint, str(status)),
                                                       self.latency.labels(method, endpoint)))
        children[0].inc()
        children[1].observe(seconds)

    def wsgi_app(self):
        """The /metrics exposition, itself counted like every other route."""
        exposition = make_wsgi_app(self.registry)

        def instrumented(environ, start_response):
            started = time.perf_counter()
            status_holder = []

            def recording_start_response(status, headers, exc_info=None):
                status_holder.append(status.split(" ", 1)[0])
                return start_response(status, headers, exc_info)

            self.in_flight.inc()
            try:
                return exposition(environ, recording_start_response)
            finally:
                self.in_flight.dec()
                endpoint = METRICS_ENDPOINT if environ.get("PATH_INFO") == METRICS_ENDPOINT else UNMATCHED
                self.observe(environ.get("REQUEST_METHOD", ""), endpoint, status_holder[0] if status_holder else "500",
                             time.perf_counter() - started)
        return instrumented


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *_args):  # scrapes are counted in metrics, not logged
        pass


def serve_metrics(metrics, host, port):
    """Serve /metrics on host:port from a daemon thread; returns the server (its .server_port is the real port)."""
    server = make_server(host, port, metrics.wsgi_app(), _ThreadingServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics-server", daemon=True).start()
    return server
