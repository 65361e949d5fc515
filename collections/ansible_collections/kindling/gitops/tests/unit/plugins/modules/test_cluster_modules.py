# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kind_cluster and argocd_app_wait as modules (exit_json/fail_json raise): option handling and one-line errors."""

from __future__ import annotations

from unittest import mock

from ansible.module_utils import basic

from ansible_collections.kindling.gitops.plugins.modules import argocd_app_wait, kind_cluster
from ansible_collections.kindling.gitops.tests.unit.plugins.modules.harness import ModuleFail, run_module as run

IMAGE = "kindest/node:v1.36.1@sha256:" + "3" * 64


def test_kind_cluster_missing_kind_binary_is_named(tmp_path):
    with mock.patch.object(basic.AnsibleModule, "get_bin_path", return_value=None):
        result = run(kind_cluster, {"name": "u", "kubeconfig": str(tmp_path / "k"), "node_image": IMAGE},
                     outcome=ModuleFail)
    assert result["msg"] == "kind_binary: 'kind' is not an executable on PATH"


def test_kind_cluster_needs_the_node_image_to_create(tmp_path):
    """The caller's pin (versions.yml kind_node_image): the module keeps no image of its own to fall back on."""
    result = run(kind_cluster, {"name": "u", "kubeconfig": str(tmp_path / "k")}, outcome=ModuleFail)
    assert "node_image" in result["msg"]


def test_kind_cluster_bad_config_fails_before_running_anything(tmp_path):
    calls = []
    with mock.patch.object(basic.AnsibleModule, "get_bin_path", side_effect=lambda name: "/bin/" + name), \
            mock.patch.object(basic.AnsibleModule, "run_command", side_effect=lambda *a, **k: calls.append(a)):
        result = run(kind_cluster, {"name": "u", "kubeconfig": str(tmp_path / "k"), "node_image": IMAGE,
                                    "config": {"nodes": [{"role": "boss"}]}}, outcome=ModuleFail)
    assert result["msg"].startswith("config.nodes[0].role:") and calls == []


def test_kind_cluster_check_mode_on_a_new_cluster_only_reads(tmp_path):
    calls = []

    def run_command(self, argv, data=None):
        calls.append(argv)
        return 0, "", "No kind clusters found.\n"

    with mock.patch.object(basic.AnsibleModule, "get_bin_path", side_effect=lambda name: "/bin/" + name), \
            mock.patch.object(basic.AnsibleModule, "run_command", run_command):
        result = run(kind_cluster, {"name": "u", "kubeconfig": str(tmp_path / "k"), "node_image": IMAGE,
                                    "_ansible_check_mode": True, "_ansible_diff": True})
    assert result["changed"] and calls == [["/bin/kind", "get", "clusters"]]
    assert result["diff"]["before"] == {} and result["diff"]["after"]["nodes"][0]["image"] == IMAGE


def test_argocd_app_wait_rejects_a_branch_name_as_revision():
    result = run(argocd_app_wait, {"name": "app1-dev", "revision": "main"}, outcome=ModuleFail)
    assert result["msg"].startswith("revision: 'main' is not a git commit SHA")


def test_argocd_app_wait_missing_kubeconfig_is_named(tmp_path):
    result = run(argocd_app_wait, {"name": "app1-dev", "revision": "a" * 40, "kubeconfig": str(tmp_path / "nope")},
                 outcome=ModuleFail)
    assert result["msg"] == "kubeconfig: {0} does not exist".format(tmp_path / "nope")
