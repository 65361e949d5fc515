"""Whole-run checks: everything that runs here, through the real playbooks and roles -
build -> push -> overlay -> commit -> preview -> verify (site.yml --skip-tags bootstrap,argocd) on the real
Docker engine, a real registry on 127.0.0.1, a bare git repository as the GitOps remote and podman.
Run twice, the second run reports changed=0; with --check --diff on a changed app, Docker images, the
registry, git refs and files are byte-identical before and after, and the diff shows what would change."""
import json
import re
import subprocess
from pathlib import Path

import pytest

from support.pipeline_run import PipelineRun, prepare_wheelhouse

ROOT = Path(__file__).resolve().parent.parent
NEEDED_ROLES = ["image", "gitops", "preview", "verify", "rollback", "argocd", "kind_cluster", "local_registry", "platform"]
MISSING = [role for role in NEEDED_ROLES if not (ROOT / "roles" / role / "tasks").is_dir()]

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(bool(MISSING), reason=f"site.yml imports roles that are not in roles/ yet: {', '.join(MISSING)}"),
]


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory):
    try:
        return prepare_wheelhouse(tmp_path_factory.mktemp("wheelhouse"))
    except subprocess.CalledProcessError as error:
        pytest.skip(f"app/build-wheelhouse could not fetch the app's wheels from PyPI: {error.stderr[-500:]}")


@pytest.fixture
def pipeline(tmp_path, registry, base_image, podman, wheelhouse):
    run = PipelineRun(tmp_path, registry, base_image, wheelhouse)
    yield run
    run.cleanup()


def remote_file(run: PipelineRun, path: str) -> str:
    return subprocess.run(["git", "--git-dir", str(run.gitops_remote), "show", f"main:{path}"],
                          capture_output=True, text=True, check=True).stdout


def summary(result) -> dict:
    """The summary task's message (default callback, YAML result format)."""
    block = result.stdout.split("TASK [Summary of the run]", 1)[1].split("PLAY RECAP", 1)[0]
    found = {}
    for key in ("digest", "gitops_commit", "verification", "image"):
        match = re.search(rf"^\s+{key}: (.+)$", block, re.M)
        found[key] = match.group(1).strip().strip("'\"") if match else None
    return found


def test_whole_run_then_a_second_run_changes_nothing(pipeline):
    first = pipeline.run()
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    assert first.recap["changed"] > 0

    (repository, tags), = pipeline.registry_state().items()
    (tag, digest), = tags.items()
    verified = json.loads((pipeline.work_dir / "release" / "verified.json").read_text())
    assert verified["image"]["digest"] == digest and verified["verified"] is True
    remote_main = pipeline.git_refs(pipeline.gitops_remote)
    assert f"refs/heads/main {verified['commit']}" in remote_main
    overlay = remote_file(pipeline, "apps/app1/overlays/dev/kustomization.yaml")
    assert digest in overlay, "the overlay must pin the pushed digest"
    assert "latest" not in overlay
    shown = summary(first)
    assert shown["digest"] == digest and shown["gitops_commit"] == verified["commit"]
    assert shown["verification"].startswith("passed")
    state = pipeline.snapshot(without_volatile=True)

    second = pipeline.run()
    assert second.returncode == 0, second.stdout[-4000:]
    assert second.recap["changed"] == 0, f"changed on the second run: {second.changed_tasks()}"
    after = pipeline.snapshot(without_volatile=True)
    for key in state:
        assert after[key] == state[key], f"the no-op run changed {key}"
    # Nothing changed, so the release keeps its recorded verification instead of a new preview...
    assert summary(second)["verification"].startswith("passed earlier, unchanged since")
    assert "TASK [preview : Start the preview" not in second.stdout

    # ...unless asked to check it again, which still changes nothing.
    third = pipeline.run(kindling_reverify=True)
    assert third.returncode == 0, third.stdout[-4000:]
    assert third.recap["changed"] == 0, f"changed on the re-verifying run: {third.changed_tasks()}"
    assert summary(third)["verification"].startswith("passed (report:")


def test_check_diff_on_a_changed_app_changes_nothing_and_shows_the_change(pipeline):
    first = pipeline.run()
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    old_tag = json.loads((pipeline.work_dir / "release" / "image.json").read_text())["image"]["tag"]
    pipeline.change_app()
    before = pipeline.snapshot()

    checked = pipeline.run("--check", "--diff")
    assert checked.returncode == 0, checked.stdout[-4000:] + checked.stderr[-2000:]
    after = pipeline.snapshot()
    for key in before:
        assert after[key] == before[key], f"--check changed {key}"
    # The diff names the overlay's image change: the old tag goes, a new content-addressed tag comes.
    removed = [line for line in checked.stdout.splitlines() if line.startswith("-") and old_tag in line]
    added = [line for line in checked.stdout.splitlines() if line.startswith("+") and re.search(r"1\.0\.0-[0-9a-f]{12}", line)
             and old_tag not in line]
    assert removed and added, checked.stdout[-4000:]
