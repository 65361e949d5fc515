"""Faults injected into the whole cluster-less pipeline (site.yml --skip-tags bootstrap,argocd with
playbooks/vars/without_cluster.yml: the preview is kept running on loopback for verify), with the real Docker
engine, a real registry, a bare git remote and podman (tests/support/pipeline_run.py).

One pipeline per module (whole runs are slow here): the first test makes it verified; every test then injects
one fault, checks the exit code, the line the user sees, what is left behind (no preview pod after a failed
run, records that say what is deployed), and ends with a normal run that recovers, adding no duplicate commit.
docs/playbooks.md's fault table is written from what these tests observe."""
import json
import os
import re
import signal
import subprocess
import threading
import time

import pytest

from support.pipeline_run import PipelineRun, prepare_wheelhouse
from support.registry import Registry, registry_binary

# Whole runs take 1-5 min each on the shared 2-core machine; a test here runs up to three.
pytestmark = [pytest.mark.docker, pytest.mark.timeout(2400)]

OVERLAY = "apps/app1/overlays/dev/kustomization.yaml"


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, base_image, podman):
    if registry_binary() is None:
        pytest.skip("docker-registry is not installed (apt-get install docker-registry)")
    try:
        wheels = prepare_wheelhouse(tmp_path_factory.mktemp("wheelhouse"))
    except subprocess.CalledProcessError as error:
        pytest.skip(f"app/build-wheelhouse could not fetch the app's wheels from PyPI: {error.stderr[-500:]}")
    tmp = tmp_path_factory.mktemp("faults")
    registry = Registry(tmp / "registry").start()
    run = PipelineRun(tmp / "pipeline", registry, base_image, wheels)
    yield run
    run.cleanup()
    registry.stop()


def git(*args, cwd=None):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def remote_commits(run: PipelineRun) -> list[str]:
    return git("--git-dir", str(run.gitops_remote), "rev-list", "main").split()


def preview_pods(run: PipelineRun) -> list[str]:
    out = subprocess.run(["podman", "pod", "ps", "--format", "{{.Name}}"], capture_output=True, text=True).stdout
    return [name for name in out.split() if name.startswith(run.name_prefix)]


def record(run: PipelineRun, name: str) -> dict:
    path = run.work_dir / "release" / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def failures(result) -> list[str]:
    """Each `fatal:` result of the run with its (YAML) body, whitespace folded to single spaces."""
    blocks, current = [], None
    for line in result.stdout.splitlines():
        if line.startswith("fatal:"):
            current = [line]
            blocks.append(current)
        elif current is not None and line.startswith(" "):
            current.append(line)
        else:
            current = None
    return [" ".join(" ".join(block).split()) for block in blocks]


def summary_changed(result) -> list[str]:
    """The summary's `changed` list (the last summary task: site.yml's stages skip theirs)."""
    block = result.stdout.rsplit("TASK [Summary of the run]", 1)[1].split("PLAY RECAP", 1)[0]
    changed = re.split(r"\n\s+digest:", block.split("changed:", 1)[1], maxsplit=1)[0]
    return [line.strip()[2:].strip("'\"") for line in changed.splitlines() if line.strip().startswith("- ")]


def recover(run: PipelineRun, twice: bool = False):
    """A normal run after a fault: passes and leaves no preview; with twice, another run after it changes
    nothing and adds no commit (whole runs are slow here: the next test's first run checks the rest)."""
    result = run.run()
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert preview_pods(run) == []
    if twice:
        commits = remote_commits(run)
        again = run.run()
        assert again.returncode == 0 and again.recap["changed"] == 0, again.changed_tasks()
        assert remote_commits(run) == commits, "a run after the recovery must add no commit"
    return result


def test_a_passed_run_verifies_and_leaves_no_preview(pipeline):
    result = pipeline.run()
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert record(pipeline, "verified")["verified"] is True
    assert preview_pods(pipeline) == []


def test_unhealthy_in_the_preview_fails_before_committing_and_tears_the_preview_down(pipeline):
    commits = remote_commits(pipeline)
    # A release that differs (two replicas) whose preview answers with another version than expected.
    result = pipeline.run(app_replicas=2, preview_expected_version="9.9.9")
    assert result.returncode == 2
    assert any("preview of app1 dev failed" in failure for failure in failures(result)), failures(result)
    assert preview_pods(pipeline) == [], "a failed preview must not stay up"
    assert remote_commits(pipeline) == commits, "nothing is committed after a failed preview"
    recover(pipeline)


def test_unhealthy_after_deploy_rolls_back_records_the_revert_and_tears_the_preview_down(pipeline):
    verified_before = record(pipeline, "verified")
    verified_report = json.loads(open(verified_before["report_path"]).read())
    assert verified_report["ok"] is True
    commits = remote_commits(pipeline)

    result = pipeline.run(app_replicas=2, verify_expected_version="9.9.9")
    assert result.returncode == 2
    (fatal,) = [failure for failure in failures(result) if "verification of app1 dev failed" in failure]
    after = remote_commits(pipeline)
    deployed_commit, revert_commit = after[1], after[0]
    assert after[2:] == commits, "exactly the deploy and its revert are added"
    assert f"reverted {deployed_commit} with {revert_commit} (pushed)" in fatal
    assert preview_pods(pipeline) == [], "a failed verification must not leave the preview up (even after a rollback)"

    # The records say what is deployed now: the revert, restoring the verified release.
    deployed = record(pipeline, "deployed")
    assert deployed["commit"] == revert_commit
    assert deployed["restores"] == {"commit": verified_before["commit"], "verified": True}
    assert deployed["image"] == verified_before["image"]
    assert deployed["reverted"]["commit"] == deployed_commit
    assert json.loads(open(deployed["report_path"]).read())["ok"] is False
    # verified.json still vouches for the release it verified, with its own copy of a passed report.
    verified_after = record(pipeline, "verified")
    assert verified_after == verified_before
    assert json.loads(open(verified_after["report_path"]).read()) == verified_report
    assert verified_after["report_path"] != deployed["report_path"]

    # The next normal run verifies what the revert deploys, committing nothing.
    recovered = recover(pipeline, twice=True)
    assert remote_commits(pipeline) == after, "the recovery verifies the revert; it commits nothing"
    assert record(pipeline, "verified")["commit"] == revert_commit
    assert summary_changed(recovered) == ["release records written: deployed.json, verified.json"]


def test_summary_names_the_records_a_run_rewrites(pipeline):
    for name in ("image", "verified"):
        (pipeline.work_dir / "release" / f"{name}.json").unlink()
    result = pipeline.run()
    assert result.returncode == 0, result.stdout[-4000:]
    changed = summary_changed(result)
    assert changed == ["release records written: image.json, verified.json"], changed
    assert result.recap["changed"] == len(result.changed_tasks()) == 2, result.changed_tasks()
    assert preview_pods(pipeline) == []


def test_hand_edit_on_the_remote_is_undone_and_said(pipeline, tmp_path):
    other = tmp_path / "other"
    git("clone", "-q", str(pipeline.gitops_remote), str(other))
    overlay = other / OVERLAY
    overlay.write_text(overlay.read_text().replace("count: 1", "count: 5"))
    git("-c", "user.name=Hand Editor", "-c", "user.email=hand@example.com", "commit", "-qam", "scale up by hand",
        cwd=other)
    git("push", "-q", "origin", "main", cwd=other)
    hand_edit = git("rev-parse", "HEAD", cwd=other)

    result = pipeline.run("--diff")
    assert result.returncode == 0, result.stdout[-4000:]
    said = " ".join(result.stdout.split())
    assert f"{OVERLAY}: overwriting a hand edit, commit {hand_edit[:12]} by Hand Editor <hand@example.com>" in said
    assert re.search(r"^-\s+count: 5$", result.stdout, re.M) and re.search(r"^\+\s+count: 1$", result.stdout, re.M), \
        "the diff shows the hand edit being undone"
    assert remote_commits(pipeline)[1] == hand_edit
    assert "count: 1" in git("--git-dir", str(pipeline.gitops_remote), "show", f"main:{OVERLAY}")
    assert preview_pods(pipeline) == []


def test_a_true_conflict_fails_with_one_instruction_and_tears_the_preview_down(pipeline, tmp_path):
    other = tmp_path / "other"
    git("clone", "-q", str(pipeline.gitops_remote), str(other))
    commits = remote_commits(pipeline)

    def push_a_conflicting_edit_once_the_preview_runs():
        deadline = time.monotonic() + 300
        while not preview_pods(pipeline) and time.monotonic() < deadline:
            time.sleep(0.5)
        overlay = other / OVERLAY
        overlay.write_text(overlay.read_text().replace("count: 1", "count: 5"))
        git("-c", "user.name=Other", "-c", "user.email=other@example.com", "commit", "-qam", "other", cwd=other)
        git("push", "-q", "origin", "main", cwd=other)

    pusher = threading.Thread(target=push_a_conflicting_edit_once_the_preview_runs)
    pusher.start()
    result = pipeline.run(app_replicas=2)
    pusher.join()
    assert result.returncode == 2
    (fatal,) = [failure for failure in failures(result) if "rebase conflict" in failure]
    assert "the rebase was aborted" in fatal and OVERLAY in fatal and "--continue" not in fatal
    assert preview_pods(pipeline) == [], "a failed publish must not leave the kept preview up"
    assert remote_commits(pipeline)[1:] == commits, "only the other clone's commit reached the remote"
    recover(pipeline, twice=True)


def test_registry_stopped_before_a_run_fails_naming_it_after_the_same_attempts(pipeline):
    pipeline.registry.stop()
    try:
        result = pipeline.run(image_registry_retries=1, image_registry_retry_delay=0.2)
    finally:
        pipeline.registry.start()
    assert result.returncode == 2
    (fatal,) = failures(result)
    assert f"registry {pipeline.registry.host} is unreachable after 2 attempts" in fatal
    assert preview_pods(pipeline) == []
    recover(pipeline)


def test_registry_refusing_the_push_fails_naming_the_same_attempts(pipeline):
    pipeline.registry.stop()
    pipeline.registry.readonly = True
    pipeline.registry.start()
    image_before = record(pipeline, "image")
    pipeline.change_app()
    try:
        result = pipeline.run(image_registry_retries=1, image_registry_retry_delay=0.2)
    finally:
        pipeline.registry.stop()
        pipeline.registry.readonly = False
        pipeline.registry.start()
    assert result.returncode == 2
    final = [failure for failure in failures(result) if "push of app1:" in failure]
    assert final and f"registry {pipeline.registry.host}: push of app1:" in final[-1], failures(result)
    assert "failed after 2 attempts (image_registry_retries: 1)" in final[-1]
    assert record(pipeline, "image") == image_before, "a failed push records nothing"
    recover(pipeline)


def test_ctrl_c_leaves_the_preview_until_the_next_run_removes_it(pipeline):
    proc = subprocess.Popen(pipeline.command(app_replicas=2), cwd=pipeline.cwd, env=pipeline.environment(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.monotonic() + 300
    while not preview_pods(pipeline) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert preview_pods(pipeline), "the preview never started"
    # Ctrl-C in a terminal: SIGINT to the whole foreground process group.
    os.killpg(proc.pid, signal.SIGINT)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 99, output[-3000:]
    assert "User interrupted execution" in output
    # ansible-playbook runs no always/rescue/handler on Ctrl-C: the pod is still there...
    assert preview_pods(pipeline)
    # ...until the next run, which removes it first and says so.
    result = recover(pipeline)
    assert "that an earlier run left running (interrupted, e.g. by Ctrl-C)" in " ".join(result.stdout.split())
    assert any(line.startswith("stale preview ") for line in summary_changed(result))
