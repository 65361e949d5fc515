"""Rollback through real ansible-playbook and real git, for what its molecule scenario does not show
(molecule/rollback reverts a bad deploy, proves a second rollback changes nothing, and checks the remote
restores the good tree): here the verify role fails against a broken deploy (the real app's code with the wrong
version, tests/doubles/faulty_app.py) and the failure names its checks and the revert; check mode reverts
nothing; a passed verification reverts nothing; no commit to revert is named; the records say what is deployed."""
import json
import subprocess

import pytest

from doubles.ansible_run import ROOT, playbook_env, run_playbook
from doubles.faulty_app import FaultyApp

VERSION = (ROOT / "app" / "VERSION").read_text().strip()
OVERLAY = "apps/app1/overlays/dev/kustomization.yaml"


def git(cwd, *args):
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def gitops(tmp_path):
    """A bare remote with two deploys pushed (good, then bad) and the pipeline's clone of it."""
    remote, clone = tmp_path / "gitops.git", tmp_path / "work" / "gitops"
    git(tmp_path, "init", "--quiet", "--bare", "-b", "main", str(remote))
    git(tmp_path, "clone", "--quiet", str(remote), str(clone))
    git(clone, "config", "user.name", "test")
    git(clone, "config", "user.email", "test@localhost")
    (clone / OVERLAY).parent.mkdir(parents=True)
    commits = []
    for tag in ("1.0.0-good", "1.0.1-bad"):
        (clone / OVERLAY).write_text(f"images:\n  - name: app1\n    newTag: {tag}\n")
        git(clone, "add", "-A")
        git(clone, "commit", "--quiet", "-m", f"app1 dev: deploy {tag}")
        commits.append(git(clone, "rev-parse", "HEAD"))
    git(clone, "push", "--quiet", "origin", "main")
    return {"remote": remote, "clone": clone, "good": commits[0], "bad": commits[1]}


PLAYBOOK = """
- name: Verify the deploy, roll it back when verification fails
  hosts: localhost
  gather_facts: false
  roles:
    - role: verify
      vars:
        verify_fail_on_error: false
    - role: rollback
"""


def run(tmp_path, gitops, app, *args, **extra):
    host_vars = {
        "ansible_connection": "local", "kindling_env": "dev", "app_name": "app1", "app_namespace": "app1-dev",
        "app_replicas": 1, "kindling_work_dir": str(tmp_path / "work"),
        "verify_version_file": str(ROOT / "app" / "VERSION"), "verify_pods": False, "verify_ingress": False,
        "verify_direct_url": app.base_url, "verify_direct_metrics_url": app.metrics_url, "verify_attempts": 1,
    }
    host_vars.update(extra)
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": {"localhost": host_vars}}}))
    playbook = tmp_path / "pipeline.yml"
    playbook.write_text(PLAYBOOK)
    return run_playbook(playbook, playbook_env(tmp_path, fakes=False, GITOPS_TOKEN="s3cr3t-token-never-stored"),
                        *args, inventory=inventory)


def record_the_bad_deploy(tmp_path, gitops):
    """What deploy.yml records before verify.yml runs: the rollback reverts the commit deployed.json names."""
    release = tmp_path / "work" / "release"
    release.mkdir(parents=True, exist_ok=True)
    (release / "deployed.json").write_text(json.dumps({"env": "dev", "commit": gitops["bad"], "made_by_deploy": True}))


@pytest.fixture
def broken_app():
    app = FaultyApp("wrong_version", VERSION).start()
    yield app
    app.stop()


def test_failed_verification_reverts_and_pushes_and_reports(tmp_path, gitops, broken_app):
    record_the_bad_deploy(tmp_path, gitops)
    result = run(tmp_path, gitops, broken_app)
    assert result.rc != 0
    name, failure = result.failure()
    assert name.endswith("Fail the run, naming the failed checks and the revert"), failure["msg"]
    remote_head = git(gitops["remote"], "rev-parse", "main")
    assert remote_head != gitops["bad"]
    # The revert restores the good deploy's tree exactly, and says which commit it reverts.
    assert git(gitops["remote"], "rev-parse", "main^{tree}") == git(gitops["remote"], "rev-parse", gitops["good"] + "^{tree}")
    assert f"This reverts commit {gitops['bad']}." in git(gitops["remote"], "log", "-1", "--format=%B", "main")
    assert failure["msg"].startswith(
        f"verification of app1 dev failed (direct /: version 0.0.1-wrong != expected {VERSION}; "
        f'direct metrics: missing app_build_info{{version="{VERSION}"}}); '
        f"reverted {gitops['bad']} with {remote_head} (pushed)")
    report = json.loads((tmp_path / "work" / "verify" / "rollback.json").read_text())
    assert report["revert_commit"] == remote_head and report["pushed"] is True
    assert "s3cr3t-token" not in (gitops["clone"] / ".git" / "config").read_text()
    assert "s3cr3t-token" not in result.stderr + json.dumps(result.data)


def test_check_mode_reverts_nothing(tmp_path, gitops, broken_app):
    record_the_bad_deploy(tmp_path, gitops)
    result = run(tmp_path, gitops, broken_app, "--check", rollback_fail=False)
    assert result.rc == 0, result.failure()
    assert result.result("Revert the deploy's GitOps commit and push the revert")["changed"] is True
    assert git(gitops["remote"], "rev-parse", "main") == gitops["bad"]
    assert git(gitops["clone"], "rev-parse", "HEAD") == gitops["bad"]


def test_passed_verification_reverts_nothing(tmp_path, gitops):
    record_the_bad_deploy(tmp_path, gitops)
    healthy = FaultyApp(None, VERSION).start()
    try:
        result = run(tmp_path, gitops, healthy)
    finally:
        healthy.stop()
    assert result.rc == 0, result.failure()
    assert result.result("Revert the deploy's GitOps commit and push the revert").get("skipped") is True
    assert not (tmp_path / "work" / "verify" / "rollback.json").exists()
    assert git(gitops["remote"], "rev-parse", "main") == gitops["bad"]


def test_no_commit_to_revert_fails_naming_the_variable(tmp_path, gitops, broken_app):
    result = run(tmp_path, gitops, broken_app)
    name, failure = result.failure()
    assert name.endswith("Check the commit and the clone")
    assert failure["msg"].startswith("rollback_commit: ") and "release/deployed.json records none" in failure["msg"]
    assert git(gitops["remote"], "rev-parse", "main") == gitops["bad"]


def test_records_after_a_rollback_say_what_is_deployed_now(tmp_path, gitops, broken_app):
    """deployed.json names the revert and the release it restores; verified.json keeps its own report."""
    release = tmp_path / "work" / "release"
    release.mkdir(parents=True)
    image = {"registry": "localhost:5001", "repository": "app1", "digest": "sha256:" + "1" * 64}
    good = dict(image, tag="1.0.0-good", ref="localhost:5001/app1@sha256:" + "1" * 64)
    bad = dict(image, tag="1.0.1-bad", digest="sha256:" + "2" * 64, ref="localhost:5001/app1@sha256:" + "2" * 64)
    (release / "verified-report.json").write_text('{"ok": true}\n')
    verified = {"env": "dev", "commit": gitops["good"], "image": good, "verified": True,
                "report_path": str(release / "verified-report.json")}
    (release / "verified.json").write_text(json.dumps(verified))
    (release / "deployed.json").write_text(json.dumps({"env": "dev", "commit": gitops["bad"], "image": bad,
                                                       "made_by_deploy": True}))

    result = run(tmp_path, gitops, broken_app)
    assert result.rc != 0 and result.failure()[0].endswith("Fail the run, naming the failed checks and the revert")
    revert = git(gitops["remote"], "rev-parse", "main")
    deployed = json.loads((release / "deployed.json").read_text())
    assert deployed == {
        "env": "dev", "commit": revert, "image": good, "made_by_deploy": False,
        "restores": {"commit": gitops["good"], "verified": True},
        "reverted": {"commit": gitops["bad"], "image": bad},
        "report_path": str(release / "deployed-report.json"),
    }
    assert json.loads((release / "deployed-report.json").read_text())["ok"] is False
    assert json.loads((release / "verified.json").read_text()) == verified
    assert json.loads((release / "verified-report.json").read_text()) == {"ok": True}


def commit_on_top(gitops, path, text, message, revert=None):
    """A commit pushed on top of the bad deploy (another environment's deploy, or a revert), pulled into the clone."""
    clone = gitops["clone"]
    if revert:
        git(clone, "revert", "--no-edit", revert)
    else:
        (clone / path).parent.mkdir(parents=True, exist_ok=True)
        (clone / path).write_text(text)
        git(clone, "add", "-A")
        git(clone, "commit", "--quiet", "-m", message)
    git(clone, "push", "--quiet", "origin", "main")
    return git(clone, "rev-parse", "HEAD")


QA_OVERLAY = "apps/app1/overlays/qa/kustomization.yaml"


@pytest.mark.parametrize("case", ["another env's commit, recorded by a run that committed nothing",
                                  "the revert of a rollback", "another env's record",
                                  "named: another env's commit", "named: a revert"])
def test_a_rollback_reverts_nothing_but_this_envs_own_deploy(tmp_path, gitops, broken_app, case):
    """Only a commit dev's deploy made and recorded as such, changing dev's overlay only, is ever reverted: a failed
    re-verification must not revert qa's promotion, nor the previous rollback (which redeploys the failed image)."""
    if "revert" in case:
        head = commit_on_top(gitops, None, None, None, revert=gitops["bad"])
        record = {"env": "dev", "commit": head, "made_by_deploy": False, "reverted": {"commit": gitops["bad"]}}
        why = f"release/deployed.json records {head}, the revert of a rollback (of {gitops['bad']})"
        refused = f"revert: {head} is itself a revert (of {gitops['bad']})"
    elif "commit" in case:
        head = commit_on_top(gitops, QA_OVERLAY, "images: []\n", "app1 qa: deploy")
        record = {"env": "dev", "commit": head, "made_by_deploy": False}
        why = (f"release/deployed.json records {head}, which the deploy of dev did not make (a deploy that committed "
               "nothing records the branch's head, e.g. another environment's commit)")
        refused = f"revert: {head} changes {QA_OVERLAY}, outside apps/app1/overlays/dev"
    else:
        head = gitops["bad"]
        record = {"env": "qa", "commit": head, "made_by_deploy": True}
        why = f"release/deployed.json records {head} for qa, not for dev"
    release = tmp_path / "work" / "release"
    release.mkdir(parents=True)
    (release / "deployed.json").write_text(json.dumps(record))

    result = run(tmp_path, gitops, broken_app, **({"rollback_commit": head} if case.startswith("named") else {}))
    name, failure = result.failure()
    if case.startswith("named"):
        assert name.endswith("Revert the deploy's GitOps commit and push the revert")
        assert failure["msg"].startswith(refused), failure["msg"]
    else:
        assert name.endswith("Refuse a commit this environment's deploy did not make")
        assert failure["msg"] == f"rollback of app1 dev refused: {why}; nothing was reverted", failure["msg"]
    assert git(gitops["remote"], "rev-parse", "main") == head
    assert json.loads((release / "deployed.json").read_text()) == record
