"""The metrics port of the real server (`python -m app1`): prometheus_client's own exposition, in the worker.

prometheus_client negotiates the format and the encoding; what is app1's is that the worker serves the
same registry its requests update, under the names and labels the dashboards, the verify stage
(roles/verify/defaults/main.yml verify_required_metrics) and the alerts
(roles/gitops/templates/base/prometheusrule.yaml.j2) use.
"""
import gzip

from app1_helpers import get
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families
from prometheus_client.parser import text_string_to_metric_families

from app1.metrics import LATENCY_BUCKETS

# What Prometheus 3 sends (scrape/scrape.go acceptHeader with its default scrape protocols).
PROMETHEUS_3_ACCEPT = ("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
                       "application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;"
                       "q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1")


def test_prometheus_gets_openmetrics_gzipped_and_a_plain_client_the_text_format(start_server):
    server = start_server(ENVIRONMENT="qa", APP_VERSION="3.2.1", APP_COMMIT="feedbeef")
    get(server.url("/"))
    metrics_url = f"http://127.0.0.1:{server.metrics_port}/metrics"

    status, headers, body = get(metrics_url, headers={"Accept": PROMETHEUS_3_ACCEPT, "Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    text = gzip.decompress(body).decode()
    assert text.endswith("# EOF\n")
    families = {family.name: family for family in openmetrics_families(text)}
    assert {name: family.type for name, family in families.items()} == {
        "app_request_count": "counter", "app_request_latency_seconds": "histogram",
        "app_requests_in_flight": "gauge", "app_build_info": "gauge"}

    status, headers, body = get(metrics_url)
    assert status == 200 and headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert headers.get("Content-Encoding") is None
    samples = [sample for family in text_string_to_metric_families(body.decode()) for sample in family.samples]
    names = {sample.name for sample in samples}
    # The series verify and the alerts read, named exactly so (no *_created series: disabled).
    assert names == {"app_request_count_total", "app_request_latency_seconds_bucket", "app_request_latency_seconds_count",
                     "app_request_latency_seconds_sum", "app_requests_in_flight", "app_build_info"}
    index = [sample for sample in samples if sample.name == "app_request_count_total"
             and sample.labels == {"method": "GET", "endpoint": "/", "http_status": "200"}]
    assert [sample.value for sample in index] == [1.0]
    bounds = [sample.labels["le"] for sample in samples
              if sample.name == "app_request_latency_seconds_bucket" and sample.labels["endpoint"] == "/"]
    assert bounds == [str(bound) for bound in LATENCY_BUCKETS] + ["+Inf"]
    assert [sample.labels for sample in samples if sample.name == "app_build_info"] == [
        {"version": "3.2.1", "environment": "qa", "commit": "feedbeef"}]
