# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.kindling.gitops.plugins.vars.yaml_syntax import syntax_error


def test_a_syntax_error_names_file_line_and_column(tmp_path):
    path = tmp_path / "main.yml"
    path.write_text("a: 1\nb: [1, 2\nc: 3\n")
    assert syntax_error(str(path)) == (
        "%s:3:2: YAML syntax error: while parsing a flow sequence did not find expected ',' or ']' "
        "(it starts at line 2, column 4)" % path)


def test_good_yaml_with_ansible_tags_passes(tmp_path):
    path = tmp_path / "vault.yml"
    path.write_text("token: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3031\nraw: !unsafe '{{ x }}'\n")
    assert syntax_error(str(path)) is None
