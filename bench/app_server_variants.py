"""The same instrumented app1 under other servers, only so bench/app_bench.py can show why gunicorn
gthread was chosen (docs/app.md has the figures).

    python bench/app_server_variants.py sync      # gunicorn, 1 sync worker (no keep-alive)
    python bench/app_server_variants.py uwsgi     # uWSGI http-socket, 1 process (needs `pip install pyuwsgi`)
    python bench/app_server_variants.py granian   # granian, 1 worker (needs `pip install granian`)

Settings come from the environment exactly as for `python -m app1`.
"""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "app"))

from app1 import logs  # noqa: E402
from app1.metrics import Metrics, serve_metrics  # noqa: E402
from app1.readiness import Readiness  # noqa: E402
from app1.server import Server  # noqa: E402
from app1.settings import from_environment  # noqa: E402
from app1.web import create_app  # noqa: E402

VARIANTS = ("sync", "uwsgi", "granian")
WORKER_FLAG = "APP1_BENCH_VARIANT_WORKER"


class SyncServer(Server):
    def load_config(self):
        super().load_config()
        self.cfg.set("worker_class", "sync")


def ready_app(settings):
    """The instrumented app, metrics served and marked ready (what Server does in its worker)."""
    readiness, metrics = Readiness(), Metrics()
    wsgi_app = create_app(settings, readiness, metrics)
    serve_metrics(metrics, settings.host, settings.metrics_port)
    readiness.mark_ready()
    return wsgi_app


def main(variant):
    settings = from_environment()
    logs.configure(settings.log_level)
    if variant == "sync":
        SyncServer(settings).run()
        return
    if variant in ("uwsgi", "granian"):
        os.environ[WORKER_FLAG] = "1"
    if variant == "uwsgi":
        import pyuwsgi  # the server calls back into `application` below
        sys.argv = ["uwsgi", "--http-socket", f"{settings.host}:{settings.port}", "--module", "app_server_variants",
                    "--pythonpath", str(Path(__file__).resolve().parent), "--processes", "1", "--enable-threads",
                    "--disable-logging", "--lazy-apps"]
        pyuwsgi.run()
    elif variant == "granian":
        from granian import Granian
        Granian("app_server_variants:application", address=settings.host, port=settings.port, interface="wsgi",
                workers=1, websockets=False).serve()
    else:
        sys.exit(f"unknown variant {variant!r}: use one of {', '.join(VARIANTS)}")


# uWSGI and granian import this module again in their worker and take `application` from it.
if os.environ.get(WORKER_FLAG) == "1":
    _settings = from_environment()
    logs.configure(_settings.log_level)
    application = ready_app(_settings)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
