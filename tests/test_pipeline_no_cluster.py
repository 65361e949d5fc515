"""The whole pipeline as a user runs it without a cluster: `scripts/pipeline dev --no-cluster` from a fresh
checkout (set-up first), build -> push -> render -> validate -> preview on podman -> commit -> verify, with the
registry container the pipeline makes ready itself (the local_registry role without kind wiring). Everything
is real here: the Docker engine, the registry, the bare GitOps repository, podman.

One lifecycle, in the order a user meets it: the first run verifies; a second run changes nothing, byte for
byte, and keeps the recorded verification; asked to re-verify it checks again and still changes nothing; after a
change to the app, `--check --diff` shows the new image and changes nothing.

The pinned registry image (versions.yml images.registry, registry:3) cannot be pulled here, so the run is
given the session's look-alike (conftest `registry_image`) through the role's local_registry_image."""
import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from support.net import free_port
from support.pipeline_run import PipelineRun
from support.registry import Registry

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1500)]


def fresh_checkout(target: Path) -> Path:
    """What a clone has: the files git tracks (and new, not ignored ones), no .work or .cache. .venv and
    .tools link to the shared ones (in step with requirements.txt), as a worktree's do, so set-up installs nothing."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
        elif source.is_symlink():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).symlink_to(os.readlink(source))
    for shared in (".venv", ".tools"):
        (target / shared).symlink_to((ROOT / shared).resolve())
    return target


def summary(result) -> dict:
    """The summary task's message (default callback, YAML result format)."""
    block = result.stdout.split("TASK [Summary of the run]", 1)[1].split("PLAY RECAP", 1)[0]
    found = {}
    for key in ("digest", "gitops_commit", "verification", "image"):
        match = re.search(rf"^\s+{key}: (.+)$", block, re.M)
        found[key] = match.group(1).strip().strip("'\"") if match else None
    return found


def remote_file(run: PipelineRun, path: str) -> str:
    return subprocess.run(["git", "--git-dir", str(run.gitops_remote), "show", f"main:{path}"],
                          capture_output=True, text=True, check=True).stdout


@pytest.fixture
def no_cluster(tmp_path, base_image, podman, wheelhouse, registry_image):
    port = free_port()
    name = f"kindling-nocluster-{port}"
    # Only to read the registry the pipeline starts (catalog, tags, digests); nothing is started here.
    registry = Registry(tmp_path / "registry-client", port=port)
    run = PipelineRun(tmp_path, registry, base_image, wheelhouse, repository=f"kindling-test/{uuid.uuid4().hex[:8]}")
    checkout = fresh_checkout(tmp_path / "clone")
    yield run, checkout, {"local_registry_name": name, "local_registry_image": registry_image,
                          "local_registry_host_port": port}
    run.cleanup()
    subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def test_first_run_verifies_a_second_changes_nothing_reverify_checks_again_and_check_diff_shows_a_change(no_cluster):
    run, checkout, registry_vars = no_cluster

    first = run.run_script("--no-cluster", root=checkout, **registry_vars)
    assert first.returncode == 0, first.stdout[-5000:] + first.stderr[-3000:]
    assert first.recap["changed"] > 0
    assert "TASK [local_registry : Run the registry container on its own]" in first.stdout
    for cluster_task in ("TASK [kind_cluster :", "TASK [platform : Read the status of Helm release",
                         "TASK [platform : Helm release", "TASK [argocd : Wait",
                         "TASK [local_registry : Point each node's containerd"):
        assert cluster_task not in first.stdout
    container = json.loads(subprocess.run(["docker", "inspect", registry_vars["local_registry_name"]],
                                          capture_output=True, text=True, check=True).stdout)[0]
    assert container["State"]["Running"] and container["Config"]["Image"] == registry_vars["local_registry_image"]
    assert list(container["NetworkSettings"]["Networks"]) == ["bridge"], "no kind network without a cluster"
    assert container["HostConfig"]["PortBindings"]["5000/tcp"] == [
        {"HostIp": "127.0.0.1", "HostPort": str(registry_vars["local_registry_host_port"])}]

    (tag, digest), = run.registry_state().items()
    verified = json.loads((run.work_dir / "release" / "verified.json").read_text())
    assert verified["verified"] is True and verified["image"]["digest"] == digest
    assert f"refs/heads/main {verified['commit']}" in run.git_refs(run.gitops_remote)
    overlay = remote_file(run, "apps/app1/overlays/dev/kustomization.yaml")
    assert digest in overlay and "latest" not in overlay, "the overlay pins the pushed digest"
    shown = summary(first)
    assert shown["digest"] == digest and shown["gitops_commit"] == verified["commit"]
    assert shown["verification"].startswith("passed")
    assert run.preview_pods() == [], "the preview verify used is gone once the run is over"
    state = run.snapshot(without_volatile=True)

    second = run.run_script("--no-cluster", root=checkout, **registry_vars)
    assert second.returncode == 0, second.stdout[-4000:]
    assert second.recap["changed"] == 0, f"changed on the second run: {second.changed_tasks()}"
    after = run.snapshot(without_volatile=True)
    for key in state:
        assert after[key] == state[key], f"the no-op run changed {key}"
    # Nothing changed, so the release keeps its recorded verification instead of a new preview...
    assert summary(second)["verification"].startswith("passed earlier, unchanged since")
    assert "TASK [preview : Start the preview" not in second.stdout

    # ...unless asked to check it again, which still changes nothing.
    third = run.run_script("--no-cluster", root=checkout, kindling_reverify=True, **registry_vars)
    assert third.returncode == 0, third.stdout[-4000:]
    assert third.recap["changed"] == 0, f"changed on the re-verifying run: {third.changed_tasks()}"
    assert summary(third)["verification"].startswith("passed (report:")

    # A change to the app: --check --diff says what would change (the overlay's image: the old tag goes, a new
    # content-addressed one comes) and changes nothing, byte for byte.
    run.change_app()
    before = run.snapshot()
    checked = run.run_script("--no-cluster", "--check", "--diff", root=checkout, **registry_vars)
    assert checked.returncode == 0, checked.stdout[-4000:] + checked.stderr[-2000:]
    after = run.snapshot()
    for key in before:
        assert after[key] == before[key], f"--check changed {key}"
    removed = [line for line in checked.stdout.splitlines() if line.startswith("-") and tag in line]
    added = [line for line in checked.stdout.splitlines() if line.startswith("+") and re.search(r"1\.0\.0-[0-9a-f]{12}", line)
             and tag not in line]
    assert removed and added, checked.stdout[-4000:]


@pytest.mark.fast
def test_help_lists_no_cluster():
    result = subprocess.run([str(ROOT / "scripts" / "pipeline"), "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--no-cluster" in result.stdout
