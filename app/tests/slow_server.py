"""The real server (`python -m app1`) with one extra route for shutdown tests: GET /test/slow?seconds=N.

Only the tests use it, to have a request in flight when SIGTERM arrives; the shipped app has no such route.
"""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flask import request  # noqa: E402

from app1 import server, web  # noqa: E402

_create_app = web.create_app


def create_app_with_slow_route(*args, **kwargs):
    app = _create_app(*args, **kwargs)

    @app.get("/test/slow")
    def slow():
        time.sleep(float(request.args.get("seconds", "1")))
        return {"slept": float(request.args.get("seconds", "1"))}
    return app


web.create_app = create_app_with_slow_route

if __name__ == "__main__":
    sys.exit(server.main())
