# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the verify role concludes from the app's pods (kubernetes.core.k8s_info resources) and its check records."""

from __future__ import annotations

NOTHING_CHECKED = "nothing was checked: verify_pods, verify_ingress and verify_direct are all off"


def _live(pods):
    # A pod with a metadata.deletionTimestamp is terminating (the old ReplicaSet's, right after a rollout).
    return [pod for pod in pods or [] if "deletionTimestamp" not in (pod.get("metadata") or {})]


def _ready(pod):
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def ready_pod_names(pods):
    """The names of the Ready pods that are not terminating: the pods the direct checks reach one by one."""
    return [pod["metadata"]["name"] for pod in _live(pods) if _ready(pod)]


def pod_checks(pods, replicas, max_restarts, selector, namespace):
    """Two check records, readiness and restarts, of the pods that are not terminating."""
    pods = _live(pods)
    not_ready = [pod["metadata"]["name"] for pod in pods if not _ready(pod)]
    restarted = []
    for pod in pods:
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        restarts = sum(status.get("restartCount", 0) for status in statuses)
        if restarts > int(max_restarts):
            restarted.append("%s restarted %s times" % (pod["metadata"]["name"], restarts))
    ready_count = len(pods) - len(not_ready)
    enough = ready_count >= int(replicas)
    if not pods:
        ready_detail = "no pods match %s in %s" % (selector, namespace)
    elif not_ready or not enough:
        ready_detail = "%s of %s ready, want %s" % (ready_count, len(pods), replicas)
        if not_ready:
            ready_detail += ": not ready: " + ", ".join(not_ready)
    else:
        ready_detail = "%s/%s ready" % (ready_count, len(pods))
    if restarted:
        restart_detail = ", ".join(restarted)
    elif not pods:
        restart_detail = "no pods to check"
    else:
        restart_detail = "no restarts (at most %s allowed)" % (max_restarts,)
    return [
        {"name": "pods ready", "via": "kubernetes", "ok": bool(pods) and enough and not not_ready,
         "detail": ready_detail, "latency_ms": None},
        {"name": "pod restarts", "via": "kubernetes", "ok": bool(pods) and not restarted,
         "detail": restart_detail, "latency_ms": None},
    ]


def failed_check_lines(checks):
    """Each failed check in words: 'VIA NAME: DETAIL' (without VIA when the record has none)."""
    return ["%s%s: %s" % (check["via"] + " " if "via" in check else "", check["name"], check["detail"])
            for check in checks or [] if not check["ok"]]


def verify_report(pod_check_records, sources):
    """Every check record, tagged with how it was reached (sources: (via, app_verify result) pairs), the failures
    in words and whether all passed."""
    checks = list(pod_check_records or [])
    for via, result in sources:
        result = result or {}
        if "checks" in result:
            checks.extend(dict(check, via=via) for check in result["checks"])
        elif "msg" in result and not result.get("skipped", False):
            # app_verify refused its options before checking anything: that is a failed verification too.
            checks.append({"name": "options", "via": via, "ok": False, "detail": result["msg"], "latency_ms": None})
    failed = failed_check_lines(checks)
    if not [check for check in checks if "skipped" not in check]:
        failed = [NOTHING_CHECKED]
    return {"ok": not failed, "failed": failed, "checks": checks}
