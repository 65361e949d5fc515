"""What the integration tests build once per test session and share, across pytest-xdist's workers too: the
app's wheelhouse and image, the registry look-alike image, one registry (each test takes a repository of its own).

The first worker that asks makes the thing under a file lock in the directory every worker's temp dir shares;
the others wait for it and read what it recorded. A thing that cannot be made here records why, and every test
that asks for it skips with that reason. Nothing is removed while workers may still use it: each maker lists
what to undo, and the controlling process undoes it once the whole session is over (`finish`).
"""
import json
import os
import signal
import shutil
import subprocess
import tempfile
from pathlib import Path

from filelock import FileLock

UNDO = "undo.jsonl"


class Unavailable(Exception):
    """Raised by a maker when what it makes cannot be made on this machine; the message says why."""


ENV = "KINDLING_TEST_SESSION_DIR"


def start(config) -> None:
    """Called by the controlling process before any worker starts: workers inherit the directory through the
    environment."""
    if not hasattr(config, "workerinput") and ENV not in os.environ:
        os.environ[ENV] = tempfile.mkdtemp(prefix="kindling-test-session-")


def shared_root() -> Path:
    """The directory every worker of this session shares."""
    return Path(os.environ[ENV])


def once(name: str, make):
    """make(directory) -> a JSON-able value, run by one process per session; every caller gets its value.
    Raises Unavailable (every time, for every caller) when the maker found it cannot be made here."""
    root = shared_root()
    directory, record = root / name, root / f"{name}.json"
    with FileLock(str(root / f"{name}.lock")):
        if not record.exists():
            directory.mkdir(parents=True, exist_ok=True)
            try:
                made = {"value": make(directory)}
            except Unavailable as why:
                made = {"unavailable": str(why)}
            record.write_text(json.dumps(made))
        made = json.loads(record.read_text())
    if "unavailable" in made:
        raise Unavailable(made["unavailable"])
    return made["value"]


def undo_later(step: dict) -> None:
    """Record a step for the end of the session: {"argv": [...]} to run, or {"kill": pid}."""
    root = shared_root()
    with FileLock(str(root / f"{UNDO}.lock")):
        with open(root / UNDO, "a") as steps:
            steps.write(json.dumps(step) + "\n")


def finish(config) -> None:
    """Undo, in reverse order, what the session's makers recorded, then remove the directory (called once, by
    the controlling process, after every worker is done)."""
    if hasattr(config, "workerinput") or ENV not in os.environ:
        return
    root = shared_root()
    path = root / UNDO
    for line in reversed(path.read_text().splitlines() if path.exists() else []):
        step = json.loads(line)
        if "kill" in step:
            try:
                os.kill(step["kill"], signal.SIGTERM)
            except ProcessLookupError:
                pass
        else:
            subprocess.run(step["argv"], capture_output=True, timeout=120)
    shutil.rmtree(root, ignore_errors=True)
    del os.environ[ENV]
