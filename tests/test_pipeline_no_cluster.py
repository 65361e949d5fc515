"""`scripts/pipeline dev --no-cluster` end to end, as a user runs it from a fresh checkout: set-up, then
build -> push -> render -> validate -> preview -> commit -> verify, with the registry the pipeline makes
ready itself (the local_registry role without kind wiring: just the container on 127.0.0.1:<port>).
A second run changes nothing.

The pinned registry image (versions.yml images.registry, registry:3) cannot be pulled here, so the run is
given a look-alike built from the local base image with Debian's docker-registry
(support.registry.build_registry_lookalike) through the role's local_registry_image."""
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from support.net import free_port
from support.pipeline_run import PipelineRun
from support.registry import Registry, build_registry_lookalike, registry_binary
from test_pipeline_whole_run import summary, wheelhouse  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.docker]


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


@pytest.fixture(scope="module")
def registry_lookalike(base_image, tmp_path_factory):
    if registry_binary() is None:
        pytest.skip("docker-registry is not installed (apt-get install docker-registry)")
    tag = build_registry_lookalike(base_image, tmp_path_factory.mktemp("registry-image"),
                                   f"kindling-test/registry-lookalike:{uuid.uuid4().hex[:8]}")
    yield tag
    subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)


@pytest.fixture
def no_cluster(tmp_path, base_image, podman, wheelhouse, registry_lookalike):  # noqa: F811
    port = free_port()
    name = f"kindling-nocluster-{port}"
    # Only to read the registry the pipeline starts (catalog, tags, digests); nothing is started here.
    registry = Registry(tmp_path / "registry-client", port=port)
    run = PipelineRun(tmp_path, registry, base_image, wheelhouse)
    checkout = fresh_checkout(tmp_path / "clone")
    yield run, checkout, {"local_registry_name": name, "local_registry_image": registry_lookalike,
                          "local_registry_host_port": port}
    run.cleanup()
    subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def test_no_cluster_runs_the_main_job_with_its_own_registry_and_a_second_run_changes_nothing(no_cluster):
    run, checkout, registry_vars = no_cluster
    first = run.run_script("--no-cluster", root=checkout, **registry_vars)
    assert first.returncode == 0, first.stdout[-5000:] + first.stderr[-3000:]
    assert first.recap["changed"] > 0
    assert "TASK [local_registry : Run the registry container on its own]" in first.stdout
    # (The preflight's wiring check reads the platform role's release list and names the links it skips: only
    # these tasks touch a cluster.)
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

    (repository, tags), = run.registry_state().items()
    (_, digest), = tags.items()
    verified = json.loads((run.work_dir / "release" / "verified.json").read_text())
    assert verified["verified"] is True and verified["image"]["digest"] == digest
    assert summary(first)["verification"].startswith("passed")

    second = run.run_script("--no-cluster", root=checkout, **registry_vars)
    assert second.returncode == 0, second.stdout[-4000:]
    assert second.recap["changed"] == 0, f"changed on the second run: {second.changed_tasks()}"


def test_help_lists_no_cluster():
    result = subprocess.run([str(ROOT / "scripts" / "pipeline"), "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--no-cluster" in result.stdout
