# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks that prove a deployed app answers as expected, as data: one record per check.

Used by the app_verify module; importable and testable without running Ansible. HTTP goes through
ansible's urls.Request (proxy, CA and TLS handling identical to the other modules); metrics are parsed
with prometheus_client's own parser, never with regular expressions.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import re
import socket
import ssl
import time
import traceback
import urllib.error
from urllib.parse import urlsplit

from ansible.module_utils.urls import Request, make_context

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    text_string_to_metric_families = None
    PROMETHEUS_CLIENT_IMPORT_ERROR = traceback.format_exc()
else:
    PROMETHEUS_CLIENT_IMPORT_ERROR = None

HEALTH, READY, INFO, METRICS, LATENCY = "/health", "/ready", "/", "metrics", "latency"
CERTIFICATE, TLS = "certificate", "tls"
CHECK_NAMES = (HEALTH, READY, INFO, METRICS, LATENCY, CERTIFICATE, TLS)
# What runs unless checks says otherwise: the TLS checks need the ingress's objects and an https:// base_url.
DEFAULT_CHECKS = (HEALTH, READY, INFO, METRICS, LATENCY)
APP_ENDPOINTS = (HEALTH, READY, INFO)
DEFAULT_METRICS_PORT = 9090
METRICS_CONTENT_TYPES = ("text/plain", "application/openmetrics-text")
IDENTITY_FIELDS = ("app", "environment", "version")
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# RFC 1123 host names and IPv4 literals, optionally with a port: what an Ingress rule's host can be.
HOST_HEADER = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?$")
USER_AGENT = "kindling-app-verify"
PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----"
# Latency is judged on a sample, not one request: enough requests for a p95 to mean something, after a few
# unmeasured ones that warm the connection path (a fresh port-forward, the ingress's upstream pool, the app's
# first-request set-up). Bounds keep a typo from turning verification into a load test.
LATENCY_SAMPLES, LATENCY_SAMPLES_MAX = 20, 10000
LATENCY_WARMUP, LATENCY_WARMUP_MAX = 3, 1000
LATENCY_PERCENTILE = 95.0


class OptionError(ValueError):
    """A user error in one option: the message starts with the option's name."""

    def __init__(self, option, problem):
        super(OptionError, self).__init__("%s: %s" % (option, problem))
        self.option = option


class FetchError(Exception):
    """No usable HTTP response (refused, timed out, TLS, redirect); retryable says whether trying again may help."""

    def __init__(self, detail, retryable):
        super(FetchError, self).__init__(detail)
        self.detail = detail
        self.retryable = retryable


class Response(object):
    def __init__(self, status, content_type, body, certificate=None):
        self.status = status
        self.content_type = content_type
        self.body = body
        # The verified peer certificate (ssl's getpeercert() dict) of an HTTPS answer read by fetch_tls.
        self.certificate = certificate


def _check_http_url(option, value):
    if not isinstance(value, str) or not value:
        raise OptionError(option, "must be an http:// or https:// URL, got %r" % (value,))
    try:
        parts = urlsplit(value)
        parts.port  # pylint: disable=pointless-statement  # raises ValueError on a bad port
    except ValueError as error:
        raise OptionError(option, "%r is not a valid URL (%s)" % (value, error))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OptionError(option, "%r must be an http:// or https:// URL with a host" % (value,))
    if parts.username or parts.password:
        raise OptionError(option, "must not carry credentials")
    if parts.query or parts.fragment:
        raise OptionError(option, "%r must not have a query or fragment" % (value,))
    return value


def default_metrics_url(base_url):
    """The base URL's host on the app's metrics port (plain HTTP: the port is not behind TLS)."""
    host = urlsplit(base_url).hostname
    if ":" in host:
        host = "[%s]" % host
    return "http://%s:%d/metrics" % (host, DEFAULT_METRICS_PORT)


def _normalize_required_metric(index, item):
    option = "required_metrics[%d]" % index
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, dict):
        raise OptionError(option, "must be a metric name or a dict with name and labels, got %r" % (item,))
    unknown = sorted(set(item) - {"name", "labels"})
    if unknown:
        raise OptionError(option, "unknown key(s) %s (allowed: name, labels)" % ", ".join(unknown))
    name = item.get("name")
    if not isinstance(name, str) or not METRIC_NAME.match(name):
        raise OptionError(option + ".name", "%r is not a Prometheus metric name" % (name,))
    labels = item.get("labels") or {}
    if not isinstance(labels, dict):
        raise OptionError(option + ".labels", "must be a dict of label name to value")
    for label, value in labels.items():
        if not isinstance(label, str) or not LABEL_NAME.match(label):
            raise OptionError(option + ".labels", "%r is not a Prometheus label name" % (label,))
        if not isinstance(value, str):
            raise OptionError(option + ".labels." + label, "must be a string, got %r" % (value,))
    return {"name": name, "labels": dict(labels)}


def _positive(option, value, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise OptionError(option, "must be a number, got %r" % (value,))
    if value < 0 or (value == 0 and not allow_zero):
        raise OptionError(option, "must be %s, got %r" % ("0 or more" if allow_zero else "greater than 0", value))
    return value


def _whole_number(option, value, low, high):
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise OptionError(option, "must be a whole number from %d to %d, got %r" % (low, high, value))
    return value


def build_config(params):
    """Validate the module's options into a plain dict; raises OptionError naming the first bad option.

    Only what the module's argument spec cannot say is checked here: the spec already enforces types, the
    choices of `checks` and that ca_path and ca_data are mutually exclusive."""
    base_url = _check_http_url("base_url", params.get("base_url")).rstrip("/")
    metrics_url = params.get("metrics_url")
    metrics_url = default_metrics_url(base_url) if metrics_url is None else _check_http_url("metrics_url", metrics_url)
    checks = params.get("checks")
    checks = list(DEFAULT_CHECKS) if checks is None else list(checks)
    if not checks:
        raise OptionError("checks", "must name at least one check (%s)" % ", ".join(CHECK_NAMES))
    expected = {}
    for field in IDENTITY_FIELDS:
        value = params.get("expected_" + field)
        if value is not None:
            if not isinstance(value, str) or not value.strip():
                raise OptionError("expected_" + field, "must be a non-empty string, got %r" % (value,))
            expected[field] = value
    required = [_normalize_required_metric(i, item) for i, item in enumerate(params.get("required_metrics") or [])]
    budget = params.get("latency_budget_ms")
    if budget is not None:
        _positive("latency_budget_ms", budget)
    host_header = params.get("host_header")
    if host_header is not None and not HOST_HEADER.match(host_header):
        raise OptionError("host_header", "%r is not a host name (e.g. app1.dev.example.com)" % (host_header,))
    attempts = params.get("attempts", 3)
    if attempts < 1:
        raise OptionError("attempts", "must be 1 or more, got %r" % (attempts,))
    ca_path = params.get("ca_path")
    if ca_path is not None and not os.path.isfile(ca_path):
        raise OptionError("ca_path", "%s is not a readable file" % ca_path)
    ca_data = params.get("ca_data")
    if ca_data is not None:
        if PEM_CERTIFICATE not in ca_data:
            raise OptionError("ca_data", "is not a PEM certificate (no %r line)" % PEM_CERTIFICATE)
    if TLS in checks:
        if urlsplit(base_url).scheme != "https":
            raise OptionError("base_url", "%r must be https:// for the tls check" % base_url)
        if not params.get("validate_certs", True):
            raise OptionError("validate_certs", "must be true for the tls check, which verifies the certificate")
    for option in ("tls_ingresses", "tls_certificates"):
        objects = params.get(option) or []
        if not isinstance(objects, list) or not all(isinstance(item, dict) for item in objects):
            raise OptionError(option, "must be a list of Kubernetes objects (k8s_info's resources)")
    percentile = params.get("latency_percentile", LATENCY_PERCENTILE)
    if isinstance(percentile, bool) or not isinstance(percentile, (int, float)) or not 0 < percentile <= 100:
        raise OptionError("latency_percentile", "must be a number greater than 0 and at most 100, got %r"
                          % (percentile,))
    return {
        "base_url": base_url,
        "metrics_url": metrics_url,
        "checks": checks,
        "expected": expected,
        "required_metrics": required,
        "latency_budget_ms": budget,
        "latency_samples": _whole_number("latency_samples", params.get("latency_samples", LATENCY_SAMPLES),
                                         1, LATENCY_SAMPLES_MAX),
        "latency_warmup": _whole_number("latency_warmup", params.get("latency_warmup", LATENCY_WARMUP),
                                        0, LATENCY_WARMUP_MAX),
        "latency_percentile": float(percentile),
        "host_header": host_header,
        "validate_certs": bool(params.get("validate_certs", True)),
        "ca_path": ca_path,
        "ca_data": ca_data,
        "tls_ingresses": list(params.get("tls_ingresses") or []),
        "tls_certificates": list(params.get("tls_certificates") or []),
        "attempts": attempts,
        "retry_delay": _positive("retry_delay", params.get("retry_delay", 1.0), allow_zero=True),
        "request_timeout": _positive("request_timeout", params.get("request_timeout", 5.0)),
        "deadline": _positive("deadline", params.get("deadline", 60.0)),
    }


def _reason_text(reason):
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused", True
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return "timed out", True
    if isinstance(reason, (ssl.SSLError, ssl.CertificateError)):
        return "TLS error: %s" % reason, False
    if isinstance(reason, socket.gaierror):
        return "cannot resolve host: %s" % reason, False
    return str(reason), True


# One TLS context per (CA file, verification) for the whole run: building one loads the system's CA store,
# which costs tens of milliseconds, more than the requests themselves.
_TLS_CONTEXTS = {}


def _tls_context(config):
    key = (config["ca_path"], config.get("ca_data"), config["validate_certs"])
    if key not in _TLS_CONTEXTS:
        if config.get("ca_data") and config["validate_certs"]:
            # Only the given CA is trusted, as with ca_path.
            _TLS_CONTEXTS[key] = ssl.create_default_context(cadata=config["ca_data"])
        else:
            _TLS_CONTEXTS[key] = make_context(cafile=config["ca_path"], validate_certs=config["validate_certs"])
    return _TLS_CONTEXTS[key]


def fetch(url, config, timeout, headers=None):
    """GET url without following redirects; returns a Response for any HTTP status or raises FetchError."""
    try:
        handle = Request().open("GET", url, headers=headers or {}, timeout=timeout,
                                validate_certs=config["validate_certs"], ca_path=config["ca_path"],
                                follow_redirects="none", use_netrc=False, http_agent=USER_AGENT,
                                context=_tls_context(config))
        with handle:
            return Response(handle.status, handle.headers.get("Content-Type", ""),
                            handle.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as error:
        if 300 <= error.code < 400:
            # With redirects off, the error's url is where the server points to (e.g. http -> https).
            location = (error.headers or {}).get("Location") or error.url
            raise FetchError("redirected (%d) to %s; use that URL as base_url" % (error.code, location), False)
        body = error.read().decode("utf-8", "replace") if error.fp else ""
        return Response(error.code, (error.headers or {}).get("Content-Type", ""), body)
    except urllib.error.URLError as error:
        raise FetchError(*_reason_text(error.reason))
    except (ssl.SSLError, ssl.CertificateError) as error:
        raise FetchError(*_reason_text(error))
    except (socket.timeout, TimeoutError) as error:
        raise FetchError(*_reason_text(error))
    except (ConnectionError, http.client.HTTPException) as error:
        raise FetchError("connection failed: %s" % (error or type(error).__name__), True)
    except OSError as error:
        raise FetchError("connection failed: %s" % error, True)


class _ServerNameHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to an address (the ingress controller on 127.0.0.1) that sends, and verifies the certificate against,
    another name (the Ingress's host), as a client that resolves that host to the address would."""

    def __init__(self, host, port, server_name, context, timeout):
        http.client.HTTPSConnection.__init__(self, host, port, timeout=timeout, context=context)
        self.server_name = server_name

    def connect(self):
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.server_name)


def server_name(config, url):
    """The name the certificate must carry: the Host header sent (without a port), else the URL's host."""
    return (config["host_header"] or "").rsplit(":", 1)[0] or urlsplit(url).hostname


def fetch_tls(url, config, timeout, headers=None):
    """GET an https:// url, verifying the chain against the configured CA and the host name against server_name();
    returns a Response carrying the peer certificate, or raises FetchError (a certificate problem is final)."""
    parts = urlsplit(url)
    name = server_name(config, url)
    connection = _ServerNameHTTPSConnection(parts.hostname, parts.port or 443, name, _tls_context(config), timeout)
    try:
        connection.request("GET", parts.path or "/", headers=dict(headers or {}, **{"User-Agent": USER_AGENT}))
        # Read now: the connection drops its socket once a non-keep-alive answer is read.
        certificate = connection.sock.getpeercert()
        answer = connection.getresponse()
        body = answer.read().decode("utf-8", "replace")
        return Response(answer.status, answer.getheader("Content-Type", ""), body, certificate)
    except ssl.SSLCertVerificationError as error:
        raise FetchError("certificate for %s not trusted: %s" % (name, error.verify_message), False)
    except ssl.SSLError as error:
        raise FetchError("TLS handshake with %s failed: %s" % (name, error.reason or error), False)
    except ConnectionRefusedError:
        raise FetchError("connection refused", True)
    except (socket.timeout, TimeoutError):
        raise FetchError("timed out", True)
    except (OSError, http.client.HTTPException) as error:
        raise FetchError("connection failed: %s" % (error or type(error).__name__), True)
    finally:
        connection.close()


def evaluate_tls(response, config):
    problem = _status_problem(response)
    if problem:
        return (False, "/health over HTTPS answered %s" % problem[0], problem[1])
    not_after = (response.certificate or {}).get("notAfter", "unknown")
    return True, ("certificate for %s verified against the given CA (chain and host name), not after %s; "
                  "/health 200" % (server_name(config, config["base_url"]), not_after)), False


def _condition(obj, kind):
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return condition
    return None


def ingress_certificate(config):
    """(record, skip reason): the certificate check of the Ingress that routes the host, from the objects given.

    cert-manager's ingress-shim (v1.21.1 pkg/controller/certificate-shim/sync.go buildCertificates) makes one
    Certificate per TLS entry, named after its secretName, in the Ingress's namespace; its Ready condition
    (pkg/apis/certmanager/v1/types_certificate.go CertificateConditionReady, the CRD's status.conditions) is True
    when the Secret holds an unexpired certificate for the spec's names."""
    host = server_name(config, config["base_url"])
    routing = [i for i in config["tls_ingresses"]
               if any(rule.get("host") == host for rule in (i.get("spec") or {}).get("rules") or [])]
    record = {"name": CERTIFICATE, "latency_ms": None}
    if not routing:
        return dict(record, ok=False, detail="no Ingress routes %s" % host), None
    ingress = routing[0]
    ingress_name = (ingress.get("metadata") or {}).get("name")
    secrets = [entry.get("secretName") for entry in (ingress.get("spec") or {}).get("tls") or []
               if host in (entry.get("hosts") or []) and entry.get("secretName")]
    if not secrets:
        return None, "Ingress %s has no TLS for %s" % (ingress_name, host)
    found = [c for c in config["tls_certificates"] if (c.get("metadata") or {}).get("name") == secrets[0]]
    if not found:
        return dict(record, ok=False, detail="no cert-manager Certificate %s for Ingress %s's TLS secret (cert-manager "
                    "makes it from the Ingress's cert-manager.io/cluster-issuer annotation)" % (secrets[0], ingress_name)), None
    ready = _condition(found[0], "Ready")
    what = "Certificate %s (Ingress %s)" % (secrets[0], ingress_name)
    if ready is None:
        return dict(record, ok=False, detail="%s has no Ready condition yet" % what), None
    if ready.get("status") != "True":
        return dict(record, ok=False, detail="%s is not Ready: %s: %s" % (
            what, ready.get("reason") or ready.get("status"), ready.get("message") or "no message")), None
    not_after = (found[0].get("status") or {}).get("notAfter", "unknown")
    return dict(record, ok=True, detail="%s is Ready, not after %s" % (what, not_after)), None


def _status_problem(response):
    """(detail, retryable) when the status is not 200, else None."""
    if response.status == 200:
        return None
    return str(response.status), response.status >= 500


def _json_object(response):
    """(body, None) for a 200 answer with a JSON object, else (None, (False, detail, retryable))."""
    problem = _status_problem(response)
    if problem:
        return None, (False,) + problem
    media_type = response.content_type.split(";")[0].strip().lower()
    if media_type != "application/json":
        return None, (False, "content type %r, expected application/json" % (media_type or "none"), False)
    try:
        body = json.loads(response.body)
    except ValueError as error:
        return None, (False, "body is not JSON (%s)" % error, False)
    if not isinstance(body, dict):
        return None, (False, "body is a JSON %s, expected an object" % type(body).__name__, False)
    return body, None


def evaluate_health(response, config):
    body, failure = _json_object(response)
    if failure:
        return failure
    if body.get("status") != "ok":
        return False, "status %s != expected ok" % (body.get("status"),), False
    return True, "status ok", False


def evaluate_ready(response, config):
    problem = _status_problem(response)
    if problem:
        return (False,) + problem
    return True, "ready", False


def evaluate_info(response, config):
    body, failure = _json_object(response)
    if failure:
        return failure
    mismatches = []
    for field, wanted in config["expected"].items():
        if field not in body:
            mismatches.append("%s missing" % field)
        elif str(body[field]) != wanted:
            mismatches.append("%s %s != expected %s" % (field, body[field], wanted))
    if mismatches:
        return False, "; ".join(mismatches), False
    return True, ", ".join("%s %s" % (f, body.get(f)) for f in IDENTITY_FIELDS if f in body), False


def _describe_metric(required):
    if not required["labels"]:
        return required["name"]
    labels = ",".join('%s="%s"' % item for item in sorted(required["labels"].items()))
    return "%s{%s}" % (required["name"], labels)


def _metric_present(families, required):
    """A family or sample of that name (a counter family app_x also answers to app_x_total, even before its
    first sample) whose labels include the filter."""
    for family in families:
        family_names = {family.name, family.name + "_total"} if family.type == "counter" else {family.name}
        if not required["labels"] and required["name"] in family_names:
            return True
        for sample in family.samples:
            if required["name"] not in family_names | {sample.name}:
                continue
            if all(sample.labels.get(k) == v for k, v in required["labels"].items()):
                return True
    return False


def evaluate_metrics(response, config):
    problem = _status_problem(response)
    if problem:
        return (False,) + problem
    media_type = response.content_type.split(";")[0].strip().lower()
    if media_type not in METRICS_CONTENT_TYPES:
        return False, "content type %r, expected text/plain (Prometheus text format)" % (media_type or "none"), False
    if text_string_to_metric_families is None:
        return False, "the prometheus_client Python package is missing on the target", False
    try:
        families = list(text_string_to_metric_families(response.body))
    except (ValueError, TypeError, IndexError) as error:
        return False, "not in Prometheus text format (%s)" % error, False
    missing = [_describe_metric(m) for m in config["required_metrics"] if not _metric_present(families, m)]
    if missing:
        return False, "missing %s" % ", ".join(missing), False
    return True, "%d metric families, %d required present" % (len(families), len(config["required_metrics"])), False


class Verifier(object):
    """Runs the configured checks once each, retrying the transient failures until attempts or the deadline run out."""

    def __init__(self, config, clock=time.monotonic, sleep=time.sleep, fetcher=fetch, tls_fetcher=fetch_tls):
        self.config = config
        self.clock = clock
        self.sleep = sleep
        self.fetcher = fetcher
        self.tls_fetcher = tls_fetcher
        self.deadline_at = None

    def _timeout(self):
        return max(min(self.config["request_timeout"], self.deadline_at - self.clock()), 0.1)

    def _attempt(self, url, headers, evaluate, fetcher):
        started = self.clock()
        try:
            response = fetcher(url, self.config, self._timeout(), headers)
        except FetchError as error:
            return False, error.detail, error.retryable, (self.clock() - started) * 1000.0, False
        latency_ms = (self.clock() - started) * 1000.0
        ok, detail, retryable = evaluate(response, self.config)
        return ok, detail, retryable, latency_ms, True

    def http_check(self, name, url, headers, evaluate, fetcher=None):
        attempts = 0
        while True:
            attempts += 1
            ok, detail, retryable, latency_ms, answered = self._attempt(url, headers, evaluate, fetcher or self.fetcher)
            out_of_time = self.clock() + self.config["retry_delay"] >= self.deadline_at
            if ok or not retryable or attempts >= self.config["attempts"] or out_of_time:
                break
            self.sleep(self.config["retry_delay"])
        if not ok and attempts > 1:
            detail = "%s after %d attempts" % (detail, attempts)
        return {"name": name, "ok": ok, "detail": detail, "latency_ms": round(latency_ms, 1),
                "url": url, "attempts": attempts, "answered": answered}

    def latency_check(self, records, headers):
        """Warm-up requests (not measured), then latency_samples requests spread over the app endpoints whose
        check passed (a broken one fails its own check only), judged by their latency_percentile against the
        budget; records p50, p95 and max."""
        targets = [(r["name"], r["url"]) for r in records if r["ok"] and r["name"] in APP_ENDPOINTS]
        if not targets:
            return {"name": LATENCY, "ok": False, "detail": "no response to measure", "latency_ms": None}
        for index in range(self.config["latency_warmup"]):
            if self.clock() >= self.deadline_at:
                break
            try:
                self.fetcher(targets[index % len(targets)][1], self.config, self._timeout(), headers)
            except FetchError:
                pass
        timings, failures = [], []
        for index in range(self.config["latency_samples"]):
            if self.clock() >= self.deadline_at:
                failures.append("deadline reached after %d samples" % index)
                break
            name, url = targets[index % len(targets)]
            started = self.clock()
            try:
                response = self.fetcher(url, self.config, self._timeout(), headers)
            except FetchError as error:
                failures.append("%s %s" % (name, error.detail))
                continue
            if response.status != 200:
                failures.append("%s %d" % (name, response.status))
                continue
            timings.append((self.clock() - started) * 1000.0)
        return self._judge_latency(timings, failures, [target[0] for target in targets])

    def _judge_latency(self, timings, failures, names):
        budget, wanted = self.config["latency_budget_ms"], self.config["latency_percentile"]
        label = "p%g" % wanted
        if not timings:
            return {"name": LATENCY, "ok": False, "latency_ms": None,
                    "detail": "no sample answered: %s" % "; ".join(failures)}
        figures = {"samples": len(timings), "p50_ms": percentile(timings, 50), "p95_ms": percentile(timings, 95),
                   "max_ms": round(max(timings), 1), "percentile": wanted}
        judged = percentile(timings, wanted)
        context = "(p50 %.0f ms, max %.0f ms; %d samples of %s after %d warm-up)" % (
            figures["p50_ms"], figures["max_ms"], len(timings), ", ".join(names), self.config["latency_warmup"])
        if budget is None:
            ok, detail = True, "%s %.0f ms, no budget set %s" % (label, judged, context)
        else:
            ok = judged <= budget
            detail = "%s %.0f ms %s budget %g ms %s" % (label, judged, "<=" if ok else ">", budget, context)
        if failures:
            # A request that got no answer while sampling is a fault of its own, whatever the figures.
            ok = False
            detail = "%d of %d samples failed (%s); %s" % (
                len(failures), len(failures) + len(timings), "; ".join(failures[:3]), detail)
        return dict(figures, name=LATENCY, ok=ok, detail=detail, latency_ms=judged)

    def tls_checks(self, headers):
        """The Ingress's cert-manager Certificate is Ready, and the ingress serves a certificate that names the host
        and chains to the given CA; both skipped, saying why, when the Ingress has no TLS for the host."""
        checks, records = self.config["checks"], []
        skipped = None
        if CERTIFICATE in checks:
            record, skipped = ingress_certificate(self.config)
            if record:
                records.append(record)
        for name in (CERTIFICATE, TLS):
            if skipped and name in checks:
                records.append({"name": name, "ok": True, "skipped": True, "detail": "not checked: " + skipped,
                                "latency_ms": None})
        if TLS in checks and not skipped:
            records.append(self.http_check(TLS, self.config["base_url"] + HEALTH, headers, evaluate_tls,
                                           self.tls_fetcher))
        return records

    def run(self):
        if self.fetcher is fetch or (TLS in self.config["checks"] and self.tls_fetcher is fetch_tls):
            # Request.open needs a context even for http:// (it builds one when given none): build it before any
            # request is timed, since loading the CA store is set-up, not the app's latency.
            _tls_context(self.config)
        self.deadline_at = self.clock() + self.config["deadline"]
        base, checks = self.config["base_url"], self.config["checks"]
        app_headers = {"Host": self.config["host_header"]} if self.config["host_header"] else {}
        plan = [
            (HEALTH, base + HEALTH, app_headers, evaluate_health),
            (READY, base + READY, app_headers, evaluate_ready),
            (INFO, base + INFO, app_headers, evaluate_info),
            (METRICS, self.config["metrics_url"], {}, evaluate_metrics),
        ]
        records = [self.http_check(*step) for step in plan if step[0] in checks]
        records.extend(self.tls_checks(app_headers))
        if LATENCY in checks:
            records.append(self.latency_check(records, app_headers))
        for record in records:
            record.pop("answered", None)
        failed = ["%s: %s" % (r["name"], r["detail"]) for r in records if not r["ok"]]
        return {"ok": not failed, "checks": records, "failed": failed}


def percentile(values, wanted):
    """The nearest-rank percentile (the smallest value with at least wanted % of the values at or below it)."""
    ordered = sorted(values)
    rank = max(int(math.ceil(wanted / 100.0 * len(ordered))), 1)
    return round(ordered[rank - 1], 1)


def summarize(result):
    """One line for a person: what passed, or exactly which checks failed and why; the latency figures."""
    total = len(result["checks"])
    figures = ""
    for record in result["checks"]:
        if record["name"] == LATENCY and "p50_ms" in record:
            figures = "; latency p50 %.0f ms, p95 %.0f ms, max %.0f ms (%d samples)" % (
                record["p50_ms"], record["p95_ms"], record["max_ms"], record["samples"])
    if result["ok"]:
        return "all %d checks passed%s" % (total, figures)
    return "%d of %d checks failed: %s%s" % (len(result["failed"]), total, "; ".join(result["failed"]), figures)
