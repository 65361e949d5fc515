# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every environment at a glance, and what a teardown of one of them may remove: the logic of
kindling.gitops.env_status, importable without Ansible or a cluster.

- The cluster's identity is the uid of its kube-system namespace: the API server gives every object a random
  uid when it is created, and kube-system is created once per cluster, so a re-created cluster (same name, same
  kubeconfig) has another one. A release record made on a cluster keeps that uid (key `cluster`); a record whose
  uid is not the current cluster's stands for a deployment and a verification that are gone with that cluster.
- Without a cluster (the pipeline run with kindling_no_cluster) the identity is empty: records carry no `cluster`
  key and an unchanged release keeps its verification as it did before identities existed.
- An environment is still in use while it has a work dir or an Application: a teardown of another one then keeps
  what they share (the kind cluster, the registry, the git server) unless asked to remove it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os

from ansible_collections.kindling.gitops.plugins.module_utils import release_record

# Where the identity is read: the namespace every Kubernetes API server creates when it starts.
IDENTITY_NAMESPACE = "kube-system"
NO_CLUSTER = "no cluster"
# The promotion chain's order (dev -> qa -> prod) for the rows; other names follow, sorted.
ROW_ORDER = ("dev", "qa", "prod")
COLUMNS = (("env", "ENV"), ("deployed", "DEPLOYED (digest, commit)"), ("argocd", "ARGO CD (sync, health, revision)"),
           ("verification", "LAST VERIFICATION"), ("record_cluster", "RECORDS' CLUSTER"))


def ordered(environments):
    unique = []
    for name in environments:
        if name and name not in unique:
            unique.append(name)
    known = [name for name in ROW_ORDER if name in unique]
    return known + sorted(name for name in unique if name not in ROW_ORDER)


def short(value, length=12):
    value = value or ""
    if value.startswith("sha256:"):
        return "sha256:" + value[7:7 + length]
    return value[:length]


def _mtime(*paths):
    times = [os.stat(path).st_mtime for path in paths if os.path.exists(path)]
    if not times:
        return ""
    stamp = datetime.datetime.fromtimestamp(max(times), tz=datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def read_records(work_dir):
    """The environment's records and when its last verification happened (the record's or its report copy's time:
    a re-verification of the same release refreshes the copy only)."""
    folder = os.path.join(work_dir, "release")
    deployed = release_record.read(folder, "deployed")
    verified = release_record.read(folder, "verified")
    return dict(
        present=os.path.isdir(work_dir), deployed=deployed, verified=verified,
        verified_at=_mtime(release_record.record_path(folder, "verified"),
                           release_record.report_copy_path(folder, "verified")) if verified else "",
        # A failed verification leaves no verified record: the rollback's deployed record names what it reverted.
        failed_at=_mtime(release_record.record_path(folder, "deployed"),
                         release_record.report_copy_path(folder, "deployed")) if deployed.get("reverted") else "")


def argocd_columns(cluster, application):
    """cluster: dict(asked, uid, error); application: the Application's dict, None when absent, or a str saying why
    it could not be read."""
    if not cluster.get("asked"):
        return NO_CLUSTER
    if cluster.get("error"):
        return "unreachable"
    if application is None:
        return "no Application"
    if not isinstance(application, dict):
        return application
    status = application.get("status") or {}
    sync = status.get("sync") or {}
    return "%s, %s, %s" % (sync.get("status", "Unknown"), (status.get("health") or {}).get("status", "Unknown"),
                           short(sync.get("revision", "")) or "-")


def record_cluster(cluster, records):
    """Whether the records were made on the cluster running now: the verified record's cluster, which decides whether
    its verification is kept (a rollback rewrites the deployed record without one), else the deployed record's."""
    record = records["verified"] or records["deployed"]
    if not record:
        return "-"
    if not cluster.get("asked"):
        return NO_CLUSTER
    if cluster.get("error"):
        return "unknown (cluster unreachable)"
    made_on = record.get("cluster", "")
    if made_on == cluster["uid"]:
        return "current"
    if not made_on:
        return "not recorded (re-verify)"
    return "another cluster (re-verify)"


def verification(records):
    verified, failed_at = records["verified"], records["failed_at"]
    passed = ("passed %s at %s" % (short(verified.get("commit", ""), 7), records["verified_at"])
              if verified.get("verified") else "")
    if failed_at and (not passed or failed_at >= records["verified_at"]):
        return "FAILED at %s, reverted" % failed_at
    return passed or "never"


def row(env, work_dir, records, cluster, application):
    deployed = records["deployed"]
    return dict(
        env=env, work_dir=work_dir, present=records["present"],
        application_present=isinstance(application, dict),
        deployed=("%s %s" % (short((deployed.get("image") or {}).get("digest", "")) or "-",
                             short(deployed.get("commit", ""), 7) or "-")) if deployed else "nothing",
        digest=(deployed.get("image") or {}).get("digest", ""), commit=deployed.get("commit", ""),
        argocd=argocd_columns(cluster, application), verification=verification(records),
        record_cluster=record_cluster(cluster, records))


def table(rows):
    """The rows as aligned text lines, a header first."""
    cells = [[title for _key, title in COLUMNS]] + [[str(r[key]) for key, _title in COLUMNS] for r in rows]
    widths = [max(len(line[index]) for line in cells) for index in range(len(COLUMNS))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in cells]


def cluster_line(cluster):
    """The cluster the rows were compared with."""
    if not cluster.get("asked"):
        return "cluster: %s (kindling_no_cluster): records carry no cluster" % NO_CLUSTER
    if cluster.get("error"):
        return "cluster: unreachable (%s)" % cluster["error"]
    return "cluster: %s uid %s" % (IDENTITY_NAMESPACE, cluster["uid"])


def teardown_plan(env, rows, env_resources, shared_resources, teardown_cluster, cluster_reachable):
    """What a teardown of env removes and keeps, and the sentence saying so.

    env_resources: this environment's things in the cluster (Application, namespace), removed when the cluster
    answers; its work dir goes in any case. shared_resources: what every environment shares (kind cluster,
    registry, git server): removed with teardown_cluster, or when no other environment has a work dir or an
    Application any more."""
    others = [r["env"] for r in rows if r["env"] != env and (r["present"] or r["application_present"])]
    this = [r for r in rows if r["env"] == env]
    remove = list(env_resources) if cluster_reachable else []
    remove.append("work dir %s" % (this[0]["work_dir"] if this else env))
    keep, why = [], ""
    shared = bool(teardown_cluster or not others)
    if shared:
        remove.extend(shared_resources)
        why = ("teardown_cluster=true" if teardown_cluster else "no other environment is left") if shared_resources else ""
    else:
        keep.extend(shared_resources)
        why = ("%s still in use (work dir or Application); -e teardown_cluster=true removes them"
               % ", ".join(others)) if shared_resources else ""
    if not cluster_reachable and env_resources:
        keep.extend(env_resources)
        why = "; ".join(filter(None, [why, "the cluster does not answer, so nothing in it was touched"]))
    message = "teardown %s: removed %s" % (env, ", ".join(remove))
    if keep:
        message += "; kept %s" % ", ".join(keep)
    if why:
        message += " (%s)" % why
    return dict(shared=shared, others=others, remove=remove, keep=keep, env_cluster=cluster_reachable,
                message=message)
