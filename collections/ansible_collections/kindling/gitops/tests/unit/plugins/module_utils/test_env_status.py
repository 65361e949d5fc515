# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""env_status: one row per environment from crafted records, the records' cluster against the current one, and
what a teardown of one environment removes and keeps."""

from __future__ import annotations

import os

from ansible_collections.kindling.gitops.plugins.module_utils import env_status as es
from ansible_collections.kindling.gitops.plugins.module_utils import release_record as rr

DIGEST = "sha256:" + "d" * 64
COMMIT = "c" * 40
OLD, NEW = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
ON_CLUSTER = {"asked": True, "uid": NEW, "error": ""}
HEALTHY = {"status": {"sync": {"status": "Synced", "revision": COMMIT}, "health": {"status": "Healthy"}}}


def records(tmp_path, env, cluster=None, verified=True, reverted=False):
    folder = str(tmp_path / env / "release")
    deployed = {"env": env, "image": {"digest": DIGEST}, "commit": COMMIT}
    if cluster is not None:
        deployed["cluster"] = cluster
    if reverted:
        deployed["reverted"] = {"commit": COMMIT}
    rr.write(folder, "deployed", deployed)
    if verified:
        rr.write(folder, "verified", dict(deployed, verified=True))
    return str(tmp_path / env)


def test_rows_follow_the_promotion_order_then_other_names():
    assert es.ordered(["prod", "dev", "zeta", "qa", "dev", ""]) == ["dev", "qa", "prod", "zeta"]


def test_a_row_says_what_is_deployed_what_argo_cd_reports_and_the_verification(tmp_path):
    work_dir = records(tmp_path, "dev", cluster=NEW)
    row = es.row("dev", work_dir, es.read_records(work_dir), ON_CLUSTER, HEALTHY)
    assert row["deployed"] == "sha256:dddddddddddd ccccccc"
    assert row["argocd"] == "Synced, Healthy, cccccccccccc"
    assert row["verification"].startswith("passed ccccccc at 20")
    assert row["record_cluster"] == "current"
    assert row["present"] and row["application_present"]


def test_records_of_a_re_created_cluster_or_without_one_are_not_the_current_cluster_s(tmp_path):
    old = records(tmp_path, "qa", cluster=OLD)
    unrecorded = records(tmp_path, "prod")
    assert es.row("qa", old, es.read_records(old), ON_CLUSTER, None)["record_cluster"] == "another cluster (re-verify)"
    assert es.row("prod", unrecorded, es.read_records(unrecorded), ON_CLUSTER, None)["record_cluster"] \
        == "not recorded (re-verify)"


def test_the_verified_record_says_which_cluster_even_after_a_rollback_rewrote_the_deployed_one(tmp_path):
    work_dir = records(tmp_path, "dev", cluster=NEW)
    # The rollback role's deployed record names no cluster; the verification it restores is this cluster's.
    rr.write(str(tmp_path / "dev" / "release"), "deployed", {"env": "dev", "commit": "e" * 40, "reverted": {}})
    assert es.row("dev", work_dir, es.read_records(work_dir), ON_CLUSTER, None)["record_cluster"] == "current"


def test_without_a_cluster_the_argo_cd_column_says_so_and_nothing_is_compared(tmp_path):
    work_dir = records(tmp_path, "dev")
    row = es.row("dev", work_dir, es.read_records(work_dir), {"asked": False, "uid": "", "error": ""}, None)
    assert row["argocd"] == es.NO_CLUSTER and row["record_cluster"] == es.NO_CLUSTER


def test_an_environment_never_deployed_and_an_unreachable_cluster(tmp_path):
    missing = str(tmp_path / "prod")
    row = es.row("prod", missing, es.read_records(missing), {"asked": True, "uid": "", "error": "refused"}, None)
    assert (row["present"], row["deployed"], row["argocd"], row["verification"], row["record_cluster"]) == (
        False, "nothing", "unreachable", "never", "-")


def test_a_rolled_back_release_shows_the_failed_verification(tmp_path):
    work_dir = records(tmp_path, "dev", verified=False, reverted=True)
    assert es.read_records(work_dir)["failed_at"]
    assert es.row("dev", work_dir, es.read_records(work_dir), ON_CLUSTER, None)["verification"].startswith("FAILED at ")


def test_the_table_has_a_header_and_one_aligned_line_per_row(tmp_path):
    rows = [es.row(env, str(tmp_path / env), es.read_records(str(tmp_path / env)), ON_CLUSTER, None)
            for env in ("dev", "prod")]
    lines = es.table(rows)
    assert lines[0].startswith("ENV ") and [line.split()[0] for line in lines[1:]] == ["dev", "prod"]
    assert lines[1].index("nothing") == lines[2].index("nothing")


def test_the_cluster_line_names_the_identity_or_why_there_is_none():
    assert es.cluster_line(ON_CLUSTER) == "cluster: kube-system uid " + NEW
    assert es.cluster_line({"asked": False, "uid": "", "error": ""}).startswith("cluster: no cluster")
    assert es.cluster_line({"asked": True, "uid": "", "error": "refused"}) == "cluster: unreachable (refused)"


def plan_rows(tmp_path, alive):
    rows = []
    for env in ("dev", "qa", "prod"):
        if env in alive:
            os.makedirs(str(tmp_path / env))
        rows.append(es.row(env, str(tmp_path / env), es.read_records(str(tmp_path / env)), ON_CLUSTER,
                           HEALTHY if env in alive else None))
    return rows


SHARED = ["kind cluster kindling", "registry kind-registry", "git server kindling-git"]
MINE = ["Application argocd/app1-dev", "namespace app1-dev"]


def test_teardown_of_one_environment_keeps_what_the_others_share(tmp_path):
    plan = es.teardown_plan("dev", plan_rows(tmp_path, ["dev", "qa"]), MINE, SHARED, False, True)
    assert not plan["shared"] and plan["others"] == ["qa"] and plan["keep"] == SHARED
    assert plan["remove"] == MINE + ["work dir %s" % (tmp_path / "dev")]
    assert plan["message"].endswith("(qa still in use (work dir or Application); -e teardown_cluster=true removes them)")


def test_teardown_of_the_last_environment_or_when_asked_removes_the_shared_cluster(tmp_path):
    last = es.teardown_plan("dev", plan_rows(tmp_path, ["dev"]), MINE, SHARED, False, True)
    assert last["shared"] and last["remove"][-3:] == SHARED and "(no other environment is left)" in last["message"]
    asked = es.teardown_plan("dev", plan_rows(tmp_path / "asked", ["dev", "qa", "prod"]), MINE, SHARED, True, True)
    assert asked["shared"] and not asked["keep"] and "(teardown_cluster=true)" in asked["message"]


def test_teardown_without_an_answering_cluster_touches_nothing_in_it(tmp_path):
    plan = es.teardown_plan("qa", plan_rows(tmp_path, ["qa", "prod"]), MINE, SHARED, False, False)
    assert not plan["env_cluster"] and plan["keep"] == SHARED + MINE
    assert "the cluster does not answer" in plan["message"]
