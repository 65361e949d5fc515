# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a module's main() in-process: exit_json/fail_json raise, so a test reads the result it would return."""

from __future__ import annotations

from unittest import mock

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args


class ModuleExit(Exception):
    """exit_json was called; args[0] is the result."""


class ModuleFail(Exception):
    """fail_json was called; args[0] is the result."""


def _exit_json(self, **kwargs):
    raise ModuleExit(kwargs)


def _fail_json(self, **kwargs):
    raise ModuleFail(kwargs)


def run_module(main, args):
    """Call main() with module args; returns the exit_json result or raises ModuleFail."""
    with mock.patch.multiple(basic.AnsibleModule, exit_json=_exit_json, fail_json=_fail_json):
        with patch_module_args(args):
            try:
                main()
            except ModuleExit as exited:
                return exited.args[0]
    raise AssertionError("the module returned without calling exit_json or fail_json")
