"""Production entry point: settings checked, then gunicorn serving the app with one worker.

One gthread worker (THREADS threads, keep-alive) per container, scale with replicas: the worker holds
the metrics it serves on METRICS_PORT, so no multiprocess metrics directory is needed.
SIGTERM: /ready answers 503 at once, requests keep being served for DRAIN_SECONDS (so load balancers
stop sending), then the worker stops accepting, finishes what is in flight and exits; gunicorn kills it
after DRAIN_SECONDS + SHUTDOWN_TIMEOUT at the latest.
"""
import logging
import math
import os
import signal
import sys
import tempfile
import threading

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger as GunicornLogger

from . import logs
from .readiness import DRAINING, Readiness
from .settings import APP_NAME, SettingsError, from_environment

log = logging.getLogger("app1.server")
# Chosen by bench/app_bench.py (docs/app.md has the figures).
WORKER_CLASS = "gthread"


class JsonLogger(GunicornLogger):
    """gunicorn's own records (boot, worker exits) as JSON lines on stdout like ours."""

    def setup(self, cfg):
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            logger.handlers[:] = [logs.handler()]


class Server(BaseApplication):
    def __init__(self, settings):
        self.settings = settings
        self.readiness = None
        self.metrics = None
        super().__init__()

    def load_config(self):
        s = self.settings
        options = {
            "bind": [f"{s.host}:{s.port}"],
            "workers": 1,
            "worker_class": WORKER_CLASS,
            "threads": s.threads,
            "proc_name": APP_NAME,
            "graceful_timeout": math.ceil(s.drain_seconds + s.shutdown_timeout),
            "timeout": 30,
            "accesslog": None,  # app1.access logs every request with route, duration and request id
            "errorlog": "-",
            "loglevel": s.log_level.lower(),
            "logger_class": JsonLogger,
            "control_socket_disable": True,  # no runtime control socket: nothing to write on a read-only root
            "post_worker_init": self.post_worker_init,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self):
        # Runs in the worker: metrics and readiness belong to the process that serves requests, and the
        # master, which only supervises, stays small without Flask and prometheus_client.
        from . import web
        from .metrics import Metrics
        self.readiness = Readiness()
        self.metrics = Metrics()
        return web.create_app(self.settings, self.readiness, self.metrics)

    def post_worker_init(self, worker):
        from .metrics import serve_metrics
        serve_metrics(self.metrics, self.settings.host, self.settings.metrics_port)
        signal.signal(signal.SIGTERM, lambda _signum, _frame: self.drain(worker))
        self.readiness.mark_ready()
        log.info("ready: app on %s:%s, metrics on %s:%s", self.settings.host, self.settings.port,
                 self.settings.host, self.settings.metrics_port)

    def drain(self, worker):
        if self.readiness.phase == DRAINING:
            return  # a second SIGTERM changes nothing
        self.readiness.drain()
        log.info("SIGTERM: /ready now 503, serving for %ss more, then finishing in-flight requests",
                 self.settings.drain_seconds)
        timer = threading.Timer(self.settings.drain_seconds, self.stop_accepting, (worker,))
        timer.daemon = True
        timer.start()

    @staticmethod
    def stop_accepting(worker):
        worker.alive = False
        try:
            os.write(worker.PIPE[1], b".")  # wakes a worker blocked waiting for connections
        except OSError:
            pass


def main():
    try:
        settings = from_environment()
    except SettingsError as error:
        print(f"{APP_NAME}: invalid setting: {error}", file=sys.stderr)
        return 2
    try:
        tempfile.gettempdir()  # gunicorn's worker heartbeat file goes there
    except OSError:
        print(f"{APP_NAME}: no writable temporary directory: mount a tmpfs (or an emptyDir) on /tmp", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    Server(settings).run()
    return 0
