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


def remote_commits(run: PipelineRun) -> list[str]:
    return subprocess.run(["git", "--git-dir", str(run.gitops_remote), "rev-list", "main"], capture_output=True,
                          text=True, check=True).stdout.split()


def test_each_step_changes_only_the_environment_it_acts_on(team):
    dev, qa, prod = team["dev"], team["qa"], team["prod"]

    _, _, first = step(team, "dev", dev.run)
    assert first["dev"] and first["qa"] is None and first["prod"] is None

    noop, _, again = step(team, "dev", dev.run)
    assert noop.recap["changed"] == 0 and again == first
    assert "passed earlier, unchanged since" in noop.stdout, "nothing changed: the recorded verification stands"

    dev.change_app()
    _, _, changed = step(team, "dev", dev.run)
    assert changed["dev"] != first["dev"]
    dev_verified = record(dev, "verified")

    # A direct run into qa is refused before anything changes (qa takes releases from dev by promotion).
    refused, _, _ = step(team, "qa", qa.run, expect_rc=2)
    assert "qa takes its releases from dev by promotion" in refused.stdout
    assert not qa.work_dir.exists()

    _, _, promoted = step(team, "qa", lambda: qa.run(playbook="playbooks/promote.yml"))
    assert promoted["qa"] is not None
    assert record(qa, "deployed")["image"]["digest"] == dev_verified["image"]["digest"]
    assert record(qa, "verified")["verified"] is True

    _, _, in_prod = step(team, "prod", lambda: prod.run(playbook="playbooks/promote.yml"))
    assert in_prod["prod"] is not None
    assert record(prod, "deployed")["image"]["digest"] == dev_verified["image"]["digest"]

    # A release that fails verification in dev after it is pushed (one run's settings: two replicas, and a version
    # the app does not report) is rolled back there, and only there.
    commits = remote_commits(dev)
    failed, before, after = step(team, "dev", lambda: dev.run(app_replicas=2, verify_expected_version="9.9.9"),
                                 expect_rc=2)
    assert after["dev"] == before["dev"], "the revert restores what dev synced before the failed release"
    (fatal,) = [failure for failure in failed.failures() if "verification of app1 dev failed" in failure]
    now = remote_commits(dev)
    deployed_commit, revert_commit = now[1], now[0]
    assert now[2:] == commits, "exactly the deploy and its revert are added"
    assert f"reverted {deployed_commit} with {revert_commit} (pushed)" in fatal
    assert dev.preview_pods() == [], "a failed verification leaves no preview up (even after a rollback)"
    # The records say what is deployed now: the revert, restoring the verified release...
    deployed = record(dev, "deployed")
    assert deployed["commit"] == revert_commit and deployed["made_by_deploy"] is False
    assert deployed["restores"] == {"commit": dev_verified["commit"], "verified": True}
    assert deployed["image"] == dev_verified["image"] and deployed["reverted"]["commit"] == deployed_commit
    assert json.loads(Path(deployed["report_path"]).read_text())["ok"] is False
    # ...while verified.json still vouches for the release it verified, with its own copy of a passed report.
    assert record(dev, "verified") == dev_verified
    assert json.loads(Path(dev_verified["report_path"]).read_text())["ok"] is True

    # The next normal run verifies what the revert deploys, committing nothing, and names the records it rewrites.
    recovered, _, _ = step(team, "dev", dev.run)
    assert remote_commits(dev) == now, "the recovery verifies the revert; it commits nothing"
    assert record(dev, "verified")["commit"] == revert_commit
    assert recovered.summary_changed() == ["release records written: deployed.json, verified.json"]

    # Tearing dev down removes dev's own state only: qa and prod keep theirs, and the shared services stay.
    kept = {env: run.file_hashes(run.work_dir) for env, run in team.items() if env != "dev"}
    torn, _, _ = step(team, "dev", lambda: dev.run(playbook="playbooks/teardown.yml", teardown_confirm="dev"))
    assert not dev.work_dir.exists()
    assert {env: run.file_hashes(run.work_dir) for env, run in team.items() if env != "dev"} == kept
    said = " ".join(torn.stdout.split())
    assert "(qa, prod still in use (work dir or Application); -e teardown_cluster=true removes them" in said, said[-3000:]
