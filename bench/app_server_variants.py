"""The same instrumented app1 under other servers, only so bench/app_bench.py can show why granian with
its worker as a thread was chosen (docs/app.md has the figures).

    python bench/app_server_variants.py gthread     # gunicorn, 1 gthread worker x THREADS (app1's server before)
    python bench/app_server_variants.py uwsgi       # uWSGI --http-socket, 1 process x THREADS (`pip install pyuwsgi`)
    python bench/app_server_variants.py granian-mp  # granian's default on a GIL Python: 1 worker process

Settings come from the environment exactly as for `python -m app1`. No drain on SIGTERM: not needed to measure.
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "app"))

from app1 import logs  # noqa: E402
from app1.server import build  # noqa: E402
from app1.settings import from_environment  # noqa: E402

VARIANTS = ("gthread", "uwsgi", "granian-mp")
WORKER_FLAG = "APP1_BENCH_VARIANT_WORKER"


def ready_app(settings):
    """The instrumented app with its metrics served (app1.server.build), marked ready."""
    wsgi_app, readiness = build(settings)
    readiness.mark_ready()
    return wsgi_app


def run_gthread(settings):
    from gunicorn.app.base import BaseApplication

    class GthreadServer(BaseApplication):
        def load_config(self):
            for key, value in {"bind": [f"{settings.host}:{settings.port}"], "workers": 1, "worker_class": "gthread",
                               "threads": settings.threads, "accesslog": None, "errorlog": "-",
                               "control_socket_disable": True}.items():
                self.cfg.set(key, value)

        def load(self):  # in the worker: it owns the metrics it serves, as app1's own worker did
            return ready_app(settings)

    GthreadServer().run()


def main(variant):
    settings = from_environment()
    logs.configure(settings.log_level)
    if variant == "gthread":
        run_gthread(settings)
    elif variant == "uwsgi":
        os.environ[WORKER_FLAG] = "1"
        import pyuwsgi  # the server imports this module again and calls `application` below
        # --http-socket: one request per connection; uWSGI's keep-alive socket (--http11-socket) holds a
        # thread on each idle connection for its socket timeout, stalling other clients.
        pyuwsgi.run(["--http-socket", f"{settings.host}:{settings.port}", "--module", "app_server_variants",
                     "--pythonpath", str(Path(__file__).resolve().parent), "--threads", str(settings.threads),
                     "--disable-logging", "--need-app"])
    elif variant == "granian-mp":
        os.environ[WORKER_FLAG] = "1"
        from granian import Granian
        Granian("app_server_variants:application", address=settings.host, port=settings.port, interface="wsgi",
                workers=1, blocking_threads=settings.threads, websockets=False).serve()
    else:
        sys.exit(f"unknown variant {variant!r}: use one of {', '.join(VARIANTS)}")


# uWSGI and granian's worker process import this module again and take `application` from it.
if os.environ.get(WORKER_FLAG) == "1":
    _settings = from_environment()
    logs.configure(_settings.log_level)
    application = ready_app(_settings)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
