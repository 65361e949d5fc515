"""The Flask application: routes, JSON errors, and request hooks that count, time and log every request."""
import logging
import re
import time
import uuid

from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException

from .logs import ACCESS_LOGGER
from .metrics import UNMATCHED, Metrics
from .settings import APP_NAME, Settings

access_log = logging.getLogger(ACCESS_LOGGER)
error_log = logging.getLogger("app1.error")
# A caller's X-Request-ID is echoed only when it is short and plain; anything else gets a fresh id.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _instrument(app, metrics):
    """Hooks registered before any other, so they run first on the way in and last on the way out: a 404, a
    405 and the 500 an error handler gives pass through them too."""

    @app.before_request
    def start_request():
        g.started = time.perf_counter()
        supplied = request.headers.get("X-Request-ID")
        g.request_id = supplied if supplied and _REQUEST_ID.fullmatch(supplied) else uuid.uuid4().hex
        metrics.in_flight.inc()

    @app.after_request
    def finish_request(response):
        elapsed = time.perf_counter() - g.started
        method, status = request.method, response.status_code
        # The route template, never the raw path: a label value per route, not per URL. No rule matched on
        # a 404 or a 405.
        endpoint = request.url_rule.rule if request.url_rule else UNMATCHED
        metrics.observe(method, endpoint, status, elapsed)
        access_log.info("request", extra={"method": method, "path": request.path, "status": status,
                                          "duration_ms": round(elapsed * 1000, 3), "request_id": g.request_id})
        response.headers["X-Request-ID"] = g.request_id
        return response

    @app.teardown_request
    def leave_request(_error):
        if "started" in g:  # start_request ran
            metrics.in_flight.dec()


def create_app(settings=None, metrics=None):
    settings = settings or Settings()
    metrics = metrics or Metrics()
    metrics.set_build_info(settings.version, settings.environment, settings.commit)

    app = Flask(APP_NAME)
    app.json.sort_keys = False
    app.extensions["app1"] = {"settings": settings, "metrics": metrics}
    _instrument(app, metrics)

    @app.get("/health")
    def health():
        return {"status": "ok"}

    @app.get("/")
    def index():
        return {"app": APP_NAME, "environment": settings.environment, "version": settings.version}

    @app.get("/ready")
    def ready():
        # granian's worker serves only once this app is built, and stops accepting on SIGTERM; a check of a
        # dependency the app comes to need goes here.
        return {"status": "ready"}

    @app.errorhandler(HTTPException)
    def http_error(error):
        response = error.get_response()  # keeps headers such as Allow on a 405
        response.set_data(jsonify(error=error.name.lower(), status=error.code).get_data())
        response.content_type = "application/json"
        return response

    @app.errorhandler(Exception)
    def unhandled(error):
        error_log.error("unhandled error", exc_info=error, extra={
            "method": request.method, "path": request.path, "request_id": g.get("request_id")})
        return jsonify(error="internal server error", status=500), 500

    return app
