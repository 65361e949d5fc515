"""Every route and error path through Flask's test client, with the instrumentation in place."""
import pytest
from app1_helpers import log_lines
from flask import request

from app1.metrics import UNMATCHED


def requests_served(metrics, method, endpoint, status):
    return metrics.registry.get_sample_value(
        "app_request_count_total", {"method": method, "endpoint": endpoint, "http_status": str(status)}) or 0.0


def test_health_says_ok(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_index_names_the_app_its_environment_and_version(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.get_json() == {"app": "app1", "environment": "qa", "version": "9.8.7"}
    assert list(response.get_json()) == ["app", "environment", "version"]


@pytest.mark.parametrize("path", ["/health", "/", "/ready", "/missing"])
def test_flask_hooks_and_error_handlers_see_every_request(service, log_stream, path):
    """No route is answered around Flask: before/after_request hooks (what extensions such as Sentry or
    OpenTelemetry hook into) run on every request, and an error handler sees every failing one, also after
    the same route has answered 200 (a /health that starts checking a dependency that then fails)."""
    app, metrics = service
    seen, failures, dependency = [], [], {"up": True}

    @app.before_request
    def before():
        seen.append(("before", request.path))
        if not dependency["up"]:
            raise ConnectionError("dependency down")

    @app.after_request
    def after(response):
        seen.append(("after", request.path, response.status_code))
        response.headers["X-Seen-By-Flask"] = "yes"
        return response

    @app.errorhandler(ConnectionError)
    def dependency_down(error):
        failures.append(request.path)
        return {"error": str(error)}, 503

    client = app.test_client()
    answers = [client.get(path) for _ in range(3)]
    assert [answer.headers.get("X-Seen-By-Flask") for answer in answers] == ["yes"] * 3
    status = answers[0].status_code
    assert seen == [("before", path), ("after", path, status)] * 3
    dependency["up"] = False
    failed = [client.get(path) for _ in range(2)]
    assert [(answer.status_code, answer.get_json()) for answer in failed] == [(503, {"error": "dependency down"})] * 2
    assert failures == [path, path]
    endpoint = path if path != "/missing" else UNMATCHED
    assert requests_served(metrics, "GET", endpoint, 503) == 2
    assert [line["status"] for line in log_lines(log_stream) if line["logger"] == "app1.access"] == [status] * 3 + [503] * 2


def test_index_defaults_to_development(log_stream):
    from app1.settings import from_environment
    from app1.web import create_app
    app = create_app(from_environment({}))
    assert app.test_client().get("/").get_json()["environment"] == "development"


def test_ready_says_ready(client):
    response = client.get("/ready")
    assert (response.status_code, response.get_json()) == (200, {"status": "ready"})


def test_unknown_path_is_a_json_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.content_type == "application/json"
    assert response.get_json() == {"error": "not found", "status": 404}


def test_wrong_method_is_a_json_405_that_says_what_is_allowed(client):
    response = client.post("/health")
    assert response.status_code == 405
    assert response.get_json() == {"error": "method not allowed", "status": 405}
    assert "GET" in response.headers["Allow"]


def test_unhandled_error_is_a_json_500_without_traceback_but_logged(service, log_stream):
    app, metrics = service

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")
    response = app.test_client().get("/boom", headers={"X-Request-ID": "req-500"})
    assert response.status_code == 500
    assert response.get_json() == {"error": "internal server error", "status": 500}
    assert b"Traceback" not in response.data and b"secret internals" not in response.data
    errors = [line for line in log_lines(log_stream) if line["level"] == "ERROR"]
    assert len(errors) == 1 and "secret internals" in errors[0]["exception"]
    assert errors[0]["request_id"] == "req-500"
    assert requests_served(metrics, "GET", "/boom", 500) == 1


def test_request_id_is_echoed_when_plain_and_made_up_otherwise(client):
    assert client.get("/health", headers={"X-Request-ID": "abc-123.x"}).headers["X-Request-ID"] == "abc-123.x"
    generated = client.get("/health").headers["X-Request-ID"]
    assert len(generated) == 32 and int(generated, 16) >= 0
    assert client.get("/health").headers["X-Request-ID"] != generated
    for hostile in ("has space", "x" * 129, "semi;colon", "<script>"):
        echoed = client.get("/health", headers={"X-Request-ID": hostile}).headers["X-Request-ID"]
        assert echoed != hostile and len(echoed) == 32


def test_every_route_is_counted_by_template_method_and_status(service):
    app, metrics = service
    client = app.test_client()
    for _ in range(3):
        client.get("/health")
    client.get("/")
    client.get("/ready")
    client.post("/")
    client.get("/missing")
    assert requests_served(metrics, "GET", "/health", 200) == 3
    assert requests_served(metrics, "GET", "/", 200) == 1
    assert requests_served(metrics, "GET", "/ready", 200) == 1
    assert requests_served(metrics, "POST", UNMATCHED, 405) == 1  # no rule matched the method
    assert requests_served(metrics, "GET", UNMATCHED, 404) == 1
    assert metrics.registry.get_sample_value(
        "app_request_latency_seconds_count", {"method": "GET", "endpoint": "/health"}) == 3
    assert metrics.registry.get_sample_value("app_requests_in_flight") == 0


def test_label_values_stay_bounded_whatever_the_requests(service):
    app, metrics = service
    client = app.test_client()
    for number in range(40):
        client.get(f"/probe/{number}")
        client.open("/health", method=f"X{number}")
    endpoints, methods = set(), set()
    for family in metrics.registry.collect():
        for sample in family.samples:
            endpoints.add(sample.labels.get("endpoint"))
            methods.add(sample.labels.get("method"))
    assert endpoints - {None} == {UNMATCHED}  # no rule matches an unknown path, nor an unknown method
    assert methods - {None} == {"GET", "other"}


def test_in_flight_gauge_counts_the_request_being_served(service):
    app, metrics = service
    seen = []

    @app.get("/peek")
    def peek():
        seen.append(metrics.registry.get_sample_value("app_requests_in_flight"))
        return {}
    app.test_client().get("/peek")
    assert seen == [1.0]
    assert metrics.registry.get_sample_value("app_requests_in_flight") == 0


def test_build_info_names_version_environment_and_commit(service):
    _app, metrics = service
    assert metrics.registry.get_sample_value(
        "app_build_info", {"version": "9.8.7", "environment": "qa", "commit": "c0ffee"}) == 1


def test_each_request_logs_one_json_line_with_its_fields(client, log_stream):
    client.get("/health?probe=1", headers={"X-Request-ID": "trace-1"})
    client.get("/nowhere")
    access = [line for line in log_lines(log_stream) if line["logger"] == "app1.access"]
    assert [(line["method"], line["path"], line["status"]) for line in access] == [
        ("GET", "/health", 200), ("GET", "/nowhere", 404)]
    first = access[0]
    assert set(first) == {"time", "level", "logger", "message", "method", "path", "status", "duration_ms", "request_id"}
    assert first["request_id"] == "trace-1" and first["level"] == "INFO"
    assert 0 <= first["duration_ms"] < 1000
    assert first["time"].endswith("Z") and first["time"][10] == "T"


@pytest.mark.parametrize("level, expect_access_lines", [("INFO", 1), ("WARNING", 0)])
def test_log_level_decides_whether_requests_are_logged(service, log_stream, level, expect_access_lines):
    import logging
    logging.getLogger().setLevel(level)
    app, _metrics = service
    app.test_client().get("/health")
    assert len([line for line in log_lines(log_stream) if line["logger"] == "app1.access"]) == expect_access_lines
