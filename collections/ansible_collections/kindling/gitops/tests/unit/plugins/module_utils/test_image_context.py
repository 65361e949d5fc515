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


def _sent(tmp_path, dockerignore, paths):
    """The files of a context holding `paths` (plus a Dockerfile) that compute_tag hashes."""
    context = _context(tmp_path / "ctx", dict({p: "" for p in paths}, Dockerfile="FROM scratch\n", VERSION="1\n"),
                       dockerignore)
    return set(ic.compute_tag(str(context))["files"])


# moby/patternmatcher patternmatcher_test.go (commit fb92fca), TestMatches: (pattern, path, excluded), the cases
# that name a file path; each path is made a file in a real context and must be left out exactly when moby matches.
MOBY_MATCHES = [
    ("**", "file", True), ("**", "dir/file", True), ("**/", "dir/file", True), ("**/**", "dir/file", True),
    ("dir/**", "dir/file", True), ("dir/**", "dir/dir2/file", True), ("**/dir", "dir/file", True),
    ("**/dir2/*", "dir/dir2/file", True), ("**/dir2/**", "dir/dir2/dir3/file", True), ("**file", "file", True),
    ("**file", "dir/file", True), ("**/file", "dir/file", True), ("**file", "dir/dir/file", True),
    ("**/file", "dir/dir/file", True), ("**/file*", "dir/dir/file", True), ("**/file*", "dir/dir/file.txt", True),
    ("**/file*txt", "dir/dir/file.txt", True), ("**/file*.txt", "dir/dir/file.txt", True),
    ("**/file*.txt*", "dir/dir/file.txt", True), ("**/**/*.txt", "dir/dir/file.txt", True),
    ("**/**/*.txt2", "dir/dir/file.txt", False), ("**/*.txt", "file.txt", True), ("**/**/*.txt", "file.txt", True),
    ("a**/*.txt", "a/file.txt", True), ("a**/*.txt", "a/dir/file.txt", True), ("a**/*.txt", "a/dir/dir/file.txt", True),
    ("a/*.txt", "a/dir/file.txt", False), ("a/*.txt", "a/file.txt", True), ("a/*.txt**", "a/file.txt", True),
    ("a[b-d]e", "ae", False), ("a[b-d]e", "ace", True), ("a[b-d]e", "aae", False), (".*", ".foo", True),
    (".*", "foo", False), ("abc.def", "abcdef", False), ("abc.def", "abc.def", True), ("abc.def", "abcZdef", False),
    ("abc?def", "abcZdef", True), ("abc?def", "abcdef", False), ("**/foo/bar", "foo/bar", True),
    ("**/foo/bar", "dir/foo/bar", True), ("**/foo/bar", "dir/dir2/foo/bar", True), ("abc/**", "abc/def", True),
    ("abc/**", "abc/def/ghi", True), ("**/.foo", ".foo", True), ("**/.foo", "bar.foo", False),
    ("a(b)c/def", "a(b)c/def", True), ("a(b)c/def", "a(b)c/xyz", False), ("a.|)$(}+{bc", "a.|)$(}+{bc", True),
    ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", True),
    # multiPatternTests
    ("**\n!util/docker/web", "util/docker/web/foo", False),
    ("**\n!util/docker/web\nutil/docker/web/foo", "util/docker/web/foo", True),
    ("**\n!dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", False),
]

# Where the Docker SDK (and so community.docker's build) parts from moby: Go's filepath.Match negated class
# [^...] and backslash escapes. These assert what the build really receives; if a docker release aligns with
# moby, they fail and the cases move up.
SDK_DIFFERS_FROM_MOBY = [("a[^b-d]e", "aze", False), ("a\\\\", "a\\", False), ("a\\*b", "a*b", False)]


@pytest.mark.parametrize("patterns, path, excluded", MOBY_MATCHES + SDK_DIFFERS_FROM_MOBY)
def test_dockerignore_cases_from_moby_patternmatcher(tmp_path, patterns, path, excluded):
    assert (path not in _sent(tmp_path, patterns, [path])) is excluded


# docker/docker-py tests/unit/utils_build_test.py (commit 30089ec), ExcludePathsTest: its tree and cases.
DOCKER_PY_FILES = ["Dockerfile.alt", "a.py", "a.go", "b.py", "cde.py", "foo/a.py", "foo/b.py", "foo/bar/a.py",
                   "bar/a.py", "foo/Dockerfile3", "target/file.txt", "target/subdir/file.txt", "subdir/file.txt",
                   "subdir/target/file.txt", "subdir/target/subdir/file.txt", "subdir/subdir2/file.txt",
                   "subdir/subdir2/target/file.txt", "subdir/subdir2/target/subdir/file.txt"]
ALWAYS = {"Dockerfile", "VERSION", ".dockerignore"}


@pytest.mark.parametrize("patterns, left_out", [
    ("a.py", {"a.py"}), ("./a.py", {"a.py"}), ("a.py/", {"a.py"}), ("*.py", {"a.py", "b.py", "cde.py"}),
    ("*.py\n!b.py", {"a.py", "cde.py"}), ("*.*\n!*.go", {"a.py", "b.py", "cde.py", "Dockerfile.alt"}),
    ("a.*", {"a.py", "a.go"}), ("?.py", {"a.py", "b.py"}), ("foo/a.py", {"foo/a.py"}), ("/foo/a.py", {"foo/a.py"}),
    ("foo/whoops/../a.py", {"foo/a.py"}), ("foo/*.py", {"foo/a.py", "foo/b.py"}), ("*/a.py", {"foo/a.py", "bar/a.py"}),
    ("*/*.py", {"foo/a.py", "foo/b.py", "bar/a.py"}), ("foo", {"foo/a.py", "foo/b.py", "foo/bar/a.py", "foo/Dockerfile3"}),
    ("foo\n!foo/bar/a.py", {"foo/a.py", "foo/b.py", "foo/Dockerfile3"}),
    ("foo\n!foo/bar", {"foo/a.py", "foo/b.py", "foo/Dockerfile3"}),
    ("foo\n!foo/*.py", {"foo/bar/a.py", "foo/Dockerfile3"}), ("foo/bar", {"foo/bar/a.py"}),
    ("**/a.py", {"a.py", "foo/a.py", "foo/bar/a.py", "bar/a.py"}), ("foo/**/bar", {"foo/bar/a.py"}),
    ("**/target/*/*", {"target/subdir/file.txt", "subdir/target/subdir/file.txt",
                       "subdir/subdir2/target/subdir/file.txt"}),
    ("subdir/**", {f for f in DOCKER_PY_FILES if f.startswith("subdir/")}),
    ("../a.py\n/../b.py", {"a.py", "b.py"}),
    ("Dockerfile\n.dockerignore", set()),
])
def test_dockerignore_cases_from_docker_py(tmp_path, patterns, left_out):
    assert _sent(tmp_path, patterns, DOCKER_PY_FILES) == (set(DOCKER_PY_FILES) | ALWAYS) - left_out


def test_docker_py_wildcard_keeps_only_what_docker_always_sends(tmp_path):
    assert _sent(tmp_path, "*", DOCKER_PY_FILES) == {"Dockerfile", ".dockerignore"}
    kept = {"foo/bar/a.py", "bar/a.py", "Dockerfile", ".dockerignore"}
    assert _sent(tmp_path, "**\n!bar\n!foo/bar", DOCKER_PY_FILES) == kept
    # "surprising but it matches the CLI's behavior": an exception under an excluded directory's wildcard
    assert _sent(tmp_path, "*\n!*/b.py", ["a/b.py"]) == {"Dockerfile", ".dockerignore"}


def test_comments_and_blank_lines_are_not_patterns(tmp_path):
    assert _sent(tmp_path, "# a.py\n\n  b.py  \n", ["a.py", "b.py"]) == {"a.py"} | ALWAYS


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


def test_dockerfile_and_dockerignore_are_hashed_even_when_ignored(tmp_path):
    """Docker sends both anyway (docker-py test_exclude_dockerfile_dockerignore; the classic builder)."""
    context = _context(tmp_path, BASE_FILES, "Dockerfile\n.dockerignore\n")
    before = ic.compute_tag(str(context))
    assert "Dockerfile" in before["files"] and ".dockerignore" in before["files"]
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
