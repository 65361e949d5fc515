"""The playbooks' contract: pins loaded, tags per stage, prompt-free, and bad input stopping the run before
anything is written, naming the variable. That each playbook parses is ansible-lint's syntax-check (the lint tier)."""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from doubles.ansible_run import playbook_env, run_playbook

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOKS = sorted(p for p in (ROOT / "playbooks").glob("*.yml"))


def ansible_playbook(*args, work_dir: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    extra = ["-e", json.dumps({"kindling_work_dir": str(work_dir)})] if work_dir else []
    return subprocess.run(["ansible-playbook", *args, *extra], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "ANSIBLE_FORCE_COLOR": "0", **(env or {})})


def plays(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text())


def test_every_play_loads_the_pins_and_targets_the_build_group():
    for path in PLAYBOOKS:
        for play in plays(path):
            if "ansible.builtin.import_playbook" in play:
                assert (ROOT / "playbooks" / play["ansible.builtin.import_playbook"]).is_file()
                continue
            assert play["hosts"] == "build", f"{path.name}: {play['name']}"
            if path.name != "summary.yml":
                assert (play.get("vars_files") or [None])[0] == "../versions.yml", f"{path.name}: {play['name']} does not load versions.yml first"


def test_nothing_prompts():
    for path in [*PLAYBOOKS, *(ROOT / "playbooks" / "tasks").glob("*.yml"), *(ROOT / "roles").glob("*/tasks/*.yml")]:
        text = path.read_text()
        assert "vars_prompt" not in text and "ansible.builtin.pause" not in text and "\n  pause:" not in text, path


def test_site_has_a_tag_per_stage():
    result = ansible_playbook("--list-tags", "-i", "inventories/dev", "playbooks/site.yml")
    assert result.returncode == 0, result.stderr
    tags = {tag.strip() for found in re.findall(r"TASK TAGS: \[([^\]]*)\]", result.stdout) for tag in found.split(",")}
    assert {"bootstrap", "build", "deploy", "render", "preview", "publish", "argocd", "verify"} <= tags


# Every stage's variables at once: a later stage's variable stops the run before the build stage pushes anything,
# a bad choice is refused from the role's argument spec alone (no role assert repeats it), set directly or passed
# through by a role default from roles/kindling_defaults; anonymous Grafana viewing is allowed on kind only. The
# preflight's rules themselves are unit-tested in the collection (tests/unit/plugins/module_utils/test_preflight.py).
BAD = {
    "kindling_env": ("staging", ["kindling_env"]),
    "app_replicas": ("many", ["app_replicas"]),
    "app_name": ("App_1", ["app_name"]),
    "promote_from": ("prod", ["promote_from"]),
    "gitops_log_level": ("LOUD", ["gitops_log_level"]),
    "verify_latency_budget_ms": ("fast", ["verify_latency_budget_ms"]),
    "argocd_state": ("gone", ["argocd_state"]),
    "kind_cluster_state": ("paused", ["kind_cluster_state"]),
    "local_registry_state": ("on", ["local_registry_state"]),
    "git_server_state": ("up", ["git_server_state"]),
    "gitops_cluster_flavor": ("openshfit", ["gitops_cluster_flavor"]),
    "cluster_provider": ("minikube", ["cluster_provider"]),
    "ingress_provider": ("haproxy", ["ingress_provider"]),
}


def test_bad_input_fails_before_any_change_naming_each_field(tmp_path):
    work_dir = tmp_path / "work"
    bad = {name: value for name, (value, _) in BAD.items()}
    result = ansible_playbook("-i", "inventories/dev", "playbooks/site.yml", "-e", json.dumps(bad), work_dir=work_dir)
    assert result.returncode != 0
    named = {line.split(":")[0].strip() for line in result.stdout.splitlines()}
    for name, (_, fields) in BAD.items():
        assert set(fields) <= named, (name, result.stdout[-3000:])
    assert "Traceback" not in result.stdout + result.stderr
    assert not work_dir.exists(), "something was written before the check"
    assert "changed=0" in result.stdout


def test_anonymous_grafana_is_refused_off_kind_before_any_change(tmp_path):
    work_dir = tmp_path / "work"
    result = ansible_playbook("-i", "inventories/dev", "playbooks/site.yml", "-e",
                              json.dumps({"grafana_anonymous_viewer": True, "cluster_provider": "existing",
                                          "gitops_repo_url": "https://git.example.test/gitops.git"}), work_dir=work_dir)
    assert result.returncode != 0 and "grafana_anonymous_viewer" in result.stdout
    assert not work_dir.exists() and "changed=0" in result.stdout


def test_teardown_without_confirmation_deletes_nothing(tmp_path):
    work_dir = tmp_path / "work"
    (work_dir / "release").mkdir(parents=True)
    result = ansible_playbook("-i", "inventories/qa", "playbooks/teardown.yml", "-e", "teardown_confirm=dev", work_dir=work_dir)
    assert result.returncode != 0
    assert "teardown_confirm" in result.stdout and "changed=0" in result.stdout
    assert (work_dir / "release").is_dir()


def test_a_choice_is_declared_in_the_argument_spec_only():
    """Each role's meta/argument_specs.yml declares its choices; the preflight and the role start read them
    from there, so no task of the role lists them again in an assert."""
    for spec_path in sorted((ROOT / "roles").glob("*/meta/argument_specs.yml")):
        role = spec_path.parent.parent
        tasks = "\n".join(path.read_text() for path in sorted((role / "tasks").glob("*.yml")))
        for entry in yaml.safe_load(spec_path.read_text())["argument_specs"].values():
            for name, option in (entry.get("options") or {}).items():
                if "choices" in option:
                    repeated = re.search(rf"\b{name}\s+(not\s+)?in\s+\[", tasks)
                    assert repeated is None, f"{role.name}: tasks re-check {name}'s choices: {repeated.group(0)}"


def test_a_render_only_deploy_claims_no_commit(tmp_path):
    """The render says what it wrote (gitops_rendered); only publish says what was committed (kindling_gitops),
    so a run that renders without publishing reports no commit."""
    digest = "sha256:" + "a" * 64
    image = {"registry": "localhost:5001", "repository": "app1", "tag": "1.0.0-abcdefabcdef", "digest": digest,
             "ref": f"localhost:5001/app1@{digest}"}
    work_dir = tmp_path / "work"
    result = ansible_playbook("-i", "inventories/dev", "playbooks/deploy.yml", "--tags", "render",
                              "-e", json.dumps({"kindling_image": image}), work_dir=work_dir, env={"GITOPS_TOKEN": ""})
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert digest in (work_dir / "gitops/apps/app1/overlays/dev/kustomization.yaml").read_text()
    shown = result.stdout.rsplit("TASK [Summary of the run]", 1)[1]
    assert "committed" not in shown and "gitops_commit: (no commit in this run)" in shown, shown


@pytest.mark.docker
def test_check_diff_on_a_machine_that_never_ran_the_pipeline_changes_nothing(tmp_path):
    """`scripts/pipeline dev --check --diff` before any cluster, registry or GitOps repository exists (fake kind and
    helm first on PATH, the real Docker engine): every stage says what a real run would do and nothing is made."""
    def docker_names():
        networks = subprocess.run(["docker", "network", "ls", "--format", "{{.Name}}"], capture_output=True, text=True,
                                  check=True).stdout.split()
        containers = subprocess.run(["docker", "container", "ls", "-a", "--format", "{{.Names}}"], capture_output=True,
                                    text=True, check=True).stdout.split()
        return set(networks), set(containers)

    before = docker_names()
    work_dir = tmp_path / "work" / "dev"
    result = run_playbook(ROOT / "playbooks" / "site.yml", playbook_env(tmp_path), "-i", str(ROOT / "inventories" / "dev"),
                          "--check", "--diff", "-e", json.dumps({"kindling_work_dir": str(work_dir)}), timeout=600)
    assert result.rc == 0, result.failure()
    assert not (tmp_path / "work").exists()
    assert docker_names() == before
    said = json.dumps(result.data)
    for role in ("platform", "argocd"):
        assert result.result(f"{role} : Say what a real run would "
                             + ("install" if role == "platform" else "apply")
                             + ", with no cluster to ask yet (check mode before the cluster exists)")["msg"]
    assert "a real run builds and pushes" in said or "Build and push the image the registry lacks" in said
