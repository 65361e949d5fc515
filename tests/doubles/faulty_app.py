"""HTTP-boundary double: the real app1 Flask app and metrics registry, served on 127.0.0.1 with one fault injected.

Used to prove app_verify names exactly what is wrong. Each variant changes one thing and leaves the rest
real (routes, JSON, metric families), so a correct verifier fails exactly one check:
  wrong_version      the app reports a version other than app/VERSION
  missing_metric     the app_request_count family is unregistered from the metrics registry
  health_500         GET /health answers 500 (everything else is untouched)
  slow_index         GET / answers after `delay` seconds
"""
import ssl
import threading
import time
from dataclasses import dataclass, field
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import start_http_server

from app1.metrics import Metrics
from app1.settings import Settings
from app1.web import create_app

VARIANTS = ("wrong_version", "missing_metric", "health_500", "slow_index")


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - stdlib signature
        pass


def _health_500(app):
    def wrapped(environ, start_response):
        if environ.get("PATH_INFO") == "/health":
            start_response("500 INTERNAL SERVER ERROR", [("Content-Type", "application/json")])
            return [b'{"error": "injected fault", "status": 500}']
        return app(environ, start_response)
    return wrapped


def _slow(app, path, delay):
    def wrapped(environ, start_response):
        if environ.get("PATH_INFO") == path:
            time.sleep(delay)
        return app(environ, start_response)
    return wrapped


@dataclass
class FaultyApp:
    variant: str | None
    version: str
    environment: str = "dev"
    delay: float = 0.6
    tls: tuple | None = None  # (certificate file, key file): the app port answers HTTPS
    servers: list = field(default_factory=list)
    port: int = 0
    metrics_port: int = 0

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def start(self) -> "FaultyApp":
        if self.variant not in (None, *VARIANTS):
            raise ValueError(f"unknown variant {self.variant!r}; known: {VARIANTS}")
        version = "0.0.1-wrong" if self.variant == "wrong_version" else self.version
        settings = Settings(host="127.0.0.1", port=0, metrics_port=0, environment=self.environment, version=version)
        metrics = Metrics()
        if self.variant == "missing_metric":
            metrics.registry.unregister(metrics.requests)
        app = create_app(settings, metrics)
        if self.variant == "health_500":
            app = _health_500(app)
        if self.variant == "slow_index":
            app = _slow(app, "/", self.delay)
        web = make_server("127.0.0.1", 0, app, _Server, handler_class=_Quiet)
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            web.socket = context.wrap_socket(web.socket, server_side=True)
        threading.Thread(target=web.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        exposition, _thread = start_http_server(0, "127.0.0.1", registry=metrics.registry)  # as app1.worker does
        self.servers = [web, exposition]
        self.port, self.metrics_port = web.server_port, exposition.server_port
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()
        self.servers = []
