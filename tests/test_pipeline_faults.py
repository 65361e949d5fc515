"""Faults injected into the whole cluster-less pipeline (site.yml --skip-tags bootstrap,argocd with
playbooks/vars/without_cluster.yml: the preview is kept running on loopback for verify), with the real Docker
engine, a real registry, a bare git remote and podman (tests/support/pipeline_run.py).

Each test starts from a pipeline of its own (its own work root, GitOps remote and registry repository), makes
it verified first when the fault needs a release to fall back on, injects one fault, and checks the exit code,
the line the user sees, what is left behind (no preview pod after a failed run, records that say what is
deployed) and, where recovering is the point, that the next normal run recovers. docs/playbooks.md's fault table
is written from what these tests observe. A registry that is down is the image role's fault, and its message is
tested there (tests/test_image_role.py); a normal run and a no-op run are tests/test_pipeline_no_cluster.py's,
and a release that fails verification after it is pushed (rolled back in its environment only) is
tests/test_lifecycle.py's.
A hand edit on the remote is what a conflict leaves for the next run, which undoes it and says so: that is the
conflict test's recovery."""
import json
import os
import re
import signal
import subprocess
import threading
import time
import uuid

import pytest

from support.pipeline_run import PipelineRun
from support.registry import Registry, registry_binary

# Whole runs take 30-60 s each on the 2-core machine; a test here runs up to four.
pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1500)]

OVERLAY = "apps/app1/overlays/dev/kustomization.yaml"


@pytest.fixture
def pipeline(tmp_path, shared_registry, repository, base_image, podman, wheelhouse):
    run = PipelineRun(tmp_path / "pipeline", shared_registry, base_image, wheelhouse, repository=repository)
    yield run
    run.cleanup()


@pytest.fixture
def verified(pipeline):
    """The pipeline after a normal first run: a verified release to fall back on."""
    result = pipeline.run()
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert record(pipeline, "verified")["verified"] is True
    return pipeline


def git(*args, cwd=None):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def remote_commits(run: PipelineRun) -> list[str]:
    if not run.gitops_remote.exists():
        return []
    listed = subprocess.run(["git", "--git-dir", str(run.gitops_remote), "rev-list", "main"], capture_output=True,
                            text=True)
    return listed.stdout.split()  # none yet: an empty bare repository has no main


def preview_pods(run: PipelineRun) -> list[str]:
    return run.preview_pods()


def record(run: PipelineRun, name: str) -> dict:
    path = run.work_dir / "release" / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


def recover(run: PipelineRun):
    """A normal run after a fault: passes and leaves no preview."""
    result = run.run()
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert preview_pods(run) == []
    return result


def test_unhealthy_in_the_preview_fails_before_committing_and_tears_the_preview_down(pipeline):
    # The first release ever, whose preview answers with another version than expected.
    result = pipeline.run(preview_expected_version="9.9.9")
    assert result.returncode == 2
    assert any("preview of app1 dev failed" in failure for failure in result.failures()), result.failures()
    assert preview_pods(pipeline) == [], "a failed preview must not stay up"
    shown = subprocess.run(["git", "--git-dir", str(pipeline.gitops_remote), "cat-file", "-e", f"main:{OVERLAY}"],
                           capture_output=True)
    assert shown.returncode != 0, "nothing is committed after a failed preview"
    assert record(pipeline, "deployed") == {} and record(pipeline, "verified") == {}


def test_a_true_conflict_fails_with_one_instruction_and_the_next_run_undoes_the_other_edit_saying_so(verified, tmp_path):
    pipeline = verified
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
    (fatal,) = [failure for failure in result.failures() if "rebase conflict" in failure]
    assert "the rebase was aborted" in fatal and OVERLAY in fatal and "--continue" not in fatal
    assert preview_pods(pipeline) == [], "a failed publish must not leave the kept preview up"
    assert remote_commits(pipeline)[1:] == commits, "only the other clone's commit reached the remote"
    other_commit = remote_commits(pipeline)[0]

    # The next run renders on top of the remote: the other clone's commit is a hand edit of a file the pipeline
    # owns, so the run undoes it, says so naming the commit and its author, and --diff shows it being undone.
    recovered = pipeline.run("--diff")
    assert recovered.returncode == 0, recovered.stdout[-5000:] + recovered.stderr[-2000:]
    assert preview_pods(pipeline) == []
    said = " ".join(recovered.stdout.split())
    assert f"{OVERLAY}: overwriting a hand edit, commit {other_commit[:12]} by Other <other@example.com>" in said
    assert re.search(r"^-\s+count: 5$", recovered.stdout, re.M) and re.search(r"^\+\s+count: 1$", recovered.stdout, re.M), \
        "the diff shows the hand edit being undone"
    assert remote_commits(pipeline)[1] == other_commit
    assert "count: 1" in git("--git-dir", str(pipeline.gitops_remote), "show", f"main:{OVERLAY}")


def test_registry_refusing_the_push_fails_naming_the_same_attempts_and_records_nothing(tmp_path, base_image, podman,
                                                                                    wheelhouse):
    if registry_binary() is None:
        pytest.skip("docker-registry is not installed (apt-get install docker-registry)")
    # distribution's read-only maintenance mode: every push is refused.
    registry = Registry(tmp_path / "registry", readonly=True).start()
    pipeline = PipelineRun(tmp_path / "pipeline", registry, base_image, wheelhouse,
                           repository=f"kindling-test/{uuid.uuid4().hex[:12]}")
    try:
        result = pipeline.run(image_registry_retries=1, image_registry_retry_delay=0.2)
        assert result.returncode == 2
        final = [failure for failure in result.failures() if f"push of {pipeline.repository}:" in failure]
        assert final and f"registry {registry.host}: push of {pipeline.repository}:" in final[-1], result.failures()
        assert "failed after 2 attempts (image_registry_retries: 1)" in final[-1]
        assert record(pipeline, "image") == {}, "a failed push records nothing"
        assert preview_pods(pipeline) == []
    finally:
        pipeline.cleanup()
        registry.stop()


def test_ctrl_c_leaves_the_preview_until_the_next_run_removes_it(pipeline):
    proc = subprocess.Popen(pipeline.command(), cwd=pipeline.cwd, env=pipeline.environment(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.monotonic() + 300
    while not preview_pods(pipeline) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    assert preview_pods(pipeline), "the preview never started"
    # Ctrl-C in a terminal: SIGINT to the whole foreground process group.
    os.killpg(proc.pid, signal.SIGINT)
    try:
        output, _ = proc.communicate(timeout=45)
    except subprocess.TimeoutExpired:
        # ansible-core 2.19 can hang here on its own: a worker killed by the SIGINT while it holds the write lock of
        # the results queue (executor/task_queue_manager.py, FinalQueue is a multiprocessing SimpleQueue) never
        # releases it, and StrategyBase.cleanup then blocks putting its sentinel. A user presses Ctrl-C again or
        # closes the terminal; the state left behind is the same, and that state is what this test is about. The
        # first SIGINT reset the handler to the default (TaskQueueManager._signal_handler), so a second one ends it.
        os.killpg(proc.pid, signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    else:
        assert proc.returncode == 99, output[-3000:]
        assert "User interrupted execution" in output
    # ansible-playbook runs no always/rescue/handler on Ctrl-C: the pod is still there...
    assert preview_pods(pipeline)
    # ...until the next run, which removes it first and says so.
    result = recover(pipeline)
    assert "that an earlier run left running (interrupted, e.g. by Ctrl-C)" in " ".join(result.stdout.split())
    assert any(line.startswith("stale preview ") for line in result.summary_changed())
