"""The real server (`python -m app1`) with two extra routes the shipped app has not:

  GET /test/slow?seconds=N   answers after N seconds: a request in flight when SIGTERM arrives
  GET /test/fail?status=N    answers status N: server errors for the dashboard and alert tests

granian's worker loads `server_with_test_routes:application` (this file's folder is on sys.path, which the
worker inherits) instead of app1.worker:application.
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
        seconds = float(request.args.get("seconds", "1"))
        time.sleep(seconds)
        return {"slept": seconds}

    @app.get("/test/fail")
    def fail():
        status = int(request.args.get("status", "500"))
        return {"status": status}, status
    return app


if __name__ == "__main__":
    sys.exit(server.main(target="server_with_test_routes:application"))
