"""The Flask application: routes and JSON errors, wrapped in per-request metrics and an access log."""
import logging
import os
import re
import time

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from .logs import AccessLog
from .metrics import UNMATCHED, Metrics
from .readiness import Readiness
from .settings import APP_NAME, Settings

error_log = logging.getLogger("app1.error")
# A caller's X-Request-ID is echoed only when it is short and plain; anything else gets a fresh id.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
REQUEST_ID_KEY = "app1.request_id"


class Instrumented:
    """WSGI middleware around the Flask app: request id, metrics by route template, one access-log line.

    It sits outside Flask so it sees every response (404/405 from routing, 500 from errors) and costs a
    few microseconds, not a request context's worth.
    """

    def __init__(self, app, metrics):
        self.app = app
        self.metrics = metrics
        self.access_log = AccessLog()
        self.url_map = app.url_map
        # Routes without variables are looked up by path; the rest need the URL map (only on a miss).
        self.static_routes = {rule.rule: rule.rule for rule in app.url_map.iter_rules() if not rule.arguments}
        self.wsgi_app = app.wsgi_app

    def endpoint(self, environ):
        path = environ.get("PATH_INFO") or "/"
        endpoint = self.static_routes.get(path)
        if endpoint is not None:
            return endpoint
        try:
            rule, _args = self.url_map.bind_to_environ(environ).match(return_rule=True)
            return rule.rule
        except HTTPException:
            return UNMATCHED

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        supplied = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = supplied if _REQUEST_ID.fullmatch(supplied) else os.urandom(16).hex()
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
            self.metrics.observe(method, self.endpoint(environ), status_code[0], elapsed)
            self.access_log(method, environ.get("PATH_INFO", ""), status_code[0], round(elapsed * 1000, 3), request_id)


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

    return app


def create_wsgi_app(settings=None, readiness=None, metrics=None):
    """The Flask app wrapped in its instrumentation: what a server runs. Returns (wsgi_app, flask_app)."""
    metrics = metrics or Metrics()
    flask_app = create_app(settings, readiness, metrics)
    return Instrumented(flask_app, metrics), flask_app
