"""Production entry point: settings checked, then granian serving the app from this one process.

Why granian: its HTTP handling is native (Rust), so app1 needs about half the CPU per request it needed on
gunicorn's pure-Python HTTP handling, with keep-alive handled by an event loop instead of by a thread per
idle connection (uWSGI's threaded keep-alive stalls other clients); bench/app_bench.py and docs/app.md have
the figures. One process: granian's worker runs as a thread of it (granian's own mode for free-threaded
Pythons, see Server), so the request threads and the metrics server's thread share the metrics they serve
and no multiprocess metrics directory is needed. Scale with replicas.
SIGTERM: /ready answers 503 at once, requests keep being served for DRAIN_SECONDS (so load balancers stop
sending), then granian stops accepting, finishes the requests in flight and the process exits 0; if that
takes longer than SHUTDOWN_TIMEOUT the process exits anyway (code 1).
"""
import logging
import os
import sys
import tempfile
import threading

from granian.constants import Interfaces
from granian.server.mt import MTServer

from . import logs
from .readiness import DRAINING, Readiness
from .settings import APP_NAME, SettingsError, from_environment

log = logging.getLogger("app1.server")


class CannotListen(Exception):
    """A port cannot be bound (in use, not permitted); the message names the variable."""


class Server(MTServer):
    """granian with its one worker as a thread of this process, and app1's drain on SIGTERM/SIGINT.

    granian picks a worker process (MPServer) on Pythons with a GIL and worker threads (MTServer) only on
    free-threaded ones. With one worker the GIL costs nothing (there is no second worker to share it with),
    while a worker process would add a second interpreter (66-81 MiB in all against 42-44 MiB) and
    separate the metrics from the process that serves them.
    """

    def __init__(self, settings, app, readiness):
        super().__init__(
            "app1:application",  # a name for granian's logs: the app itself comes from serve()'s loader
            address=settings.host, port=settings.port, interface=Interfaces.WSGI, workers=1,
            blocking_threads=settings.threads,  # the Python threads that run requests
            websockets=False, log_level=settings.log_level.lower(),
            log_access=False,  # app1.access logs every request with route, duration and request id
        )
        self.settings = settings
        self.app = app
        self.readiness = readiness

    def _init_shared_socket(self):
        try:
            super()._init_shared_socket()
        except RuntimeError as error:
            # granian's failed bind: "Address already in use (os error 98)", plus a Rust backtrace when
            # RUST_BACKTRACE is set: the first line says it all.
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise CannotListen(f"PORT: {self.bind_addr}:{self.bind_port}: {reason}") from None

    def _check_gil(self):
        # MTServer refuses Pythons with a GIL because several worker threads would share it; there is one.
        pass

    def run(self):
        # AbstractServer's serve: MTServer's own only adds a warning that free-threaded Python is experimental
        # (this one is not free-threaded) and refuses options app1 does not use (reloader, RSS limit).
        super(MTServer, self).serve(target_loader=lambda: self.app, wrap_loader=False)

    def signal_handler_interrupt(self, *args, **kwargs):
        if self.readiness.phase == DRAINING:
            return  # a second SIGTERM changes nothing
        self.readiness.drain()
        log.info("SIGTERM: /ready now 503, serving for %ss more, then finishing in-flight requests",
                 self.settings.drain_seconds)
        self._later(self.settings.drain_seconds, self.stop_accepting)

    def stop_accepting(self):
        log.info("draining done: accepting no new connections, finishing the requests in flight")
        self._later(self.settings.shutdown_timeout, self.give_up)
        super().signal_handler_interrupt()  # granian's graceful stop; serve() returns once it is done

    def give_up(self):
        log.error("requests still in flight after SHUTDOWN_TIMEOUT=%ss: exiting without them",
                  self.settings.shutdown_timeout)
        sys.stdout.flush()
        os._exit(1)  # granian's worker thread cannot be killed on its own: the process ends

    @staticmethod
    def _later(seconds, action):
        timer = threading.Timer(seconds, action)
        timer.daemon = True
        timer.start()


def build(settings):
    """The app with its metrics served and its readiness, in this process (what serve() then runs)."""
    from . import web
    from .metrics import Metrics
    from .metrics_server import serve_metrics
    readiness, metrics = Readiness(), Metrics()
    app = web.create_app(settings, readiness, metrics)
    try:
        serve_metrics(metrics, settings.host, settings.metrics_port)
    except OSError as error:
        raise CannotListen(f"METRICS_PORT: {settings.host}:{settings.metrics_port}: {error.strerror}") from None
    return app, readiness


def main():
    try:
        settings = from_environment()
    except SettingsError as error:
        print(f"{APP_NAME}: invalid setting: {error}", file=sys.stderr)
        return 2
    try:
        # The contract is a writable /tmp (Werkzeug spools large request bodies there): refused here with
        # one line rather than failing a request later.
        tempfile.gettempdir()
    except OSError:
        print(f"{APP_NAME}: no writable temporary directory: mount a tmpfs (or an emptyDir) on /tmp", file=sys.stderr)
        return 2
    try:
        app, readiness = build(settings)
        server = Server(settings, app, readiness)
        # After granian's logging set-up (in Server()): its records (also those of its Rust side) then go to
        # the JSON handler instead of its plain-text one.
        logs.configure(settings.log_level)
        server.on_startup(readiness.mark_ready)  # called once the socket is bound, before the worker starts
        server.run()
    except CannotListen as error:
        print(f"{APP_NAME}: cannot listen on {error}", file=sys.stderr)
        return 1
    log.info("stopped")
    return 0
