"""Three environments over time, as a team uses them: dev run -> no-op -> change -> promote into qa -> promote
into prod -> a verification that fails in dev -> teardown of dev. Cluster-less (site.yml and promote.yml with
--skip-tags bootstrap,argocd and playbooks/vars/without_cluster.yml): the real Docker engine, registry, bare
GitOps repository and podman; each environment's preview stands in for its cluster.

After every step it compares what each environment's Argo CD Application would sync (kustomize's build of
apps/app1/overlays/<env> on main), byte for byte: only the environment acted on may differ. What a run commits
for one environment is tested on its own in tests/test_gitops_role.py."""
import copy
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from support.net import free_port
from support.pipeline_run import PipelineRun

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(1500)]

ENVS = ("dev", "qa", "prod")


def for_env(run: PipelineRun, env: str) -> PipelineRun:
    """The same checkout, registry, work root and GitOps remote, as another environment with a preview of its own."""
    other = copy.copy(run)
    other.env_name = env
    other.work_dir = run.work_root / env
    other.preview_port, other.preview_metrics_port = free_port(), free_port()
    other.name_prefix = f"kindling-pipelinetest-{other.preview_port}"
    return other


def synced(run: PipelineRun) -> dict:
    """{env: what its Application syncs, kustomize's build of its directory on main}, None where there is none."""
    tree = Path(tempfile.mkdtemp(prefix="kindling-synced-"))
    try:
        archive = subprocess.run(["git", "--git-dir", str(run.gitops_remote), "archive", "main"], capture_output=True)
        if archive.returncode != 0:
            return dict.fromkeys(ENVS)
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
        built = {}
        for env in ENVS:
            overlay = tree / "apps" / "app1" / "overlays" / env
            built[env] = subprocess.run(["kubectl", "kustomize", str(overlay)], capture_output=True, text=True,
                                        check=True).stdout if overlay.is_dir() else None
        return built
    finally:
        shutil.rmtree(tree)


def record(run: PipelineRun, name: str) -> dict:
    path = run.work_dir / "release" / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else {}


@pytest.fixture
def team(tmp_path, shared_registry, repository, base_image, podman, wheelhouse):
    dev = PipelineRun(tmp_path / "pipeline", shared_registry, base_image, wheelhouse, repository=repository)
    envs = {"dev": dev, "qa": for_env(dev, "qa"), "prod": for_env(dev, "prod")}
    yield envs
    for run in envs.values():
        run.cleanup()


def step(envs, acted_on, action, expect_rc=0):
    """Runs one step; asserts its exit code and that no environment but `acted_on` syncs anything new."""
    before = synced(envs["dev"])
    result = action()
    assert result.returncode == expect_rc, result.stdout[-5000:] + result.stderr[-2000:]
    after = synced(envs["dev"])
    for env in ENVS:
        if env != acted_on:
            assert after[env] == before[env], f"a step on {acted_on} changed what {env} syncs"
    return result, before, after


def test_each_step_changes_only_the_environment_it_acts_on(team):
    dev, qa, prod = team["dev"], team["qa"], team["prod"]

    _, _, first = step(team, "dev", dev.run)
    assert first["dev"] and first["qa"] is None and first["prod"] is None

    noop, _, again = step(team, "dev", dev.run)
    assert noop.recap["changed"] == 0 and again == first

    dev.change_app()
    _, _, changed = step(team, "dev", dev.run)
    assert changed["dev"] != first["dev"]
    dev_verified = record(dev, "verified")

    # A direct run into qa is refused before anything changes (qa takes releases from dev by promotion).
    refused, _, _ = step(team, "qa", qa.run, expect_rc=2)
    assert "qa takes its releases from dev by promotion" in refused.stdout

    _, _, promoted = step(team, "qa", lambda: qa.run(playbook="playbooks/promote.yml"))
    assert promoted["qa"] is not None
    assert record(qa, "deployed")["image"]["digest"] == dev_verified["image"]["digest"]
    assert record(qa, "verified")["verified"] is True

    _, _, in_prod = step(team, "prod", lambda: prod.run(playbook="playbooks/promote.yml"))
    assert in_prod["prod"] is not None
    assert record(prod, "deployed")["image"]["digest"] == dev_verified["image"]["digest"]

    # A release that fails verification in dev is rolled back there, and only there.
    dev.change_app()
    failed, before, after = step(team, "dev", lambda: dev.run(verify_expected_version="9.9.9"), expect_rc=2)
    assert "verification of app1 dev failed" in failed.stdout
    assert after["dev"] == before["dev"], "the revert restores what dev synced before the failed release"
