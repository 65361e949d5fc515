# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: yaml_syntax
short_description: Name the file, line and column of a YAML error in group_vars and host_vars
version_added: 0.2.0
description:
  - ansible-core 2.19 reports a YAML error in an inventory's C(group_vars) or C(host_vars) file as
    C(YAML parsing failed) without saying which file. Enabled before C(host_group_vars) in
    C(vars_plugins_enabled), this plugin reads the same files first, with the same file names
    (DataLoader.find_vars_files), and fails with C(FILE:LINE:COLUMN) and the parser's words.
  - It returns no variables; C(host_group_vars) still loads them. Tags such as C(!vault) and C(!unsafe) are
    accepted as they are. Each file is read once per change of its modification time.
author:
  - kindling.gitops maintainers (@kindling)
options:
  stage:
    description: When to run (see the vars plugins' C(stage) setting).
    ini:
      - key: stage
        section: vars_kindling_yaml_syntax
    env:
      - name: ANSIBLE_VARS_PLUGIN_STAGE
'''

import os

from ansible.errors import AnsibleParserError
from ansible.inventory.group import InventoryObjectType
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.vars import BaseVarsPlugin
from ansible.utils.path import basedir

try:
    import yaml
    _BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
except ImportError:  # pragma: no cover - ansible-core depends on PyYAML
    yaml = None
    _BASE_LOADER = object

# (path, mtime) of the files already read without error.
_CHECKED = set()


class _TaggedLoader(_BASE_LOADER):  # pylint: disable=too-few-public-methods
    """SafeLoader that takes any local tag (!vault, !unsafe) as a plain value: only the syntax is checked."""


if yaml is not None:
    _TaggedLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def syntax_error(path):
    """'FILE:LINE:COLUMN: problem' for a YAML syntax error in path, else None."""
    with open(path, "rb") as handle:
        text = handle.read()
    try:
        yaml.load(text, Loader=_TaggedLoader)  # nosec - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = "%s:%d:%d" % (path, mark.line + 1, mark.column + 1) if mark is not None else path
        words = " ".join(part for part in (getattr(error, "context", None), getattr(error, "problem", None)) if part)
        start = getattr(error, "context_mark", None)
        started = " (it starts at line %d, column %d)" % (start.line + 1, start.column + 1) if start is not None else ""
        return "%s: YAML syntax error: %s%s" % (where, words or to_text(error), started)
    return None


class VarsModule(BaseVarsPlugin):

    def get_vars(self, loader, path, entities, cache=True):
        super(VarsModule, self).get_vars(loader, path, entities)
        if yaml is None:
            return {}
        if not isinstance(entities, list):
            entities = [entities]
        root = os.path.realpath(basedir(path))
        for entity in entities:
            name = getattr(entity, "name", None)
            if not name or name.startswith(os.path.sep):
                continue
            subdir = "host_vars" if getattr(entity, "base_type", None) is InventoryObjectType.HOST else "group_vars"
            directory = os.path.join(root, subdir)
            if not os.path.isdir(directory):
                continue
            for found in loader.find_vars_files(directory, name):
                found = to_text(found)
                key = (found, os.path.getmtime(found))
                if key in _CHECKED:
                    continue
                problem = syntax_error(found)
                if problem:
                    raise AnsibleParserError(problem)
                _CHECKED.add(key)
        return {}
