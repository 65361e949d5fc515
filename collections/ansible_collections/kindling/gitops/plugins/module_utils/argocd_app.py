# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of kindling.gitops.argocd_app_wait, importable without Ansible or a cluster.

"Done" means all three at once: Argo CD reports the revision we pushed as the synced one, sync is
Synced and health is Healthy. An Application that is Synced and Healthy at an older revision is the
trap this guards against: it looks green while the push has not been deployed.

A failed operation is judged by the revision *it* ran, not by status.sync.revision. After a refresh the
controller's comparison moves status.sync.revision to the new commit first, while status.operationState
still describes the last operation, which may be an older commit's failed sync (argo-cd v3.4.4
pkg/apis/application/v1alpha1/types.go: OperationState.SyncResult.Revision "the revision this sync
operation was performed to", Operation.Sync.Revision the one asked for; controller/sync.go sets
SyncResult.Revision when the sync runs; controller/appcontroller.go alreadyAttemptedSync compares the same
field and does not retry a failed sync of the same revision, so such a failure is final).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible_collections.kindling.gitops.plugins.module_utils import rules

REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"
FAILED_PHASES = ("Failed", "Error")


class WaitError(Exception):
    """The Application did not reach the wanted state; .result holds the last status seen."""

    def __init__(self, message, result):
        super(WaitError, self).__init__(message)
        self.result = result


def validate_options(params):
    """Fail fast, naming the option, before any API call: what the argument spec cannot say.

    An Application is a custom resource, so the API server requires its name to be a DNS subdomain and
    its namespace a DNS label (apiextensions-apiserver validates metadata with NameIsDNSSubdomain)."""
    rules.check_dns_subdomain("name", params.get("name"))
    rules.check_dns_label("namespace", params.get("namespace"))
    rules.check_commit_sha("revision", params.get("revision"))
    if params.get("timeout") is None or params["timeout"] <= 0:
        raise ValueError("timeout: must be a positive number of seconds")
    if params.get("interval") is None or not 0 < params["interval"] <= params["timeout"]:
        raise ValueError("interval: must be positive and at most timeout")
    # kubernetes' loader reports a missing file only as "No configuration found"; name the path instead.
    kubeconfig = params.get("kubeconfig") or os.environ.get("K8S_AUTH_KUBECONFIG")
    if isinstance(kubeconfig, str):
        for path in kubeconfig.split(os.pathsep):
            if path and not os.path.isfile(os.path.expanduser(path)):
                raise ValueError("kubeconfig: {0} does not exist".format(path))


def revision_matches(reported, wanted):
    """Argo CD reports full SHAs; a caller may pass an abbreviated one."""
    return bool(reported) and bool(wanted) and (reported == wanted or (len(wanted) >= 7 and reported.startswith(wanted)))


def unhealthy_resources(app):
    """Resources Argo CD does not consider Healthy or Synced, with its messages."""
    problems = []
    for resource in (app.get("status") or {}).get("resources") or []:
        health = resource.get("health") or {}
        if health.get("status") not in (None, "Healthy") or resource.get("status") not in (None, "Synced"):
            problems.append({
                "kind": resource.get("kind"), "namespace": resource.get("namespace"), "name": resource.get("name"),
                "sync": resource.get("status"), "health": health.get("status"), "message": health.get("message", ""),
            })
    return problems


def operation_revision(operation_state):
    """The revision an operation ran (syncResult.revision), or, before it has a result, the one it was asked for
    (operation.sync.revision). Empty when the operation names none."""
    operation_state = operation_state or {}
    result = (operation_state.get("syncResult") or {}).get("revision")
    if result:
        return result
    return (((operation_state.get("operation") or {}).get("sync") or {}).get("revision")) or ""


def summarize(app, wanted):
    status = (app or {}).get("status") or {}
    sync = status.get("sync") or {}
    operation = status.get("operationState") or {}
    summary = {
        "sync": sync.get("status", "Unknown"),
        "health": (status.get("health") or {}).get("status", "Unknown"),
        "revision": sync.get("revision", ""),
        "wanted_revision": wanted,
        "operation_phase": operation.get("phase", ""),
        "operation_message": operation.get("message", ""),
        "operation_revision": operation_revision(operation),
        "conditions": [{"type": c.get("type"), "message": c.get("message")} for c in status.get("conditions") or []],
        "unhealthy": unhealthy_resources(app or {}),
    }
    summary["revision_matches"] = revision_matches(summary["revision"], wanted)
    summary["operation_revision_matches"] = revision_matches(summary["operation_revision"], wanted)
    summary["done"] = summary["revision_matches"] and summary["sync"] == "Synced" and summary["health"] == "Healthy"
    return summary


def terminal_failure(summary, fail_on_degraded):
    """A reason to stop waiting before the timeout, or None."""
    # Only a failure of the operation that ran (or was asked to run) the wanted revision; an older one's is stale.
    if summary["operation_phase"] in FAILED_PHASES and summary["operation_revision_matches"]:
        return "sync operation {0}: {1}".format(summary["operation_phase"], summary["operation_message"] or "no message")
    if fail_on_degraded and summary["revision_matches"] and summary["sync"] == "Synced" and summary["health"] == "Degraded":
        return "health is Degraded at the wanted revision"
    return None


def describe(summary):
    unhealthy = "; ".join("{kind}/{name}: {health} {message}".format(**r).strip() for r in summary["unhealthy"])
    return ("sync={sync} health={health} revision={revision!r} (want {wanted_revision!r}) phase={phase}"
            " (operation revision {operation_revision!r}){rest}").format(
        rest=(" unhealthy: " + unhealthy) if unhealthy else "", phase=summary["operation_phase"] or "-", **summary)


def wait_for_application(fetch, wanted, timeout, interval, fail_on_degraded=True, clock=time.monotonic,
                         sleep=time.sleep):
    """Poll fetch() -> Application dict until done, a terminal failure or the timeout. Returns the summary
    with 'attempts' and 'elapsed'; raises WaitError otherwise."""
    start = clock()
    attempts = 0
    while True:
        attempts += 1
        summary = summarize(fetch(), wanted)
        summary["attempts"] = attempts
        summary["elapsed"] = round(clock() - start, 3)
        if summary["done"]:
            return summary
        reason = terminal_failure(summary, fail_on_degraded)
        if reason:
            raise WaitError("Application did not deploy {0}: {1}; {2}".format(wanted, reason, describe(summary)), summary)
        if clock() - start + interval > timeout:
            raise WaitError("timed out after {0}s waiting for revision {1} Synced and Healthy; last seen {2}".format(
                timeout, wanted, describe(summary)), summary)
        sleep(interval)


def refresh_patch(mode):
    """The merge patch that asks Argo CD to compare with git now instead of at its next poll (~3 min)."""
    return {"metadata": {"annotations": {REFRESH_ANNOTATION: mode}}}
