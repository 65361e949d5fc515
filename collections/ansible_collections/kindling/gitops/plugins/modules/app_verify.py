#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: app_verify
short_description: Prove that a deployed app answers correctly, as one record per check
version_added: 0.1.0
description:
  - Calls the app's C(/health), C(/ready) and C(/) endpoints and its Prometheus metrics endpoint, and returns one
    record per check with its verdict, the reason and the latency.
  - C(/health) must answer 200 with a JSON object whose C(status) is C(ok); C(/ready) must answer 200; C(/) must answer 200 with
    JSON whose C(app), C(environment) and C(version) equal the expected values given; the metrics endpoint must
    answer 200 in the Prometheus text format and contain every family in O(required_metrics); with
    O(latency_budget_ms), the O(latency_percentile) of O(latency_samples) timed requests (after O(latency_warmup)
    untimed ones) to the app endpoints that passed must fit in the budget. One slow request does not fail it.
  - With C(certificate) in O(checks), the cert-manager Certificate of the Ingress that routes the host (the one
    named after the Ingress's TLS C(secretName), as cert-manager's ingress-shim names it) must have its C(Ready)
    condition C(True). With C(tls), an HTTPS request to O(base_url)C(/health) must present a certificate that
    chains to O(ca_data) (or O(ca_path)) and names the host O(host_header), sent as SNI, as a client that
    resolves the host to the ingress controller would. Both are skipped, saying why, when that Ingress has no TLS
    for the host.
  - Redirects are never followed (a redirect to C(https://) is reported with its target). Connection refused,
    timeouts and HTTP 5xx are retried up to O(attempts) times within O(deadline); wrong content is not retried.
  - "Read-only; never reports a change. Fails listing exactly which checks failed and why,
    for example C(/: version 1.0.0 != expected 1.0.1) or C(metrics: missing app_request_count_total)."
author:
  - kindling.gitops maintainers (@kindling)
requirements:
  - prometheus_client (Python package, on the target) for the metrics check
extends_documentation_fragment:
  - kindling.gitops.http_client
options:
  base_url:
    description:
      - URL of the app, C(http://) or C(https://), without a query. Either the service directly
        (for example C(http://127.0.0.1:8080)) or the ingress controller together with O(host_header).
    type: str
    required: true
  metrics_url:
    description:
      - URL of the Prometheus metrics endpoint.
      - Defaults to the host of O(base_url) on port 9090 with path C(/metrics), over plain HTTP.
    type: str
  host_header:
    description:
      - C(Host) header for the app requests, to reach the app through an ingress by its rule's host name
        while O(base_url) points at the ingress controller. Not sent to O(metrics_url).
    type: str
  expected_app:
    description: Value the C(app) field of C(/) must have.
    type: str
  expected_environment:
    description: Value the C(environment) field of C(/) must have.
    type: str
  expected_version:
    description: Value the C(version) field of C(/) must have (the content of C(app/VERSION) that was built).
    type: str
  required_metrics:
    description:
      - Metrics that must be exposed. Each item is a family or sample name (a counter's C(_total) sample name
        matches its family), or a dict with C(name) and C(labels), where a sample must carry those label values.
      - Parsed with C(prometheus_client.parser), so the name and label syntax follow the Prometheus text format.
    type: list
    elements: raw
    default: []
  latency_budget_ms:
    description:
      - Budget in milliseconds for the O(latency_percentile) of the timed answers of C(/health), C(/ready) and C(/).
        Without it the C(latency) check only reports the figures.
    type: float
  latency_samples:
    description:
      - Timed requests the C(latency) check makes, spread over the app endpoints whose check passed (1 to 10000).
    type: int
    default: 20
  latency_warmup:
    description:
      - Untimed requests before the samples, so a cold connection path (a fresh port-forward, the ingress's
        upstream pool) is not judged (0 to 1000).
    type: int
    default: 3
  latency_percentile:
    description:
      - The percentile of the samples judged against O(latency_budget_ms) (nearest rank; greater than 0, at most
        100; 100 judges the slowest sample).
    type: float
    default: 95
  checks:
    description:
      - Which checks to run. Leave out C(metrics) when O(base_url) is an ingress that does not route the metrics port.
      - C(certificate) needs O(tls_ingresses) and O(tls_certificates); C(tls) an C(https://) O(base_url) and
        O(validate_certs).
    type: list
    elements: str
    choices: ['/health', '/ready', '/', metrics, latency, certificate, tls]
    default: ['/health', '/ready', '/', metrics, latency]
  tls_ingresses:
    description:
      - The Ingresses of the app's namespace (C(kubernetes.core.k8s_info)'s C(resources)), for the C(certificate)
        check; the one whose rule routes the host names the TLS secret.
    type: list
    elements: dict
    default: []
  tls_certificates:
    description:
      - The cert-manager C(cert-manager.io/v1) Certificates of the app's namespace (C(k8s_info)'s C(resources)), for
        the C(certificate) check.
    type: list
    elements: dict
    default: []
attributes:
  check_mode:
    description: Runs the same read-only checks in check mode.
    support: full
  diff_mode:
    description: Nothing is changed, so there is nothing to diff.
    support: none
  idempotent:
    description: Only reads; changed is always false.
    support: full
  action_group:
    description: Use C(group/kindling.gitops.all) in module_defaults to set options for it.
    support: full
    membership:
      - kindling.gitops.all
notes:
  - Checks run one after another in the order C(/health), C(/ready), C(/), C(metrics), C(certificate), C(tls),
    C(latency).
seealso:
  - module: ansible.builtin.uri
"""

EXAMPLES = r"""
- name: Verify dev directly through a port-forward to the Service
  kindling.gitops.app_verify:
    base_url: http://127.0.0.1:18080
    metrics_url: http://127.0.0.1:19090/metrics
    expected_app: app1
    expected_environment: dev
    expected_version: "{{ lookup('ansible.builtin.file', 'app/VERSION') }}"
    required_metrics:
      - app_request_count_total
      - name: app_request_latency_seconds
      - name: app_build_info
        labels:
          version: 1.0.1
    latency_budget_ms: 300

- name: Verify qa through the ingress controller by its host name, trusting the cluster CA
  kindling.gitops.app_verify:
    base_url: https://127.0.0.1
    host_header: app1-qa.localtest.me
    ca_path: "{{ kindling_work_dir }}/kindling-ca.crt"
    checks: ['/health', '/ready', '/', latency]
    expected_version: 1.0.1
    attempts: 10
    retry_delay: 3
    deadline: 120
  register: ingress_verification
"""

RETURN = r"""
ok:
  description: Whether every check passed.
  returned: always
  type: bool
  sample: false
checks:
  description: One record per check, in the order they ran.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The check, C(/health), C(/ready), C(/), C(metrics), C(certificate), C(tls) or C(latency).
      type: str
      sample: /
    ok:
      description: Whether it passed.
      type: bool
      sample: false
    detail:
      description: What was found; for a failure, why it failed.
      type: str
      sample: version 1.0.0 != expected 1.0.1
    latency_ms:
      description: Milliseconds the last attempt took (for C(latency), the judged percentile; null if none).
      type: float
      sample: 4.2
    samples:
      description: Timed requests that answered (C(latency) only).
      type: int
      sample: 20
    p50_ms:
      description: Median of the samples in milliseconds (C(latency) only).
      type: float
      sample: 3.9
    p95_ms:
      description: 95th percentile of the samples in milliseconds (C(latency) only).
      type: float
      sample: 7.5
    max_ms:
      description: Slowest sample in milliseconds (C(latency) only).
      type: float
      sample: 12.0
    percentile:
      description: The percentile judged against the budget (C(latency) only).
      type: float
      sample: 95
    skipped:
      description: Present and true for a C(certificate) or C(tls) check that was not followed; RV(checks[].detail) says why.
      type: bool
      sample: true
    url:
      description: URL requested (not for C(latency)).
      type: str
      sample: http://127.0.0.1:18080/
    attempts:
      description: Attempts made (not for C(latency)).
      type: int
      sample: 1
  sample:
    - {name: /health, ok: true, detail: status ok, latency_ms: 3.1, url: "http://127.0.0.1:18080/health", attempts: 1}
failed_checks:
  description: "C(<check>: <reason>) for every failed check, the same text as in RV(msg)."
  returned: always
  type: list
  elements: str
  sample: ["metrics: missing app_request_count_total", "/health: 500 after 3 attempts"]
msg:
  description: One line summary; on failure it lists exactly which checks failed and why.
  returned: always
  type: str
  sample: "1 of 5 checks failed: /: version 1.0.0 != expected 1.0.1; latency p50 4 ms, p95 8 ms, max 12 ms (20 samples)"
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.kindling.gitops.plugins.module_utils import app_verify


def main():
    module = AnsibleModule(
        argument_spec=dict(
            base_url=dict(type="str", required=True),
            metrics_url=dict(type="str"),
            host_header=dict(type="str"),
            expected_app=dict(type="str"),
            expected_environment=dict(type="str"),
            expected_version=dict(type="str"),
            required_metrics=dict(type="list", elements="raw", default=[]),
            latency_budget_ms=dict(type="float"),
            latency_samples=dict(type="int", default=app_verify.LATENCY_SAMPLES),
            latency_warmup=dict(type="int", default=app_verify.LATENCY_WARMUP),
            latency_percentile=dict(type="float", default=app_verify.LATENCY_PERCENTILE),
            checks=dict(type="list", elements="str", choices=list(app_verify.CHECK_NAMES),
                        default=list(app_verify.DEFAULT_CHECKS)),
            tls_ingresses=dict(type="list", elements="dict", default=[]),
            tls_certificates=dict(type="list", elements="dict", default=[]),
            validate_certs=dict(type="bool", default=True),
            ca_path=dict(type="path"),
            ca_data=dict(type="str"),
            request_timeout=dict(type="float", default=5),
            attempts=dict(type="int", default=3),
            retry_delay=dict(type="float", default=1),
            deadline=dict(type="float", default=60),
        ),
        mutually_exclusive=[("ca_path", "ca_data")],
        supports_check_mode=True,
    )
    try:
        config = app_verify.build_config(module.params)
    except app_verify.OptionError as error:
        module.fail_json(msg=str(error), option=error.option)
    if app_verify.METRICS in config["checks"] and app_verify.PROMETHEUS_CLIENT_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("prometheus_client"),
                         exception=app_verify.PROMETHEUS_CLIENT_IMPORT_ERROR)
    result = app_verify.Verifier(config).run()
    output = dict(changed=False, ok=result["ok"], checks=result["checks"], failed_checks=result["failed"],
                  msg=app_verify.summarize(result))
    if result["ok"]:
        module.exit_json(**output)
    module.fail_json(**output)


if __name__ == "__main__":
    main()
