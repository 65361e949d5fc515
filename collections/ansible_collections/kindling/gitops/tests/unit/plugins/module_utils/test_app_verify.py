# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""app_verify's logic: option validation, HTTP failure handling against real sockets, retries and the deadline."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.kindling.gitops.plugins.module_utils import app_verify

METRICS_TEXT = (
    "# HELP app_request_count_total Requests served.\n"
    "# TYPE app_request_count_total counter\n"
    'app_request_count_total{method="GET",path="/",status="200"} 4.0\n'
    "# HELP app_build_info Build of the running app.\n"
    "# TYPE app_build_info gauge\n"
    'app_build_info{version="1.0.1",commit="abc1234"} 1.0\n'
)


class StubAppHandler(BaseHTTPRequestHandler):
    """HTTP-boundary double: each path answers what ROUTES says (status, content type, body)."""

    routes = {}

    def do_GET(self):  # pylint: disable=invalid-name  # BaseHTTPRequestHandler's naming
        status, content_type, body, extra = self.routes.get(self.path, (404, "text/plain", "not found", {}))
        if body == "HOST":
            body = json.dumps({"host": self.headers.get("Host")})
        payload = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    servers = []

    def start(routes, wrap=None):
        handler = type("Handler", (StubAppHandler,), {"routes": routes})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        if wrap:
            server.socket = wrap(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return "http://127.0.0.1:%d" % server.server_address[1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def healthy_routes(version="1.0.1"):
    return {
        "/health": (200, "application/json", json.dumps({"status": "ok"}), {}),
        "/ready": (200, "application/json", json.dumps({"status": "ready"}), {}),
        "/": (200, "application/json", json.dumps({"app": "app1", "environment": "dev", "version": version}), {}),
        "/metrics": (200, "text/plain; version=0.0.4; charset=utf-8", METRICS_TEXT, {}),
    }


def config_for(base_url, **overrides):
    params = {"base_url": base_url, "metrics_url": base_url + "/metrics", "expected_app": "app1",
              "expected_environment": "dev", "expected_version": "1.0.1",
              "required_metrics": ["app_request_count_total"], "attempts": 2, "retry_delay": 0,
              "request_timeout": 2, "deadline": 10}
    params.update(overrides)
    return app_verify.build_config(params)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("overrides, option", [
    ({"base_url": "ftp://example.com"}, "base_url"),
    ({"base_url": "http://"}, "base_url"),
    ({"base_url": "http://127.0.0.1:99999"}, "base_url"),
    ({"base_url": "http://user:pw@127.0.0.1"}, "base_url"),
    ({"metrics_url": "127.0.0.1:9090/metrics"}, "metrics_url"),
    ({"required_metrics": ["bad-name"]}, "required_metrics[0].name"),
    ({"required_metrics": [{"name": "ok_name", "labels": {"bad-label": "x"}}]}, "required_metrics[0].labels"),
    ({"required_metrics": [{"name": "ok_name", "labels": {"le": 1}}]}, "required_metrics[0].labels.le"),
    ({"required_metrics": [{"name": "ok_name", "label": {}}]}, "required_metrics[0]"),
    ({"latency_budget_ms": 0}, "latency_budget_ms"),
    ({"latency_budget_ms": -5}, "latency_budget_ms"),
    ({"host_header": "app1 dev"}, "host_header"),
    ({"attempts": 0}, "attempts"),
    ({"retry_delay": -1}, "retry_delay"),
    ({"request_timeout": 0}, "request_timeout"),
    ({"deadline": 0}, "deadline"),
    ({"checks": []}, "checks"),
    ({"expected_version": " "}, "expected_version"),
    ({"ca_path": "/nonexistent/ca.pem"}, "ca_path"),
    ({"ca_data": "not a certificate"}, "ca_data"),
    ({"checks": ["tls"]}, "base_url"),
    ({"base_url": "https://127.0.0.1:8443", "checks": ["tls"], "validate_certs": False}, "validate_certs"),
    ({"tls_ingresses": ["app1"]}, "tls_ingresses"),
])
def test_bad_option_fails_naming_it(overrides, option):
    with pytest.raises(app_verify.OptionError) as error:
        config_for(overrides.pop("base_url", "http://127.0.0.1:8080"), **overrides)
    assert error.value.option == option
    assert str(error.value).startswith(option + ": ")


@pytest.mark.parametrize("base_url, expected", [
    ("http://127.0.0.1:8080", "http://127.0.0.1:9090/metrics"),
    ("https://app1.dev.example.com/", "http://app1.dev.example.com:9090/metrics"),
    ("http://[::1]:8080", "http://[::1]:9090/metrics"),
])
def test_metrics_url_defaults_to_the_base_host_on_9090(base_url, expected):
    assert app_verify.build_config({"base_url": base_url})["metrics_url"] == expected


def test_healthy_app_passes_every_check(serve):
    result = app_verify.Verifier(config_for(serve(healthy_routes()), latency_budget_ms=2000)).run()
    assert result["failed"] == []
    assert [c["name"] for c in result["checks"]] == ["/health", "/ready", "/", "metrics", "latency"]
    assert all(c["ok"] for c in result["checks"])
    assert app_verify.summarize(result).startswith("all 5 checks passed; latency p50 ")


@pytest.mark.parametrize("route, answer, failure", [
    ("/", (200, "application/json", json.dumps({"app": "app1", "environment": "dev", "version": "1.0.0"}), {}),
     "/: version 1.0.0 != expected 1.0.1"),
    ("/", (200, "application/json", json.dumps({"app": "app1", "environment": "qa"}), {}),
     "/: environment qa != expected dev; version missing"),
    ("/", (200, "text/html", "<html>hi</html>", {}), "/: content type 'text/html', expected application/json"),
    ("/", (200, "application/json", "{not json", {}), "/: body is not JSON"),
    ("/health", (500, "text/plain", "boom", {}), "/health: 500 after 2 attempts"),
    ("/health", (200, "application/json", json.dumps({"status": "degraded"}), {}),
     "/health: status degraded != expected ok"),
    ("/ready", (404, "text/plain", "nope", {}), "/ready: 404"),
    ("/", (301, "text/html", "", {"Location": "https://app1.example.com/"}),
     "/: redirected (301) to https://app1.example.com/"),
    ("/metrics", (200, "text/plain", METRICS_TEXT.replace("app_request_count", "app_requests"), {}),
     "metrics: missing app_request_count_total"),
    ("/metrics", (200, "application/json", "{}", {}), "metrics: content type 'application/json'"),
    ("/metrics", (200, "text/plain", "app_request_count_total{oops 1\n", {}),
     "metrics: not in Prometheus text format"),
])
def test_each_broken_answer_fails_only_its_check_with_a_precise_reason(serve, route, answer, failure):
    routes = healthy_routes()
    routes[route] = answer
    result = app_verify.Verifier(config_for(serve(routes))).run()
    assert len(result["failed"]) == 1, result["failed"]
    assert result["failed"][0].startswith(failure)
    assert not result["ok"]


def test_label_filter_must_match_a_sample(serve):
    base = serve(healthy_routes())
    wanted = {"name": "app_build_info", "labels": {"version": "1.0.1"}}
    assert app_verify.Verifier(config_for(base, required_metrics=[wanted])).run()["ok"]
    wanted["labels"]["version"] = "9.9.9"
    result = app_verify.Verifier(config_for(base, required_metrics=[wanted])).run()
    assert result["failed"] == ['metrics: missing app_build_info{version="9.9.9"}']


def test_host_header_is_sent_to_the_app_requests(serve):
    routes = healthy_routes()
    routes["/"] = (200, "application/json", "HOST", {})
    base = serve(routes)
    config = config_for(base, host_header="app1-dev.localtest.me", checks=["/"])
    response = app_verify.fetch(base + "/", config, 2, {"Host": config["host_header"]})
    assert json.loads(response.body) == {"host": "app1-dev.localtest.me"}


def test_connection_refused_is_retried_then_reported():
    base = "http://127.0.0.1:%d" % free_port()
    result = app_verify.Verifier(config_for(base, attempts=3, checks=["/health"])).run()
    assert result["failed"] == ["/health: connection refused after 3 attempts"]
    assert result["checks"][0]["attempts"] == 3


def test_a_server_that_never_answers_times_out():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    try:
        base = "http://127.0.0.1:%d" % listener.getsockname()[1]
        result = app_verify.Verifier(config_for(base, attempts=1, request_timeout=0.3, checks=["/health"])).run()
        assert result["failed"] == ["/health: timed out"]
    finally:
        listener.close()


def test_tls_to_a_plain_http_port_is_an_error_not_a_traceback(serve):
    base = serve(healthy_routes()).replace("http://", "https://")
    result = app_verify.Verifier(config_for(base, attempts=1, checks=["/health"])).run()
    assert result["failed"][0].startswith("/health: TLS error: ")


def test_latency_without_any_answer_is_a_failure_not_a_pass():
    def fetcher(url, config, timeout, headers):
        raise app_verify.FetchError("connection refused", True)

    clock = FakeClock()
    config = config_for("http://127.0.0.1:8080", latency_budget_ms=300, checks=["/health", "latency"], attempts=1)
    result = app_verify.Verifier(config, clock=clock, sleep=clock.sleep, fetcher=fetcher).run()
    assert result["failed"] == ["/health: connection refused", "latency: no response to measure"]


class FakeClock(object):
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_retries_stop_at_the_deadline():
    clock = FakeClock()

    def fetcher(url, config, timeout, headers):
        clock.now += 1
        return app_verify.Response(503, "text/plain", "starting")

    config = config_for("http://127.0.0.1:8080", checks=["/ready"], attempts=100, retry_delay=2, deadline=10)
    result = app_verify.Verifier(config, clock=clock, sleep=clock.sleep, fetcher=fetcher).run()
    check = result["checks"][0]
    assert check["attempts"] == 4
    assert clock.now - 1000.0 <= 10
    assert result["failed"] == ["/ready: 503 after 4 attempts"]


def test_wrong_content_is_not_retried():
    calls = []

    def fetcher(url, config, timeout, headers):
        calls.append(url)
        return app_verify.Response(200, "application/json", json.dumps({"version": "0.9.0"}))

    clock = FakeClock()
    config = config_for("http://127.0.0.1:8080", checks=["/"], expected_app=None, expected_environment=None,
                        attempts=5)
    result = app_verify.Verifier(config, clock=clock, sleep=clock.sleep, fetcher=fetcher).run()
    assert calls == ["http://127.0.0.1:8080/"]
    assert result["failed"] == ["/: version 0.9.0 != expected 1.0.1"]


def test_a_transient_failure_that_recovers_passes():
    answers = [app_verify.Response(502, "text/plain", "bad gateway"),
               app_verify.Response(200, "application/json", json.dumps({"status": "ok"}))]
    clock = FakeClock()
    config = config_for("http://127.0.0.1:8080", checks=["/health"], attempts=3)
    result = app_verify.Verifier(config, clock=clock, sleep=clock.sleep,
                                 fetcher=lambda *args: answers.pop(0)).run()
    assert result["ok"]
    assert result["checks"][0]["attempts"] == 2


@pytest.fixture
def tls_app(tmp_path, serve):
    """The healthy app double behind TLS with a self-signed certificate for 127.0.0.1 (made by openssl)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: cannot make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    base = serve(healthy_routes(), wrap=context.wrap_socket)
    return base.replace("http://", "https://"), str(cert)


def test_tls_untrusted_certificate_fails_and_ca_path_trusts_it(tls_app):
    base, ca_file = tls_app
    checks = ["/health", "/"]
    untrusted = app_verify.Verifier(config_for(base, attempts=1, checks=checks)).run()
    assert [line.split(": TLS error: ")[0] for line in untrusted["failed"]] == ["/health", "/"]
    assert "CERTIFICATE_VERIFY_FAILED" in untrusted["failed"][0]
    assert app_verify.Verifier(config_for(base, checks=checks, ca_path=ca_file)).run()["ok"]
    assert app_verify.Verifier(config_for(base, checks=checks, validate_certs=False)).run()["ok"]
    with open(ca_file) as pem:
        assert app_verify.Verifier(config_for(base, checks=checks, ca_data=pem.read())).run()["ok"]


def timed_fetcher(clock, seconds_per_request):
    """The healthy app on 127.0.0.1:8080, each request taking the next of seconds_per_request (then 10 ms)."""
    durations = list(seconds_per_request)
    urls = []

    def fetcher(url, config, timeout, headers):
        urls.append(url)
        clock.now += durations.pop(0) if durations else 0.01
        return app_verify.Response(*healthy_routes()[url.rsplit(":8080", 1)[-1]][:3])

    fetcher.urls = urls
    return fetcher


def test_latency_is_judged_on_a_percentile_of_samples_after_a_warm_up():
    """A cold first request and one slow sample out of 20 do not fail a fast app: p95 is judged, and reported."""
    clock = FakeClock()
    # /health and / (the functional checks), 2 warm-up requests, then 20 samples of which the 7th is slow.
    fetcher = timed_fetcher(clock, [0.9, 0.01] + [0.9, 0.01] + [0.02] * 6 + [0.9] + [0.02] * 13)
    config = config_for("http://127.0.0.1:8080", latency_budget_ms=300, checks=["/health", "/", "latency"],
                        latency_samples=20, latency_warmup=2)
    result = app_verify.Verifier(config, clock=clock, sleep=clock.sleep, fetcher=fetcher).run()
    assert result["failed"] == []
    latency = result["checks"][-1]
    assert (latency["samples"], latency["p50_ms"], latency["p95_ms"], latency["max_ms"]) == (20, 20.0, 20.0, 900.0)
    assert latency["detail"] == "p95 20 ms <= budget 300 ms (p50 20 ms, max 900 ms; 20 samples of /health, / " \
                                "after 2 warm-up)"
    assert len(fetcher.urls) == 2 + 2 + 20
    assert "latency p50 20 ms, p95 20 ms, max 900 ms" in app_verify.summarize(result)


def test_latency_fails_when_the_percentile_is_over_budget_naming_the_figures():
    clock = FakeClock()
    fetcher = timed_fetcher(clock, [0.01, 0.01] + [0.4] * 10)
    config = config_for("http://127.0.0.1:8080", latency_budget_ms=300, checks=["/health", "/", "latency"],
                        latency_samples=10, latency_warmup=0, latency_percentile=90)
    result = app_verify.Verifier(config, clock=clock, sleep=clock.sleep, fetcher=fetcher).run()
    assert result["failed"] == ["latency: p90 400 ms > budget 300 ms (p50 400 ms, max 400 ms; 10 samples of "
                                "/health, / after 0 warm-up)"]


@pytest.mark.parametrize("option, value", [
    ("latency_samples", 0), ("latency_samples", 10001), ("latency_warmup", -1), ("latency_warmup", 1001),
    ("latency_percentile", 0), ("latency_percentile", 100.5),
])
def test_latency_sampling_options_out_of_bounds_fail_naming_them(option, value):
    with pytest.raises(app_verify.OptionError) as error:
        config_for("http://127.0.0.1:8080", **{option: value})
    assert str(error.value).startswith(option + ": ")


HOST = "app1.dev.localhost"


class Pki(object):
    """A CA and leaf certificates made here (python cryptography), as the platform's CA issuer signs the Ingress's."""

    def __init__(self, directory):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        self.x509, self.hashes, self.serialization, self.ec, self.oid = x509, hashes, serialization, ec, NameOID
        self.directory = directory
        self.ca_key, self.ca_cert = self.authority("kindling-ca")

    def _name(self, common_name):
        return self.x509.Name([self.x509.NameAttribute(self.oid.COMMON_NAME, common_name)])

    def authority(self, common_name):
        import datetime
        key = self.ec.generate_private_key(self.ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (self.x509.CertificateBuilder().subject_name(self._name(common_name)).issuer_name(self._name(common_name))
                .public_key(key.public_key()).serial_number(self.x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
                .add_extension(self.x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .sign(key, self.hashes.SHA256()))
        return key, cert

    def ca_pem(self, cert=None):
        return (cert or self.ca_cert).public_bytes(self.serialization.Encoding.PEM).decode()

    def leaf(self, host=HOST, days=(-1, 30), authority=None):
        """A server certificate for host signed by authority (default: the CA), valid from/to days from now: the
        certificate and key files."""
        import datetime
        ca_key, ca_cert = authority or (self.ca_key, self.ca_cert)
        key = self.ec.generate_private_key(self.ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (self.x509.CertificateBuilder().subject_name(self._name(host)).issuer_name(ca_cert.subject)
                .public_key(key.public_key()).serial_number(self.x509.random_serial_number())
                .not_valid_before(now + datetime.timedelta(days=days[0]))
                .not_valid_after(now + datetime.timedelta(days=days[1]))
                .add_extension(self.x509.SubjectAlternativeName([self.x509.DNSName(host)]), critical=False)
                .sign(ca_key, self.hashes.SHA256()))
        cert_file, key_file = self.directory / ("%s-%d.crt" % (host, days[1])), self.directory / "leaf.key"
        cert_file.write_bytes(cert.public_bytes(self.serialization.Encoding.PEM))
        key_file.write_bytes(key.private_bytes(self.serialization.Encoding.PEM, self.serialization.PrivateFormat.PKCS8,
                                               self.serialization.NoEncryption()))
        return str(cert_file), str(key_file)


def server_context(cert_file, key_file):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


@pytest.fixture
def pki(tmp_path):
    pytest.importorskip("cryptography")
    return Pki(tmp_path)


def tls_config(base, pki, **overrides):
    return config_for(base.replace("http://", "https://"), host_header=HOST, ca_data=pki.ca_pem(), checks=["tls"],
                      attempts=1, **overrides)


def test_tls_check_passes_for_a_certificate_naming_the_host_from_the_trusted_ca(serve, pki):
    """The ingress is reached at 127.0.0.1 but must present the certificate of the Host it routes (SNI)."""
    base = serve(healthy_routes(), wrap=server_context(*pki.leaf()).wrap_socket)
    result = app_verify.Verifier(tls_config(base, pki)).run()
    assert result["failed"] == []
    assert result["checks"][0]["detail"].startswith(
        "certificate for %s verified against the given CA (chain and host name), not after " % HOST)


@pytest.mark.parametrize("served, failure", [
    (lambda pki: pki.leaf(host="other.dev.localhost"),
     "tls: certificate for %s not trusted: Hostname mismatch, certificate is not valid for '%s'." % (HOST, HOST)),
    (lambda pki: pki.leaf(authority=pki.authority("someone-else")),
     "tls: certificate for %s not trusted: unable to get local issuer certificate" % HOST),
    (lambda pki: pki.leaf(days=(-30, -1)),
     "tls: certificate for %s not trusted: certificate has expired" % HOST),
], ids=["wrong host", "untrusted CA", "expired"])
def test_tls_check_fails_naming_what_is_wrong_with_the_certificate(serve, pki, served, failure):
    base = serve(healthy_routes(), wrap=server_context(*served(pki)).wrap_socket)
    result = app_verify.Verifier(tls_config(base, pki)).run()
    assert result["failed"] == [failure]


def ingress(tls=True):
    spec = {"rules": [{"host": HOST, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
        "service": {"name": "app1", "port": {"name": "http"}}}}]}}]}
    if tls:
        spec["tls"] = [{"hosts": [HOST], "secretName": "app1-tls"}]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "app1", "namespace": "app1-dev",
                         "annotations": {"cert-manager.io/cluster-issuer": "kindling-ca"}}, "spec": spec}


def certificate(ready="True", reason="Ready", message="Certificate is up to date and has not expired"):
    """What cert-manager v1.21's ingress-shim makes for the Ingress's TLS entry (named after its secretName) once
    its certificates controllers have set the Ready condition."""
    return {"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": {"name": "app1-tls", "namespace": "app1-dev"},
            "spec": {"secretName": "app1-tls", "dnsNames": [HOST],
                     "issuerRef": {"name": "kindling-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}},
            "status": {"conditions": [{"type": "Ready", "status": ready, "reason": reason, "message": message,
                                       "observedGeneration": 1}],
                       "notAfter": "2027-03-08T01:00:00Z"}}


@pytest.mark.parametrize("ingresses, certificates, ok, detail", [
    ([ingress()], [certificate()], True, "Certificate app1-tls (Ingress app1) is Ready, not after 2027-03-08T01:00:00Z"),
    ([ingress()], [certificate("False", "DoesNotExist", "Issuing certificate as Secret does not exist")], False,
     "Certificate app1-tls (Ingress app1) is not Ready: DoesNotExist: Issuing certificate as Secret does not exist"),
    ([ingress()], [], False, "no cert-manager Certificate app1-tls for Ingress app1's TLS secret (cert-manager makes "
                             "it from the Ingress's cert-manager.io/cluster-issuer annotation)"),
    ([], [certificate()], False, "no Ingress routes %s" % HOST),
])
def test_certificate_check_reads_the_ready_condition_of_the_ingress_certificate(ingresses, certificates, ok, detail):
    config = config_for("https://127.0.0.1:8443", host_header=HOST, checks=["certificate"],
                        tls_ingresses=ingresses, tls_certificates=certificates)
    result = app_verify.Verifier(config, fetcher=None).run()
    assert result["checks"] == [{"name": "certificate", "ok": ok, "detail": detail, "latency_ms": None}]


def test_without_tls_on_the_ingress_the_tls_checks_are_skipped_saying_why():
    config = config_for("https://127.0.0.1:8443", host_header=HOST, checks=["certificate", "tls"],
                        tls_ingresses=[ingress(tls=False)], tls_certificates=[])
    result = app_verify.Verifier(config, fetcher=None).run()
    assert result["ok"]
    assert [(c["name"], c["ok"], c.get("skipped"), c["detail"]) for c in result["checks"]] == [
        ("certificate", True, True, "not checked: Ingress app1 has no TLS for %s" % HOST),
        ("tls", True, True, "not checked: Ingress app1 has no TLS for %s" % HOST)]
