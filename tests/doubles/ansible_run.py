"""Run real ansible-playbook from tests and read its per-task results (json callback)."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOUBLES_BIN = Path(__file__).resolve().parent / "bin"


def playbook_env(tmp_path, fakes=True, **extra):
    """Environment for ansible-playbook: the project's config, fake kind/docker/helm first on PATH when fakes."""
    env = dict(os.environ)
    path = [str(ROOT / ".tools" / "bin"), str(ROOT / ".venv" / "bin"), env["PATH"]]
    if fakes:
        path.insert(0, str(DOUBLES_BIN))
    env.update({
        "PATH": os.pathsep.join(path),
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "json",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "FAKE_KIND_STATE": str(tmp_path / "fake-kind.json"),
        "FAKE_HELM_STATE": str(tmp_path / "fake-helm.json"),
        "FAKE_CLI_LOG": str(tmp_path / "fake-cli.jsonl"),
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


def fake_calls(tmp_path, tool=None):
    log = tmp_path / "fake-cli.jsonl"
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return [c for c in calls if tool is None or c["tool"] == tool]


class PlaybookRun:
    def __init__(self, completed):
        self.rc = completed.returncode
        self.stderr = completed.stderr
        try:
            self.data = json.loads(completed.stdout)
        except ValueError:
            raise AssertionError(f"ansible-playbook printed no JSON (rc={self.rc}):\n{completed.stdout}\n{completed.stderr}")

    @property
    def stats(self):
        return self.data["stats"]["localhost"]

    def results(self):
        """[(task name, result)] for localhost, in order."""
        out = []
        for play in self.data["plays"]:
            for task in play["tasks"]:
                if "localhost" in task["hosts"]:
                    out.append((task["task"]["name"], task["hosts"]["localhost"]))
        return out

    def result(self, name):
        matches = [r for n, r in self.results() if n == name or n.endswith(" : " + name)]
        assert matches, f"no task named {name!r}; tasks: {[n for n, _ in self.results()]}"
        return matches[-1]

    def failure(self):
        failed = [(n, r) for n, r in self.results() if r.get("failed")]
        return failed[0] if failed else None


def run_playbook(playbook, env, *args, inventory=None, cwd=ROOT, timeout=300):
    command = ["ansible-playbook", str(playbook), *args]
    if inventory:
        command += ["-i", str(inventory)]
    completed = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    return PlaybookRun(completed)
