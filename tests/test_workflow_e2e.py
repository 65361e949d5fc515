"""The real end-to-end runs on a GitHub-hosted runner (.github/workflows/e2e.yml) and cannot run here (no image can
be pulled). actionlint checks the workflow; these tests check that it calls what this repository has
(scripts/pipeline dev twice, the molecule kind scenario's verify, playbooks/teardown.yml with its confirmation), that
the second run fails unless its PLAY RECAP says changed=0 (run on real ansible-playbook output), that molecule's
verify reads the cluster and work dir the pipeline made (asked of Ansible itself), and that a failure uploads the
summary, release records and events but never the kubeconfig."""
import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.fast

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW_PATH = ROOT / ".github/workflows/e2e.yml"
WORKFLOW = yaml.safe_load(WORKFLOW_PATH.read_text())
TRIGGERS = WORKFLOW.get("on", WORKFLOW.get(True))  # YAML 1.1 reads the key `on` as true
ENV = WORKFLOW["env"]
SCENARIO = ROOT / "molecule" / "kind"
MOLECULE = yaml.safe_load((SCENARIO / "molecule.yml").read_text())


def job():
    assert len(WORKFLOW["jobs"]) == 1
    return next(iter(WORKFLOW["jobs"].values()))


STEPS = job()["steps"]


def commands(step):
    """The step's shell commands, one per logical line (backslash continuations joined), comments dropped."""
    text = step.get("run", "").replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def index_of(pattern):
    """The one step whose run script has a command matching pattern."""
    found = [i for i, step in enumerate(STEPS) if any(re.search(pattern, c) for c in commands(step))]
    assert len(found) == 1, f"{pattern!r} in steps {found}"
    return found[0]


def expand(text, env):
    """${VAR} / $VAR and ${{ env.X }} / ${{ github.workspace }} as the runner would expand them."""
    text = re.sub(r"\$\{\{\s*env\.(\w+)\s*\}\}", lambda m: env[m.group(1)], text)
    text = re.sub(r"\$\{\{\s*github\.workspace\s*\}\}", lambda m: env["GITHUB_WORKSPACE"], text)
    return re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), m.group(0)), text)


def extra_vars(command):
    """The -e NAME=VALUE pairs of a command line, with the workflow's env expanded."""
    words = shlex.split(expand(command, ENV))
    return dict(w.split("=", 1) for flag, w in zip(words, words[1:]) if flag in ("-e", "--extra-vars"))


PIPELINE_RUNS = [c for step in STEPS for c in commands(step) if re.match(r"scripts/pipeline\b", c)]
TEARDOWN = next(c for step in STEPS for c in commands(step) if "playbooks/teardown.yml" in c)


def test_actionlint_passes(actionlint):
    result = subprocess.run([actionlint, str(WORKFLOW_PATH)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_reports_a_broken_copy(actionlint, tmp_path):
    broken = tmp_path / "e2e.yml"
    broken.write_text(WORKFLOW_PATH.read_text().replace("runs-on: ubuntu-latest", "runs-on: ubuntu-lastest")
                      .replace("${{ env.E2E_OUT }}", "${{ envs.E2E_OUT }}"))
    result = subprocess.run([actionlint, str(broken)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert 'label "ubuntu-lastest" is unknown' in result.stdout and 'undefined variable "envs"' in result.stdout


def test_runs_on_pull_requests_nightly_and_by_hand_on_a_hosted_runner():
    assert set(TRIGGERS) == {"pull_request", "schedule", "workflow_dispatch"}
    # pull_request_target would run a fork's code with a write token and the secrets.
    assert "pull_request_target" not in WORKFLOW_PATH.read_text()
    crons = [entry["cron"] for entry in TRIGGERS["schedule"]]
    assert len(crons) == 1
    minute, hour, day, month, weekday = crons[0].split()
    assert minute.isdigit() and hour.isdigit() and (day, month, weekday) == ("*", "*", "*"), "nightly: once a day"
    assert job()["runs-on"] == "ubuntu-latest"
    assert 0 < job()["timeout-minutes"] <= 120
    assert WORKFLOW["concurrency"]["group"]
    # `shell: bash` runs with -o pipefail: without it a failing pipeline piped into tee would pass.
    assert WORKFLOW["defaults"]["run"]["shell"] == "bash"
    assert any("| tee" in c for c in PIPELINE_RUNS)


def test_every_path_it_runs_exists_in_this_repository():
    called = {m for step in STEPS for c in commands(step)
              for m in re.findall(r"(?<![\w./$])((?:scripts|playbooks|molecule|inventories)/[\w./-]+)", c)}
    assert {"scripts/setup", "scripts/pipeline", "molecule/kind/skip-unless", "playbooks/teardown.yml",
            "inventories/dev"} <= called
    for path in called:
        assert (ROOT / path).exists(), f"the workflow runs {path}, which this repository does not have"
    assert (SCENARIO / "verify.yml").is_file()


def test_build_deploy_verify_twice_then_the_scenario_verify_then_teardown():
    apt = index_of(r"apt-get install .*\bpodman\b.*\bcatatonit\b")
    setup = index_of(r"^scripts/setup --for pipeline$")
    skip_unless = index_of(r"^molecule/kind/skip-unless$")
    assert [shlex.split(c)[:2] for c in PIPELINE_RUNS] == [["scripts/pipeline", "dev"]] * 2
    first, second = (index_of(re.escape(c)) for c in PIPELINE_RUNS)
    recap_check = index_of(r"changed=0")
    verify = index_of(r"^molecule verify -s kind$")
    teardown = index_of(r"playbooks/teardown\.yml")
    assert apt < setup < skip_unless < first < second < recap_check < verify < teardown
    # Nothing between them may let a failure through.
    for step in STEPS[setup:teardown + 1]:
        assert "if" not in step and not step.get("continue-on-error"), step["name"]


def test_setup_uses_the_pinned_kind_and_the_projects_tools_first():
    script = STEPS[index_of(r"^scripts/setup --for pipeline$")]["run"]
    # scripts/setup keeps any kind found on PATH and downloads (sha256-checked, versions.yml) only when there is
    # none; the runner image ships one, so it has to go first.
    setup = (ROOT / "scripts/setup").read_text()
    assert "if kind_path=$(command -v kind); then" in setup and 'got=$(sha256_of "$part")' in setup
    assert script.index("command -v kind") < script.index("rm -f") < script.index("scripts/setup --for pipeline")
    assert "test -x .tools/bin/kind" in script
    assert re.search(r'"\$PWD/\.tools/bin" "\$PWD/\.venv/bin" >>"\$GITHUB_PATH"', script)
    assert ENV["KINDLING_E2E_PULL"] == "1"


def test_teardown_gets_its_confirmation_and_the_same_cluster():
    teardown = (ROOT / "playbooks/teardown.yml").read_text()
    assert "teardown_confirm == kindling_env" in teardown
    assert shlex.split(TEARDOWN)[:4] == ["ansible-playbook", "-i", "inventories/dev", "playbooks/teardown.yml"]
    assert extra_vars(TEARDOWN)["teardown_confirm"] == "dev"


def test_the_pipeline_teardown_and_the_scenario_name_the_same_cluster():
    # molecule.yml passes kind_cluster_name as an extra var, which beats the inventory's `kindling`.
    scenario_vars = dict(pair.split("=", 1) for pair in MOLECULE["provisioner"]["options"]["extra-vars"].split())
    assert scenario_vars["kind_cluster_name"] == ENV["KIND_CLUSTER"]
    for command in PIPELINE_RUNS + [TEARDOWN]:
        assert extra_vars(command)["kind_cluster_name"] == scenario_vars["kind_cluster_name"], command


def ansible_view(tmp_path, inventory, extra):
    """What Ansible itself resolves for the host in a play of the project (which lists roles/kindling_defaults
    first, as molecule's verify.yml does): work dir, kubeconfig and context."""
    ansible_playbook = shutil.which("ansible-playbook", path=str(ROOT / ".venv/bin"))
    if ansible_playbook is None:
        pytest.skip("ansible-playbook is not installed in .venv (scripts/setup)")
    out = tmp_path / f"view-{len(list(tmp_path.glob('view-*')))}.json"
    playbook = tmp_path / "view.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "build", "gather_facts": False, "roles": ["kindling_defaults"],
                                         "tasks": [{"ansible.builtin.copy": {"dest": str(out), "content": (
                                             "{{ {'work_dir': kindling_work_dir, 'kubeconfig': kubeconfig_path, "
                                             "'context': kube_context} | to_json }}")}}]}]))
    args = [ansible_playbook, "-i", str(inventory), str(playbook)]
    for name, value in extra.items():
        args += ["-e", f"{name}={value}"]
    result = subprocess.run(args, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")})
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(out.read_text())


def test_molecule_verify_reads_the_cluster_and_work_dir_the_pipeline_made(tmp_path):
    """A checkout laid out as on the runner: the pipeline's inventory, and molecule's ephemeral inventory made as
    molecule makes it (links named after molecule.yml's inventory.links, not resolved), where the workflow puts it."""
    checkout = tmp_path / "checkout"
    (checkout / "inventories").mkdir(parents=True)
    (checkout / "inventories" / "dev").symlink_to(ROOT / "inventories" / "dev")
    ephemeral = STEPS[index_of(r"^molecule verify -s kind$")]["env"]["MOLECULE_EPHEMERAL_DIRECTORY"]
    inventory = Path(expand(ephemeral, {"GITHUB_WORKSPACE": str(checkout)})) / "inventory"
    inventory.mkdir(parents=True)
    for name, source in MOLECULE["provisioner"]["inventory"]["links"].items():
        (inventory / name).symlink_to((SCENARIO / source).resolve())

    pipeline = ansible_view(tmp_path, checkout / "inventories" / "dev", extra_vars(PIPELINE_RUNS[0]))
    scenario_vars = dict(pair.split("=", 1) for pair in MOLECULE["provisioner"]["options"]["extra-vars"].split())
    scenario = ansible_view(tmp_path, inventory, scenario_vars)
    assert scenario == pipeline
    assert pipeline == {"work_dir": f"{checkout}/.work/dev", "kubeconfig": f"{checkout}/.work/dev/kubeconfig",
                        "context": f"kind-{ENV['KIND_CLUSTER']}"}


def recap_check(tmp_path, log_text):
    """The workflow's own check step, run by bash on a log in the place the second run writes it."""
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    second_log = re.search(r'\| tee "\$E2E_OUT/([\w.-]+)"', PIPELINE_RUNS[1]).group(1)
    (out / second_log).write_text(log_text)
    step = STEPS[index_of(r"changed=0")]
    assert f"$E2E_OUT/{second_log}" in step["run"], "the check reads the second run's log"
    return subprocess.run(["bash", "-eo", "pipefail", "-c", step["run"]], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "E2E_OUT": str(out)})


def real_run(tmp_path, changed, failed=False):
    """Real ansible-playbook output (with colour forced, as a runner could set it) for a play that changes or not."""
    ansible_playbook = shutil.which("ansible-playbook", path=str(ROOT / ".venv/bin"))
    if ansible_playbook is None:
        pytest.skip("ansible-playbook is not installed in .venv (scripts/setup)")
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump([{"name": "Play", "hosts": "all", "gather_facts": False, "tasks": [
        {"name": "Task", "ansible.builtin.debug": {"msg": "x"}, "changed_when": changed, "failed_when": failed}]}]))
    result = subprocess.run([ansible_playbook, "-i", "localhost,", "-c", "local", str(playbook)],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "ANSIBLE_FORCE_COLOR": "1", "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")})
    assert "PLAY RECAP" in result.stdout
    return result.stdout


def test_the_no_op_check_passes_on_changed_0(tmp_path):
    result = recap_check(tmp_path, real_run(tmp_path, changed=False))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "changed=0" in result.stdout


@pytest.mark.parametrize("what", ["changed", "failed", "no recap"])
def test_the_no_op_check_fails_on_a_change_a_failure_or_no_recap(tmp_path, what):
    log = {"changed": lambda: real_run(tmp_path, changed=True),
           "failed": lambda: real_run(tmp_path, changed=False, failed=True),
           "no recap": lambda: "PLAY [Bootstrap stage]\nTASK [kind_cluster : Create]\n"}[what]()
    result = recap_check(tmp_path, log)
    assert result.returncode != 0, result.stdout


def uploaded(path, patterns):
    """Whether upload-artifact would take path: a pattern ending in / takes the directory's tree."""
    return any(path.startswith(p) if p.endswith("/") else fnmatch.fnmatch(path, p) for p in patterns)


def test_a_failure_uploads_the_summary_release_records_and_events_but_no_kubeconfig():
    collect = [s for s in STEPS if "get events" in s.get("run", "")]
    upload = [s for s in STEPS if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert len(collect) == 1 and len(upload) == 1
    collect, upload = collect[0], upload[0]
    assert collect["if"] == upload["if"] == "failure()"
    assert STEPS.index(collect) < STEPS.index(upload)
    assert re.fullmatch(r"actions/upload-artifact@v\d+", upload["uses"])
    patterns = [expand(p.strip(), ENV) for p in upload["with"]["path"].splitlines() if p.strip()]

    # The events, from the kubeconfig the pipeline writes (kubeconfig_path: <work dir>/kubeconfig).
    events = next(c for c in commands(collect) if "get events" in c)
    assert re.search(r"\bkubectl --kubeconfig \"\$kubeconfig\" get events -A\b", events)
    assert 'kubeconfig=.work/dev/kubeconfig' in collect["run"]
    assert uploaded(expand(re.search(r'>"([^"]+)"', events).group(1), ENV), patterns)
    # Where the pipeline writes the release records and the verify report and summary.
    assert 'dir: "{{ kindling_work_dir }}/release"' in (ROOT / "playbooks/tasks/record.yml").read_text()
    verify_defaults = yaml.safe_load((ROOT / "roles/verify/defaults/main.yml").read_text())
    assert verify_defaults["verify_report_dir"] == "{{ kindling_work_dir }}/verify"
    logs = re.findall(r'tee "\$E2E_OUT/([\w.-]+)"', WORKFLOW_PATH.read_text())  # each run's summary and recap
    assert len(logs) == 3
    for path in [".work/dev/release/verified.json", ".work/dev/release/deployed.json", ".work/dev/verify/summary.txt",
                 ".work/dev/verify/report.json"] + [expand(f"$E2E_OUT/{name}", ENV) for name in logs]:
        assert uploaded(path, patterns), path
    # Cluster credentials never leave the runner: neither the pipeline's kubeconfig nor the fallback copy.
    assert not uploaded(".work/dev/kubeconfig", patterns)
    fallback = re.search(r"kubeconfig=(\S+)\n", collect["run"].split("then", 1)[1]).group(1)
    assert not uploaded(expand(fallback, {**ENV, "RUNNER_TEMP": "/runner/_temp"}), patterns)
    # Teardown deletes the work dir: the logs live outside it.
    assert not ENV["E2E_OUT"].startswith(".work/dev")


def test_no_secrets_and_a_read_only_token():
    text = WORKFLOW_PATH.read_text()
    assert "secrets." not in text and "GITHUB_TOKEN" not in text
    assert WORKFLOW["permissions"] == {"contents": "read"}
    for step in STEPS:
        # Expressions reach scripts through env, never pasted into them.
        assert "${{" not in step.get("run", ""), step["name"]
