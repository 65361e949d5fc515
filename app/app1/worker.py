"""What granian's worker process runs: the app and its metrics port, both built in that process.

`application` is granian's target with `factory=True` (granian's public option, `--factory` on its CLI):
granian calls it once in the worker process, before the worker serves its first request. So the request
threads and the metrics server share one process and one registry: no multiprocess metrics directory.
"""
import sys

from prometheus_client import start_http_server

from . import web
from .metrics import Metrics
from .settings import APP_NAME, from_environment


def application():
    settings = from_environment()  # the environment the main process checked, inherited
    metrics = Metrics()
    app = web.create_app(settings, metrics)
    try:
        # prometheus_client's own server (a thread of this process): it picks OpenMetrics or the text format
        # from the scraper's Accept header and gzips on Accept-Encoding: gzip.
        start_http_server(settings.metrics_port, settings.host, registry=metrics.registry)
    except OSError as error:
        print(f"{APP_NAME}: cannot listen on METRICS_PORT: {settings.host}:{settings.metrics_port}: "
              f"{error.strerror}", file=sys.stderr, flush=True)
        sys.exit(1)  # the worker's exit code 1; granian's main process then stops with exit code 1 too
    return app
