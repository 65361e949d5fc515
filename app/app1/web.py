"""The Flask application: routes and JSON errors, wrapped in per-request metrics and an access log."""
import logging
import os
import re
import time

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from .logs import ACCESS_LOGGER
from .metrics import UNMATCHED, Metrics
from .readiness import Readiness
from .settings import APP_NAME, Settings

error_log = logging.getLogger("app1.error")
# A caller's X-Request-ID is echoed only when it is short and plain; anything else gets a fresh id.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
REQUEST_ID_KEY = "app1.request_id"
access_log = logging.getLogger(ACCESS_LOGGER)


class Instrumented:
    """WSGI middleware in Flask's wsgi_app slot: request id, metrics by route template, one access-log line.

    Every request goes on into Flask (its hooks, error handlers and extensions see all of them); this sits
    around it so it also sees the 404/405 that routing answers and the 500 an error handler gives.
    """

    def __init__(self, wsgi_app, url_map, metrics):
        self.wsgi_app = wsgi_app
        self.url_map = url_map
        self.metrics = metrics
        self._static_routes = None

    @property
    def static_routes(self):
        # Built on first use, so routes added after create_app (tests do) are known too.
        if self._static_routes is None:
            self._static_routes = {rule.rule: rule.rule for rule in self.url_map.iter_rules() if not rule.arguments}
        return self._static_routes

    def endpoint(self, environ):
        # Routes without variables are found by path; only a miss pays for the URL map.
        endpoint = self.static_routes.get(environ.get("PATH_INFO") or "/")
        if endpoint is not None:
            return endpoint
        try:
            rule, _args = self.url_map.bind_to_environ(environ).match(return_rule=True)
            return rule.rule
        except HTTPException:
            return UNMATCHED

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        supplied = environ.get("HTTP_X_REQUEST_ID")
        request_id = supplied if supplied and _REQUEST_ID.fullmatch(supplied) else os.urandom(16).hex()
        environ[REQUEST_ID_KEY] = request_id
        status_code = [500]

        def start_with_request_id(status, headers, exc_info=None):
            status_code[0] = int(status[:3])
            headers.append(("X-Request-ID", request_id))
            return start_response(status, headers, exc_info)

        in_flight = self.metrics.in_flight
        in_flight.inc()
        try:
            return self.wsgi_app(environ, start_with_request_id)
        finally:
            in_flight.dec()
            elapsed = time.perf_counter() - started
            method = environ.get("REQUEST_METHOD", "")
            status = status_code[0]
            self.metrics.observe(method, self.endpoint(environ), status, elapsed)
            if access_log.isEnabledFor(logging.INFO):
                # Logger.handle of a record from Logger.makeRecord: the documented way to log a record made
                # here, which skips Logger.info's search of the call stack for a source line no one reads.
                access_log.handle(access_log.makeRecord(
                    ACCESS_LOGGER, logging.INFO, __file__, 0, "request", None, None, extra={
                        "method": method, "path": environ.get("PATH_INFO", ""), "status": status,
                        "duration_ms": round(elapsed * 1000, 3), "request_id": request_id}))


def create_app(settings=None, readiness=None, metrics=None):
    settings = settings or Settings()
    readiness = readiness or Readiness()
    metrics = metrics or Metrics()
    metrics.set_build_info(settings.version, settings.environment, settings.commit)

    app = Flask(APP_NAME)
    app.json.sort_keys = False
    app.extensions["app1"] = {"settings": settings, "readiness": readiness, "metrics": metrics}
    index_body = {"app": APP_NAME, "environment": settings.environment, "version": settings.version}

    @app.get("/health")
    def health():
        return {"status": "ok"}

    @app.get("/")
    def index():
        return index_body

    @app.get("/ready")
    def ready():
        if readiness.ready:
            return {"status": "ready"}
        return {"status": readiness.phase}, 503

    @app.errorhandler(HTTPException)
    def http_error(error):
        response = error.get_response()  # keeps headers such as Allow on a 405
        response.set_data(jsonify(error=error.name.lower(), status=error.code).get_data())
        response.content_type = "application/json"
        return response

    @app.errorhandler(Exception)
    def unhandled(error):
        error_log.error("unhandled error", exc_info=error, extra={
            "method": request.method, "path": request.path, "request_id": request.environ.get(REQUEST_ID_KEY)})
        return jsonify(error="internal server error", status=500), 500

    app.wsgi_app = Instrumented(app.wsgi_app, app.url_map, metrics)
    return app
