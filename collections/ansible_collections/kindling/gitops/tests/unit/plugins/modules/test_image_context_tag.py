# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The image_context_tag module: options in, one result out; exit_json/fail_json patched to raise."""

from __future__ import annotations

import re

import pytest

from ansible_collections.kindling.gitops.tests.unit.plugins.modules.harness import ModuleFail, run_module
from ansible_collections.kindling.gitops.plugins.modules import image_context_tag


@pytest.fixture
def context(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "VERSION").write_text("1.0.0\n")
    (tmp_path / ".dockerignore").write_text("notes.txt\n")
    (tmp_path / "notes.txt").write_text("ignored\n")
    return tmp_path


def _run(**args):
    return run_module(image_context_tag, args)


def _fail(**args):
    return run_module(image_context_tag, args, ModuleFail)


def test_returns_tag_and_never_changes(context):
    result = _run(path=str(context), build_args={"BASE_IMAGE": "python:3.12-slim"})
    assert result["changed"] is False
    assert re.match(r"^1\.0\.0-[0-9a-f]{12}$", result["tag"])
    assert result["files"] == [".dockerignore", "Dockerfile", "VERSION"]


def test_check_mode_gives_the_same_tag(context):
    normal = _run(path=str(context))
    checked = _run(path=str(context), _ansible_check_mode=True)
    assert checked["tag"] == normal["tag"]


@pytest.mark.parametrize("args, field", [
    ({"version": "1.0+x"}, "version"),
    ({"dockerfile": "../Dockerfile"}, "dockerfile"),
    ({"build_args": {"bad-name": "1"}}, "build_args"),
])
def test_bad_options_fail_naming_the_field(context, args, field):
    failed = _fail(path=str(context), **args)
    assert failed["field"] == field
    assert failed["msg"].startswith(field + ":")


def test_missing_context_fails_naming_path(tmp_path):
    failed = _fail(path=str(tmp_path / "absent"))
    assert failed["field"] == "path"
