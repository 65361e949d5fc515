"""Contract cases of one test file in ONE ansible-playbook run.

Each case is a host of its own in a generated inventory (local connection): its tasks (a tasks file of its own,
included by one play over every host), its variables and its environment (FAKE_* state files, a kubeconfig of a
Kubernetes API double of its own). So the cases run side by side (Ansible's forks), a case that fails stops no
other, and the file pays for one ansible-playbook instead of one per test. The module fixture runs the batch; each
test reads its own case's results and asserts on them.

Check mode and diff are per task (`check_mode: true`, `diff: true`), since the command line would apply to all.
"""
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from doubles.ansible_run import ROOT, playbook_env

NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass
class Case:
    name: str
    tasks: list
    env: dict = field(default_factory=dict)
    vars: dict = field(default_factory=dict)


@dataclass
class CaseResult:
    """What one case's host did: its tasks in order, as the json callback reports them; output is the whole
    run's stdout and stderr (for checks that nothing, in any case, printed a secret)."""
    host: str
    tasks: list
    output: str = ""

    def result(self, name: str) -> dict:
        matches = self.results(name)
        assert matches, f"{self.host}: no task named {name!r}; tasks: {[n for n, _ in self.tasks]}"
        return matches[-1]

    def results(self, name: str) -> list:
        return [r for n, r in self.tasks if n == name or n.endswith(" : " + name)]

    def failure(self):
        failed = [(n, r) for n, r in self.tasks if r.get("failed")]
        return failed[0] if failed else None

    @property
    def changed(self) -> list:
        return [n for n, r in self.tasks if r.get("changed")]


def role_task(role: str, name: str | None = None, tasks_from: str | None = None, apply: dict | None = None,
              **variables) -> dict:
    """A case's task that runs one of the project's roles: include_role, `apply` (check_mode, environment) on
    the role's tasks, and the role's variables for this run."""
    include = {"name": str(ROOT / "roles" / role)}
    if tasks_from:
        include["tasks_from"] = tasks_from
    if apply:
        include["apply"] = apply
    task = {"name": name or role, "ansible.builtin.include_role": include}
    if variables:
        task["vars"] = variables
    return task


def run_batch(tmp_path: Path, cases: list, forks: int = 16, timeout: int = 600, vars_files=(), **env) -> dict:
    """Run every case; {case name: CaseResult}. vars_files: the play's (versions.yml, as every playbook loads it);
    env: the environment of ansible-playbook itself, the same for every case (lookups read it)."""
    names = [case.name for case in cases]
    assert len(set(names)) == len(names) and all(NAME.match(n) for n in names), names
    hosts = {}
    for case in cases:
        tasks_file = tmp_path / f"case-{case.name}.yml"
        tasks_file.write_text(json.dumps(case.tasks))
        hosts[case.name] = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                            "case_tasks": str(tasks_file), "case_env": {k: str(v) for k, v in case.env.items()},
                            **case.vars}
    inventory = tmp_path / "cases.json"
    inventory.write_text(json.dumps({"all": {"hosts": hosts}}))
    playbook = tmp_path / "cases.yml"
    playbook.write_text(json.dumps([{
        # free: each host goes through its own tasks file at its own pace (linear would run one file at a time).
        "name": "Every case on its own host", "hosts": "all", "gather_facts": False, "strategy": "free",
        "vars_files": [str(path) for path in vars_files], "environment": "{{ case_env }}",
        "tasks": [{"name": "Run the case", "ansible.builtin.include_tasks": "{{ case_tasks }}"}]}]))
    completed = subprocess.run(["ansible-playbook", "-i", str(inventory), str(playbook), "--forks", str(forks)],
                               env=playbook_env(tmp_path, **env), cwd=tmp_path, capture_output=True, text=True,
                               timeout=timeout)
    try:
        data = json.loads(completed.stdout)
    except ValueError:
        raise AssertionError(f"ansible-playbook printed no JSON (rc={completed.returncode}):\n"
                             f"{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}")
    per_host = {name: [] for name in names}
    for play in data["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                per_host[host].append((task["task"]["name"], result))
    return {name: CaseResult(name, per_host[name], completed.stdout + completed.stderr) for name in names}

