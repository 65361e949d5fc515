# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs a module's main() in-process with exit_json/fail_json patched to raise, for every module's unit tests."""

from __future__ import annotations

from unittest import mock

import pytest

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


def run_module(module, args, outcome=ModuleExit):
    """main() with `args`; the result dict of the expected outcome (ModuleExit or ModuleFail)."""
    with mock.patch.multiple(basic.AnsibleModule, exit_json=_exit_json, fail_json=_fail_json):
        with patch_module_args(args):
            with pytest.raises(outcome) as raised:
                module.main()
    return raised.value.args[0]
