# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Jinja tests roles use for the shared rules, through a real Jinja environment as Ansible loads them."""

from __future__ import annotations

import importlib

import jinja2
import pytest

TESTS = ("quantity", "resources", "commit_sha", "digest", "dns_label", "registry_host", "image_repository", "image_tag")


@pytest.fixture(scope="module")
def env():
    environment = jinja2.Environment()
    for name in TESTS:
        module = importlib.import_module("ansible_collections.kindling.gitops.plugins.test." + name)
        environment.tests.update(module.TestModule().tests())
    return environment


@pytest.mark.parametrize("test, value, expected", [
    ("quantity", "100m", True), ("quantity", "100x", False), ("quantity", "12Qi", False), ("quantity", 2, True),
    ("resources", {"requests": {"cpu": "50m"}, "limits": {"memory": "128Mi"}}, True),
    ("resources", {"requests": {"cpu": "100x"}}, False), ("resources", {"limits": {"memory": "12Qi"}}, False),
    ("commit_sha", "9f2c1e0", True), ("commit_sha", "9f2c1e", False), ("commit_sha", "a" * 64, False),
    ("digest", "sha256:" + "a" * 64, True), ("digest", "sha256:abc", False),
    ("dns_label", "app1-dev", True), ("dns_label", "Argo_CD", False),
    ("registry_host", "localhost:5001", True), ("registry_host", "[::1]:5000", True),
    ("registry_host", "https://ghcr.io", False), ("image_repository", "org/app1", True),
    ("image_repository", "localhost:5001/app1", False), ("image_repository", "App1", False),
    ("image_tag", "1.0.0-3f2a1bc", True), ("image_tag", "-x", False), ("image_tag", "v" * 129, False),
])
def test_rule_tests(env, test, value, expected):
    assert env.from_string("{{ value is %s }}" % test).render(value=value) == str(expected)
