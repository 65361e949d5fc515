"""Prometheus metrics: names the existing dashboards use, labels bounded by route templates.

Label values never come from the raw request: `endpoint` is the matched route template (or
UNMATCHED), `method` is one of HTTP_METHODS (or "other"), `http_status` is a status code.
"""
import gzip
from urllib.parse import parse_qs

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.exposition import choose_encoder, gzip_accepted
from prometheus_client.utils import floatToGoString

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
        self.in_flight = Gauge("app_requests_in_flight", "HTTP requests being served right now on the app port.",
                               registry=self.registry)
        self._children = {}
        self.build_info = Gauge("app_build_info", "Always 1; labels say what is running.",
                                ("version", "environment", "commit"), registry=self.registry)
        # What /metrics shows, in registration order (the order prometheus_client's own rendering uses).
        self.families = (self.requests, self.latency, self.in_flight, self.build_info)

    def unregister(self, family):
        """Take a metric out of the exposition (the registry and the text format alike)."""
        self.registry.unregister(family)
        self.families = tuple(known for known in self.families if known is not family)

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


class TextFormat:
    """The Prometheus text format (0.0.4) or OpenMetrics 1.0.0, read straight from the metric objects.

    Byte for byte what prometheus_client renders (app/tests/test_app1_metrics.py compares the two over
    many states), at a fraction of its CPU: prometheus_client builds, validates and escapes every sample
    on every scrape (0.7-1.3 ms for this registry), which made /metrics the slow route under load. Here
    each series' name-and-labels prefix is built once and kept (label values are bounded, so the cache is
    too) and a scrape only formats the values. The two formats differ, for these metric types, only in a
    counter's name in HELP/TYPE, the escaping of HELP texts and OpenMetrics' closing `# EOF`.
    It reads the metric objects' children, values and buckets, which prometheus_client does not document:
    the version is pinned (requirements.txt) and the comparison tests fail on any difference.
    """

    def __init__(self):
        self._headers = {}  # (metric name, openmetrics) -> "# HELP ...\n# TYPE ...\n"
        self._prefixes = {}  # (metric name, label values) -> sample-line prefixes of that series (both formats)

    def render(self, families, openmetrics=False):
        lines = []
        append = lines.append
        for family in families:
            append(self._header(family, openmetrics))
            if family._labelnames:
                with family._lock:
                    children = list(family._metrics.items())
            else:
                children = (((), family),)
            for label_values, child in children:
                prefixes = self._series(family, label_values)
                if family._type == "histogram":
                    cumulative = 0.0
                    for prefix, bucket in zip(prefixes, child._buckets):
                        cumulative += bucket.get()
                        append(f"{prefix}{floatToGoString(cumulative)}\n")
                    append(f"{prefixes[-2]}{floatToGoString(cumulative)}\n")
                    append(f"{prefixes[-1]}{floatToGoString(child._sum.get())}\n")
                else:
                    append(f"{prefixes[0]}{floatToGoString(child._value.get())}\n")
        if openmetrics:
            append("# EOF\n")
        return "".join(lines).encode()

    def _header(self, family, openmetrics):
        header = self._headers.get((family._name, openmetrics))
        if header is None:
            # OpenMetrics names the counter family without its sample's _total and escapes quotes in HELP too.
            name = family._name if openmetrics else _sample_name(family)
            documentation = _escape(family._documentation, quotes=openmetrics)
            header = f"# HELP {name} {documentation}\n# TYPE {name} {family._type}\n"
            self._headers[(family._name, openmetrics)] = header
        return header

    def _series(self, family, label_values):
        key = (family._name, label_values)
        prefixes = self._prefixes.get(key)
        if prefixes is None:
            labels = tuple(zip(family._labelnames, label_values))
            name = family._name
            if family._type == "histogram":
                prefixes = [_sample_prefix(f"{name}_bucket", (*labels, ("le", floatToGoString(bound))))
                            for bound in family._upper_bounds]
                prefixes += [_sample_prefix(f"{name}_count", labels), _sample_prefix(f"{name}_sum", labels)]
            else:
                prefixes = [_sample_prefix(_sample_name(family), labels)]
            prefixes = self._prefixes[key] = tuple(prefixes)
        return prefixes


def _sample_name(family):
    return family._name + "_total" if family._type == "counter" else family._name


def _sample_prefix(name, labels):
    if not labels:
        return f"{name} "
    pairs = ",".join(f'{label}="{_escape(value)}"' for label, value in sorted(labels))
    return f"{name}{{{pairs}}} "


def _escape(text, quotes=True):
    escaped = text.replace("\\", r"\\").replace("\n", r"\n")
    return escaped.replace('"', r'\"') if quotes else escaped


class Exposition:
    """What a scrape gets: the format its Accept header asks for (chosen by prometheus_client), gzipped on request.

    The formats Prometheus and plain clients get (OpenMetrics 1.0.0 and text 0.0.4) are rendered by
    TextFormat; anything else (a newer text format, other escapings, `name[]` filters) by prometheus_client.
    """

    # Accept headers whose answer TextFormat renders byte for byte. The underscores and allow-utf-8 name
    # escapings change only names outside the legacy character set, and every name here is inside it.
    FAST_ACCEPTS = {
        "text/plain;version=0.0.4": False,
        "text/plain;version=1.0.0;escaping=underscores": False,
        "text/plain;version=1.0.0;escaping=allow-utf-8": False,
        "application/openmetrics-text": True,
        "application/openmetrics-text;version=1.0.0;escaping=underscores": True,
        "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8": True,
    }

    def __init__(self, metrics):
        self.metrics = metrics
        self.text_format = TextFormat()
        # Keyed by the content type prometheus_client answers each of them with, so its negotiation decides.
        self.fast_formats = {choose_encoder(accept)[1]: openmetrics
                             for accept, openmetrics in self.FAST_ACCEPTS.items()}

    def render(self, accept, accept_encoding, query=""):
        """(content type, content encoding or None, body)."""
        encoder, content_type = choose_encoder(accept)
        names = parse_qs(query).get("name[]")
        openmetrics = self.fast_formats.get(content_type)
        if names:  # a filtered scrape (`name[]=...`), rare
            body = encoder(self.metrics.registry.restricted_registry(names))
        elif openmetrics is not None:
            body = self.text_format.render(self.metrics.families, openmetrics)
        else:
            body = encoder(self.metrics.registry)
        if gzip_accepted(accept_encoding):
            # Level 1: half the CPU of levels 6-9 (22 against 47 us here), a body 6% larger (776 against 732 B).
            return content_type, "gzip", gzip.compress(body, compresslevel=1)
        return content_type, None, body
