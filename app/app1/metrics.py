"""Prometheus metrics: names the existing dashboards use, labels bounded by route templates.

Label values never come from the raw request: `endpoint` is the matched route template (or
UNMATCHED), `method` is one of HTTP_METHODS (or "other"), `http_status` is a status code.
They are served by prometheus_client's own exposition (`start_http_server`, see app1.worker), which
negotiates the format (OpenMetrics for Prometheus, the text format for plain clients) and gzip.
"""
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"
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
        self.in_flight = Gauge("app_requests_in_flight", "HTTP requests being served right now on the app port.",
                               registry=self.registry)
        self.build_info = Gauge("app_build_info", "Always 1; labels say what is running.",
                                ("version", "environment", "commit"), registry=self.registry)

    def set_build_info(self, version, environment, commit):
        self.build_info.labels(version, environment, commit).set(1)

    def observe(self, method, endpoint, status, seconds):
        method = method_label(method)
        self.requests.labels(method, endpoint, str(status)).inc()
        self.latency.labels(method, endpoint).observe(seconds)
