# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""image_context: .dockerignore semantics (moby's), what goes into the hash, and the tag's form."""

from __future__ import annotations

import os
import re

import pytest

from ansible_collections.kindling.gitops.plugins.module_utils import image_context as ic


def _context(tmp_path, files, dockerignore=None):
    for rel, content in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    if dockerignore is not None:
        (tmp_path / ".dockerignore").write_text(dockerignore)
    return tmp_path


BASE_FILES = {"Dockerfile": "FROM scratch\nCOPY . /\n", "VERSION": "1.2.3\n", "src/app.py": "print(1)\n"}


# Cases from Docker's .dockerignore reference and moby/patternmatcher's tests.
@pytest.mark.parametrize("patterns, path, excluded", [
    ("*/temp*", "somedir/temporary.txt", True),
    ("*/temp*", "temp", False),
    ("*/*/temp*", "somedir/subdir/temporary.txt", True),
    ("temp?", "temp1", True),
    ("temp?", "temp12", False),
    ("**/*.go", "a/b/c.go", True),
    ("**/*.go", "c.go", True),
    ("*.md\n!README.md", "README.md", False),
    ("*.md\n!README.md", "CHANGES.md", True),
    ("*.md\n!README*.md\nREADME-secret.md", "README-secret.md", True),
    ("*.md\nREADME-secret.md\n!README*.md", "README-secret.md", False),
    ("docs", "docs/a/b.md", True),
    ("docs/", "docs/a/b.md", True),
    ("/build", "build/x", True),
    ("./build/../build", "build/x", True),
    ("*.pyc", "pkg/mod.pyc", False),
    ("**/__pycache__", "pkg/__pycache__/mod.pyc", True),
    ("[a-c]x.txt", "bx.txt", True),
    ("[a-c]x.txt", "dx.txt", False),
    ("a\\*b", "a*b", True),
    ("a\\*b", "axb", False),
    ("file.txt", "filextxt", False),
    ("# comment only", "# comment only", False),
    ("  spaced.txt  ", "spaced.txt", True),
])
def test_dockerignore_semantics(patterns, path, excluded):
    assert ic.is_excluded(path, ic.parse_dockerignore(patterns)) is excluded


def test_ignored_files_outside_files_and_mtimes_do_not_change_the_tag(tmp_path):
    context = _context(tmp_path / "ctx", dict(BASE_FILES, **{"docs/n.md": "a"}), "docs\n*.log\n")
    first = ic.compute_tag(str(context))
    (context / "docs" / "n.md").write_text("edited")
    (context / "debug.log").write_text("noise")
    (tmp_path / "outside.txt").write_text("next to the context")
    os.utime(context / "src" / "app.py", (1, 1))
    assert ic.compute_tag(str(context)) == first
    assert "debug.log" not in first["files"] and "docs/n.md" not in first["files"]


@pytest.mark.parametrize("change", ["content", "new_file", "exec_bit", "dockerfile", "empty_dir", "symlink"])
def test_anything_the_build_sees_changes_the_tag(tmp_path, change):
    context = _context(tmp_path, BASE_FILES)
    before = ic.compute_tag(str(context))["tag"]
    if change == "content":
        (context / "src" / "app.py").write_text("print(2)\n")
    elif change == "new_file":
        (context / "src" / "extra.py").write_text("")
    elif change == "exec_bit":
        os.chmod(context / "src" / "app.py", 0o755)
    elif change == "dockerfile":
        (context / "Dockerfile").write_text("FROM scratch\nCOPY src /\n")
    elif change == "empty_dir":
        (context / "var").mkdir()
    else:
        os.symlink("app.py", context / "src" / "link.py")
    assert ic.compute_tag(str(context))["tag"] != before


def test_dockerfile_is_hashed_even_when_ignored(tmp_path):
    context = _context(tmp_path, BASE_FILES, "Dockerfile\n.dockerignore\n")
    before = ic.compute_tag(str(context))
    assert "Dockerfile" in before["files"] and ".dockerignore" not in before["files"]
    (context / "Dockerfile").write_text("FROM scratch\n")
    assert ic.compute_tag(str(context))["tag"] != before["tag"]


def test_exception_reincludes_a_file_in_an_excluded_directory(tmp_path):
    context = _context(tmp_path, dict(BASE_FILES, **{"docs/keep.md": "k", "docs/drop.md": "d"}), "docs\n!docs/keep.md\n")
    files = ic.compute_tag(str(context))["files"]
    assert "docs/keep.md" in files and "docs/drop.md" not in files


def test_build_args_and_extra_inputs_are_hashed_apart(tmp_path):
    context = _context(tmp_path, BASE_FILES)
    plain = ic.compute_tag(str(context))["tag"]
    with_arg = ic.compute_tag(str(context), build_args={"BASE_IMAGE": "python:3.12-slim"})["tag"]
    as_input = ic.compute_tag(str(context), extra_inputs={"BASE_IMAGE": "python:3.12-slim"})["tag"]
    other_arg = ic.compute_tag(str(context), build_args={"BASE_IMAGE": "python:3.13-slim"})["tag"]
    assert len({plain, with_arg, as_input, other_arg}) == 4


def test_tag_form_and_digest(tmp_path):
    result = ic.compute_tag(str(_context(tmp_path, BASE_FILES)))
    assert result["version"] == "1.2.3"
    assert re.match(r"^1\.2\.3-[0-9a-f]{12}$", result["tag"])
    assert result["context_digest"].startswith("sha256:" + result["tag"].split("-", 1)[1])
    assert ic.compute_tag(str(tmp_path), version="2.0.0-rc.1")["tag"].startswith("2.0.0-rc.1-")


@pytest.mark.parametrize("kwargs, field", [
    ({"version": "1.0.0+build"}, "version"),
    ({"version_file": "NOPE"}, "version_file"),
    ({"dockerfile": "../Dockerfile"}, "dockerfile"),
    ({"dockerfile": "Missing"}, "dockerfile"),
    ({"build_args": {"1BAD": "x"}}, "build_args"),
    ({"build_args": {"EMPTY": None}}, "build_args"),
    ({"version": "v" * 120}, "version"),
])
def test_bad_options_name_the_field(tmp_path, kwargs, field):
    context = _context(tmp_path, BASE_FILES)
    with pytest.raises(ic.ContextError) as caught:
        ic.compute_tag(str(context), **kwargs)
    assert caught.value.field == field
    assert str(caught.value).startswith(field + ":")


def test_missing_context_names_path(tmp_path):
    with pytest.raises(ic.ContextError) as caught:
        ic.compute_tag(str(tmp_path / "nope"))
    assert caught.value.field == "path"


def test_exclude_drops_bookkeeping_files_even_past_exceptions(tmp_path):
    context = _context(tmp_path, dict(BASE_FILES, **{"wheels/a.whl": "w", "wheels/.stamp": "1"}), "*\n!wheels/\n!Dockerfile\n")
    before = ic.compute_tag(str(context), exclude=["wheels/.stamp"])
    assert "wheels/a.whl" in before["files"] and "wheels/.stamp" not in before["files"]
    (context / "wheels" / ".stamp").write_text("2")
    assert ic.compute_tag(str(context), exclude=["wheels/.stamp"])["tag"] == before["tag"]
    assert ic.compute_tag(str(context))["tag"] != before["tag"]
