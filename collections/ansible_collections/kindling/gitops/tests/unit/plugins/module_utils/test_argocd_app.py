# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""argocd_app_wait's logic: what counts as deployed, when to stop early, the timeout, with a fake clock."""

from __future__ import annotations

import pytest

from ansible_collections.kindling.gitops.plugins.module_utils import argocd_app as aa

NEW = "9f2c1e0d5b7a4c3e2f1a0b9c8d7e6f5a4b3c2d1e"
OLD = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"


def app(sync="Synced", health="Healthy", revision=NEW, phase="Succeeded", resources=None, message="",
        operation_revision=None, asked_revision=None):
    """An Application status; the operation ran `operation_revision` (default: the synced revision)."""
    operation = {"phase": phase, "message": message}
    if asked_revision is not None:
        operation["operation"] = {"sync": {"revision": asked_revision}}
    if operation_revision is None and asked_revision is None:
        operation_revision = revision
    if operation_revision:
        operation["syncResult"] = {"revision": operation_revision}
    return {"status": {"sync": {"status": sync, "revision": revision}, "health": {"status": health},
                       "operationState": operation, "resources": resources or []}}


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def wait(states, timeout=30, interval=5, **kwargs):
    clock = Clock()
    states = list(states)
    return aa.wait_for_application(lambda: states.pop(0) if len(states) > 1 else states[0], NEW, timeout, interval,
                                   clock=clock, sleep=clock.sleep, **kwargs)


def test_done_needs_revision_sync_and_health_together():
    assert aa.summarize(app(), NEW)["done"]
    assert not aa.summarize(app(revision=OLD), NEW)["done"]
    assert not aa.summarize(app(sync="OutOfSync"), NEW)["done"]
    assert not aa.summarize(app(health="Progressing"), NEW)["done"]


def test_abbreviated_revision_matches_but_short_or_empty_does_not():
    assert aa.revision_matches(NEW, NEW[:7])
    assert not aa.revision_matches(NEW, NEW[:6])
    assert not aa.revision_matches("", NEW)


def test_progressing_then_healthy_returns_after_the_right_number_of_looks():
    result = wait([app(revision=OLD), app(health="Progressing"), app()])
    assert result["done"] and result["attempts"] == 3 and result["elapsed"] == 10


def test_stale_revision_times_out_within_the_bound():
    with pytest.raises(aa.WaitError) as raised:
        wait([app(revision=OLD)], timeout=12, interval=5)
    assert raised.value.result["attempts"] == 3 and raised.value.result["elapsed"] <= 12
    assert "timed out after 12s" in str(raised.value) and OLD in str(raised.value)


def test_degraded_at_the_wanted_revision_stops_early_with_resource_messages():
    degraded = app(health="Degraded", resources=[
        {"kind": "Deployment", "name": "app1", "namespace": "app1-dev", "status": "Synced",
         "health": {"status": "Degraded", "message": "exceeded its progress deadline"}},
        {"kind": "Service", "name": "app1", "namespace": "app1-dev", "status": "Synced", "health": {"status": "Healthy"}}])
    with pytest.raises(aa.WaitError) as raised:
        wait([app(health="Progressing"), degraded])
    assert raised.value.result["attempts"] == 2
    assert raised.value.result["unhealthy"] == [{"kind": "Deployment", "namespace": "app1-dev", "name": "app1",
                                                 "sync": "Synced", "health": "Degraded",
                                                 "message": "exceeded its progress deadline"}]
    assert "Deployment/app1: Degraded exceeded its progress deadline" in str(raised.value)


def test_degraded_may_be_waited_out_when_asked():
    result = wait([app(health="Degraded"), app()], fail_on_degraded=False)
    assert result["done"]


def test_failed_operation_for_an_older_revision_does_not_stop_the_wait():
    result = wait([app(revision=OLD, phase="Failed", sync="OutOfSync"), app()])
    assert result["done"]


def test_failed_operation_stops_the_wait():
    with pytest.raises(aa.WaitError, match="sync operation Failed: bad manifest"):
        wait([app(phase="Failed", sync="OutOfSync", message="bad manifest")])


def test_stale_failure_of_an_older_revision_after_a_refresh_is_not_blamed_on_the_new_one():
    """After a refresh status.sync.revision is already the new commit while operationState still describes the
    older commit's failed sync: that failure is not the new commit's; the new operation then runs and succeeds."""
    stale = app(revision=NEW, sync="OutOfSync", phase="Failed", message="old manifest invalid", operation_revision=OLD)
    assert aa.summarize(stale, NEW)["operation_revision"] == OLD
    assert aa.terminal_failure(aa.summarize(stale, NEW), True) is None
    running = app(revision=NEW, sync="OutOfSync", health="Progressing", phase="Running", operation_revision="",
                  asked_revision=NEW)
    result = wait([stale, running, app(health="Progressing"), app()])
    assert result["done"] and result["attempts"] == 4 and result["operation_revision"] == NEW


@pytest.mark.parametrize("phase", ["Failed", "Error"])
def test_failure_of_the_wanted_revision_stops_even_before_the_operation_has_a_result(phase):
    """operation.sync.revision names the revision asked for until syncResult is written."""
    failed = app(revision=OLD, sync="OutOfSync", phase=phase, message="ComparisonError", operation_revision="",
                 asked_revision=NEW)
    with pytest.raises(aa.WaitError, match="sync operation {0}: ComparisonError".format(phase)) as raised:
        wait([failed])
    assert raised.value.result["attempts"] == 1 and raised.value.result["operation_revision_matches"]


def test_failed_operation_naming_no_revision_is_waited_out_to_the_timeout():
    with pytest.raises(aa.WaitError, match="timed out after 12s"):
        wait([app(phase="Failed", sync="OutOfSync", operation_revision="")], timeout=12)


@pytest.mark.parametrize("options, field", [
    ({"revision": "main"}, "revision:"), ({"revision": NEW.upper()}, "revision:"),
    ({"revision": NEW[:6]}, "revision:"), ({"revision": NEW + "a"}, "revision:"), ({"revision": "a" * 64}, "revision:"),
    ({"timeout": 0}, "timeout:"), ({"interval": 0}, "interval:"), ({"interval": 100}, "interval:"),
    ({"name": "App1"}, "name:"), ({"name": ""}, "name:"), ({"namespace": "Argo_CD"}, "namespace:"),
    ({"namespace": "argo.cd"}, "namespace:"),
])
def test_options_are_checked_naming_the_field(options, field):
    params = {"name": "app1-dev", "namespace": "argocd", "revision": NEW, "timeout": 60, "interval": 5}
    params.update(options)
    with pytest.raises(ValueError) as raised:
        aa.validate_options(params)
    assert str(raised.value).startswith(field)


@pytest.mark.parametrize("revision", [NEW, NEW[:7]])
def test_good_options_pass(revision):
    aa.validate_options({"name": "app1-dev", "namespace": "argocd", "revision": revision, "timeout": 60, "interval": 5})


def test_refresh_patch_is_the_argo_annotation():
    assert aa.refresh_patch("hard") == {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "hard"}}}
