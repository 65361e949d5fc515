"""The real server (`python -m app1`) with one extra route for shutdown tests: GET /test/slow?seconds=N.

Only the tests use it, to have a request in flight when SIGTERM arrives; the shipped app has no such route.
granian's worker loads `slow_server:application` (this file's folder is on sys.path, which the worker
inherits) instead of app1.worker:application.
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import request  # noqa: E402

from app1 import server, worker  # noqa: E402


def application():
    app = worker.application()

    @app.get("/test/slow")
    def slow():
        time.sleep(float(request.args.get("seconds", "1")))
        return {"slept": float(request.args.get("seconds", "1"))}
    return app


if __name__ == "__main__":
    sys.exit(server.main(target="slow_server:application"))
