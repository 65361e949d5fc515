"""PATH manipulation for tests of what the project does when a tool is missing or is another one.

`path_without(tmp, names)` returns a PATH where every directory holding one of `names` is replaced by a
shadow directory of links to its other executables, so those names are not found at all, while everything
else resolves as before. `prepend(path, directory)` puts a directory of fakes first.
"""
import os
from pathlib import Path


def _link(target: Path, link: Path) -> None:
    # A venv's python must be started by its own path (CPython looks for pyvenv.cfg next to the unresolved
    # executable), so it gets a wrapper that execs it; everything else is a plain symlink.
    if target.name.startswith("python") and (target.parent.parent / "pyvenv.cfg").exists():
        link.write_text(f'#!/bin/sh\nexec "{target}" "$@"\n')
        link.chmod(0o755)
    else:
        link.symlink_to(target)


def path_without(tmp: Path, names: set[str] | list[str], path: str | None = None) -> str:
    names = set(names)
    result = []
    for index, entry in enumerate((path if path is not None else os.environ["PATH"]).split(os.pathsep)):
        directory = Path(entry)
        if not entry or not directory.is_dir():
            continue
        if not any((directory / name).exists() for name in names):
            result.append(entry)
            continue
        shadow = tmp / f"shadow-{index}"
        shadow.mkdir(parents=True, exist_ok=True)
        for item in directory.iterdir():
            if item.name in names or not os.access(item, os.X_OK) or item.is_dir():
                continue
            _link(item, shadow / item.name)
        result.append(str(shadow))
    return os.pathsep.join(result)


def prepend(path: str, directory: Path) -> str:
    return os.pathsep.join([str(directory), path])


def write_executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path
