# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The wiring check's action plugin: the links a run follows (the tags judged by Ansible's own rule), the module's
releases built from the platform role's list, and the strict mode."""

from __future__ import annotations

from unittest import mock

import pytest

from ansible.errors import AnsibleActionFail

from ansible_collections.kindling.gitops.plugins.action import wiring_check
from ansible_collections.kindling.gitops.plugins.plugin_utils.tags import tag_rule

SETTINGS = {"cluster_provider": "kind", "cluster_flavor": "kubernetes", "verify_ingress": "true",
            "verify_port_forward": True, "verify_direct_url": ""}


def action(args, module_result=None):
    task = mock.MagicMock(args=args, async_val=0, check_mode=False, diff=False)
    plugin = wiring_check.ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=None,
                                       shared_loader_obj=None)
    plugin._execute_module = mock.MagicMock(return_value=dict(module_result or {}))
    return plugin


@pytest.mark.parametrize("tags, run_tags, skip_tags, runs", [
    (["argocd", "deploy"], ["all"], [], True),
    (["argocd", "deploy"], ["all"], ["argocd"], False),
    (["argocd", "deploy"], ["build"], [], False),
    (["argocd", "deploy"], ["all"], ["bootstrap"], True),
    (["verify"], ["tagged"], [], True),
    (["verify"], ["untagged"], [], False),
])
def test_tags_are_judged_by_ansible_s_own_rule(tags, run_tags, skip_tags, runs):
    assert tag_rule(run_tags, skip_tags)(tags) is runs


def test_plan_only_decides_without_running_the_module():
    plugin = action({"plan_only": True, "stages": [{"role": "image", "entry": "main"}], "run_tags": ["all"],
                     "skip_tags": [], "settings": SETTINGS})
    result = plugin.run(task_vars={})
    assert result["applies"] is False and not plugin._execute_module.called
    plugin = action({"plan_only": True, "run_tags": ["all"], "skip_tags": ["bootstrap", "argocd"], "settings": SETTINGS})
    result = plugin.run(task_vars={})
    assert result["applies"] is True and result["skip"]["argocd-app"] == "no cluster in this run"
    assert "argocd-app" not in result["follow"] and "probes" in result["follow"]


PLATFORM = {"releases": [{"name": "traefik", "pin": "traefik", "namespace": "traefik"}],
            "values": {"traefik": {"ports": {}}},
            "pins": {"traefik": {"chart": "traefik", "repo_url": "https://traefik.github.io/charts", "version": 41}}}


def test_the_module_gets_releases_and_the_planned_skips():
    plugin = action({"run_tags": ["all"], "skip_tags": ["verify"], "settings": SETTINGS, "platform": PLATFORM,
                     "overlay_path": "/x"}, {"broken": [], "not_followed": [], "summary": "wiring: 9 of 9"})
    plugin.run(task_vars={})
    module_args = plugin._execute_module.call_args.kwargs["module_args"]
    assert module_args["releases"] == [{"name": "traefik", "namespace": "traefik", "chart": "traefik",
                                        "repo_url": "https://traefik.github.io/charts", "version": "41",
                                        "values": {"ports": {}}}]
    assert set(module_args["skip"]) == {"ingress", "port-forward"} and "platform" not in module_args
    with pytest.raises(AnsibleActionFail, match="no chart pin"):
        action({"platform": dict(PLATFORM, pins={})}).run(task_vars={})


NOT_FOLLOWED = {"broken": [], "not_followed": ["(ingress) kind node port 80 -> hostPort: no charts offline"],
                "summary": "wiring: 8 of 9 links followed (...); not followed: ingress (no charts offline)"}


def test_a_link_not_followed_warns_and_fails_only_when_strict():
    result = action({"settings": SETTINGS}, NOT_FOLLOWED).run(task_vars={})
    assert not result.get("failed") and result["msg"] == NOT_FOLLOWED["summary"]
    assert result["warnings"][0].startswith(NOT_FOLLOWED["summary"])
    result = action({"settings": SETTINGS, "strict": "true"}, NOT_FOLLOWED).run(task_vars={})
    assert result["failed"] and result["msg"].startswith(NOT_FOLLOWED["summary"])
