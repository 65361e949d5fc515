"""scripts/pipeline exports DOCKER_HOST from the active docker context (Docker Desktop, Colima, rootless),
because community.docker reads DOCKER_HOST and never the CLI's contexts, while kind follows the context.
A double of the docker CLI first on PATH answers `context show` / `context inspect` and records the
DOCKER_HOST every other call sees; the preflight's engine check is such a call, made by Ansible, so the
record proves the playbooks got the exported value. Its engine does not answer, so the run stops in the
preflight and changes nothing."""
import os
import subprocess
from pathlib import Path

import pytest

from support.fakebin import prepend, write_executable

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.contract]


def fake_docker(directory: Path, context: str, endpoint: str) -> Path:
    """The docker CLI as docker/cli (v20.10+) answers these, with no engine at the endpoint:
    - `context show`: the current context's name (cli/command/context/show.go: runShow prints CurrentContext());
    - `context inspect --format '{{.Endpoints.docker.Host}}' NAME`: that context's docker endpoint
      (cli/command/context/inspect.go; a missing context fails "context \"NAME\": context not found");
    - anything talking to the engine (`info`, `version`) fails like the CLI does when nothing listens:
      "Cannot connect to the Docker daemon at HOST. Is the docker daemon running?", exit 1."""
    return write_executable(directory / "docker", f"""#!/bin/sh
echo "DOCKER_HOST=${{DOCKER_HOST:-}} args=$*" >> "{directory}/docker.log"
if [ "$1 $2" = "context show" ]; then echo "{context}"; exit 0; fi
if [ "$1 $2 $3 $4" = "context inspect --format {{{{.Endpoints.docker.Host}}}}" ]; then
  case "$5" in
    {context}) echo "{endpoint}"; exit 0 ;;
    default) echo "unix:///var/run/docker.sock"; exit 0 ;;
    *) echo "context \\"$5\\": context not found: open /root/.docker/contexts/meta/x/meta.json: no such file or directory" >&2; exit 1 ;;
  esac
fi
echo "Cannot connect to the Docker daemon at ${{DOCKER_HOST:-unix:///var/run/docker.sock}}. Is the docker daemon running?" >&2
exit 1
""")


def run_pipeline(tmp_path: Path, fake: Path, **env) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PATH": prepend(os.environ["PATH"], fake.parent), "ANSIBLE_NOCOLOR": "1", **env}
    if "DOCKER_HOST" not in env:
        environment.pop("DOCKER_HOST", None)
    return subprocess.run([str(ROOT / "scripts" / "pipeline"), "dev", "--no-cluster", "--tags", "build",
                           "-e", f"kindling_work_dir={tmp_path / 'work'}"],
                          cwd=ROOT, env=environment, capture_output=True, text=True, timeout=600)


def engine_calls(fake: Path) -> list[str]:
    return [line for line in (fake.parent / "docker.log").read_text().splitlines() if " args=version" in line]


def test_a_docker_context_is_exported_as_docker_host(tmp_path):
    endpoint = f"unix://{tmp_path}/colima/docker.sock"
    fake = fake_docker(tmp_path / "bin", "colima", endpoint)
    result = run_pipeline(tmp_path, fake)
    assert f"pipeline: DOCKER_HOST={endpoint} (from the active docker context 'colima'" in result.stdout, result.stdout[-3000:]
    calls = engine_calls(fake)
    assert calls and all(call.startswith(f"DOCKER_HOST={endpoint} ") for call in calls), calls
    assert result.returncode != 0
    assert f"docker: the engine at {endpoint} does not answer" in result.stdout
    assert not (tmp_path / "work").exists()


def test_docker_host_already_set_wins_and_the_default_context_exports_nothing(tmp_path):
    fake = fake_docker(tmp_path / "bin", "colima", "unix:///nowhere/colima.sock")
    mine = f"unix://{tmp_path}/mine.sock"
    kept = run_pipeline(tmp_path, fake, DOCKER_HOST=mine)
    assert "pipeline: DOCKER_HOST=" not in kept.stdout
    assert all(call.startswith(f"DOCKER_HOST={mine} ") for call in engine_calls(fake))

    default = fake_docker(tmp_path / "bin-default", "default", "unix:///nowhere/other.sock")
    plain = run_pipeline(tmp_path, default)
    assert "pipeline: DOCKER_HOST=" not in plain.stdout
    calls = engine_calls(default)
    assert calls and all(call.startswith("DOCKER_HOST= ") for call in calls), calls
