# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""verify_checks: what the verify role concludes from the app's pods and check records."""

from __future__ import annotations

from ansible_collections.kindling.gitops.plugins.module_utils import verify_checks


def pod(name, ready="True", restarts=(0,), terminating=False):
    # A Pod as kubernetes.core.k8s_info returns it (the fields verify reads).
    metadata = {"name": name}
    if terminating:
        metadata["deletionTimestamp"] = "2026-12-08T00:00:00Z"
    return {"metadata": metadata,
            "status": {"conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": ready}],
                       "containerStatuses": [{"restartCount": count} for count in restarts]}}


def checks(pods, replicas=2, max_restarts=0):
    return verify_checks.pod_checks(pods, replicas, max_restarts, "app=web", "web-dev")


def test_ready_pod_names_leave_out_unready_and_terminating_pods():
    pods = [pod("a"), pod("b", ready="False"), pod("c", terminating=True), {"metadata": {"name": "d"}}, pod("e")]
    assert verify_checks.ready_pod_names(pods) == ["a", "e"]


def test_all_pods_ready_without_restarts():
    assert checks([pod("a"), pod("b"), pod("old", ready="False", terminating=True)]) == [
        {"name": "pods ready", "via": "kubernetes", "ok": True, "detail": "2/2 ready", "latency_ms": None},
        {"name": "pod restarts", "via": "kubernetes", "ok": True, "detail": "no restarts (at most 0 allowed)",
         "latency_ms": None}]


def test_no_pods_fail_both_checks_naming_the_selector():
    assert [(c["ok"], c["detail"]) for c in checks([pod("old", terminating=True)])] == [
        (False, "no pods match app=web in web-dev"), (False, "no pods to check")]


def test_unready_and_restarted_pods_are_named():
    result = checks([pod("a", ready="False", restarts=(1, 2)), pod("b", restarts=(1,))], replicas="2", max_restarts="1")
    assert result[0]["ok"] is False and result[0]["detail"] == "1 of 2 ready, want 2: not ready: a"
    assert result[1]["ok"] is False and result[1]["detail"] == "a restarted 3 times"


def test_too_few_ready_pods_fail_though_none_is_unready():
    assert checks([pod("a")], replicas=3)[0] == {
        "name": "pods ready", "via": "kubernetes", "ok": False, "detail": "1 of 1 ready, want 3", "latency_ms": None}


def test_failed_check_lines_name_how_each_failed_check_was_reached():
    records = [{"name": "health", "via": "ingress", "ok": False, "detail": "503"},
               {"name": "version", "via": "direct", "ok": True, "detail": "1.2"},
               {"name": "options", "ok": False, "detail": "bad url"}]
    assert verify_checks.failed_check_lines(records) == ["ingress health: 503", "options: bad url"]


def test_verify_report_tags_checks_with_their_route_and_words_the_failures():
    pod_records = checks([pod("a"), pod("b")])
    ingress = {"checks": [{"name": "health", "ok": False, "detail": "503", "latency_ms": 4}]}
    refused = {"msg": "url: not a URL", "failed": True}
    skipped = {"skipped": True, "msg": "Conditional result was False"}
    reached = [{"via": "pod a", "result": {"checks": [{"name": "version", "ok": True, "detail": "1.2"}]}}]
    sources = [("ingress", ingress), ("ingress", skipped), ("direct", refused)] + [(r["via"], r["result"]) for r in reached]
    report = verify_checks.verify_report(pod_records, sources)
    assert [(c["via"], c["name"]) for c in report["checks"]] == [
        ("kubernetes", "pods ready"), ("kubernetes", "pod restarts"), ("ingress", "health"), ("direct", "options"),
        ("pod a", "version")]
    assert report["checks"][3] == {"name": "options", "via": "direct", "ok": False, "detail": "url: not a URL",
                                   "latency_ms": None}
    assert report["failed"] == ["ingress health: 503", "direct options: url: not a URL"]
    assert report["ok"] is False


def test_a_report_of_only_skipped_checks_says_nothing_was_checked():
    report = verify_checks.verify_report([], [("ingress", {}), ("direct", {"checks": [{"name": "x", "ok": True,
                                                                                       "skipped": True}]})])
    assert report["ok"] is False
    assert report["failed"] == ["nothing was checked: verify_pods, verify_ingress and verify_direct are all off"]
