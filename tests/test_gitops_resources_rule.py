"""gitops_resources against the collection's one quantity rule (kindling.gitops.resources, module_utils/rules.py),
through real ansible-playbook: every inventory's value passes, and the role's argument spec plus the rule refuse
what the API server would refuse (ResourceQuantity grammar, k8s.io/apimachinery resource/quantity.go)."""
import json

import pytest
import yaml

from doubles.ansible_run import ROOT, playbook_env, run_playbook

pytestmark = pytest.mark.fast

SPEC = yaml.safe_load((ROOT / "roles/gitops/meta/argument_specs.yml").read_text())["argument_specs"]["main"]["options"]


def check(tmp_path, resources):
    playbook = tmp_path / "check.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "spec", "ansible.builtin.validate_argument_spec": {
            "argument_spec": {"gitops_resources": SPEC["gitops_resources"]},
            "provided_arguments": {"gitops_resources": resources}}},
        {"name": "rule", "ansible.builtin.assert": {"that": "resources is kindling.gitops.resources"},
         "vars": {"resources": resources}}]}]))
    return run_playbook(playbook, playbook_env(tmp_path), "-i", "localhost,", "-c", "local")


@pytest.mark.parametrize("env", ["dev", "qa", "prod"])
def test_every_inventory_sets_quantities_kubernetes_accepts(tmp_path, env):
    resources = yaml.safe_load((ROOT / "inventories" / env / "group_vars/all/gitops.yml").read_text())["gitops_resources"]
    run = check(tmp_path, resources)
    assert run.rc == 0, run.failure()


@pytest.mark.parametrize("resources, failed_task", [
    ({"requests": {"cpu": "100x"}}, "rule"),
    ({"limits": {"memory": "12Qi"}}, "rule"),
    ({"limit": {"memory": "128Mi"}}, "spec"),
])
def test_bad_resources_are_refused(tmp_path, resources, failed_task):
    run = check(tmp_path, resources)
    assert run.rc != 0 and run.result(failed_task).get("failed")
