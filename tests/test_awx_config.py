"""AWX as code (awx/configure.yml): no AWX server is reachable here, so the playbook is checked by
ansible-playbook --syntax-check, its surveys by AWX's own survey-spec rules (SurveySpecView._validate_spec_data
in awx/api/views, restated below and tested to reject what AWX rejects), its workflow graph, and the
inventory variables it computes (the playbook's real task, run on its own tag)."""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.fast

ROOT = Path(__file__).resolve().parent.parent
AWX = ROOT / "awx"


class _AnsibleVarsLoader(yaml.SafeLoader):
    """Reads Ansible's !unsafe tag as the plain string it marks."""


_AnsibleVarsLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))
VARS = yaml.load((AWX / "vars" / "main.yml").read_text(), Loader=_AnsibleVarsLoader)
PIPELINE_SPEC = yaml.safe_load((ROOT / "playbooks/vars/argument_specs.yml").read_text())["argument_specs"]["pipeline"]["options"]
# What a survey may ask for: the playbooks' own variables and those of any role's entry point.
DECLARED = dict(PIPELINE_SPEC)
for _spec_path in sorted(ROOT.glob("roles/*/meta/argument_specs.yml")):
    for _entry in yaml.safe_load(_spec_path.read_text())["argument_specs"].values():
        for _name, _option in (_entry.get("options") or {}).items():
            DECLARED.setdefault(_name, _option)

# AWX's JobTemplateSurveySpec.ALLOWED_TYPES: question type -> Python type of its default.
ALLOWED_TYPES = {"text": str, "textarea": str, "password": str, "multiplechoice": str, "multiselect": str,
                 "integer": int, "float": (float, int)}


def awx_survey_errors(spec) -> list[str]:
    """The errors AWX's API returns (400) for a survey spec POST; [] when AWX accepts it."""
    errors = []
    for field, expect, label in [("name", str, "string"), ("description", str, "string"), ("spec", list, "list of items")]:
        if field not in spec:
            errors.append(f"Field '{field}' is missing from survey spec.")
        elif not isinstance(spec[field], expect):
            errors.append(f"Expected {label} for field '{field}'")
    if isinstance(spec.get("spec"), list) and not spec["spec"]:
        errors.append("'spec' doesn't contain any items.")
    if errors:
        return errors
    variables = set()
    for idx, item in enumerate(spec["spec"]):
        if not isinstance(item, dict):
            return [f"Survey question {idx} is not a json object."]
        for field in ("type", "question_name", "variable", "required"):
            if field not in item:
                return [f"'{field}' missing from survey question {idx}"]
            expected = bool if field == "required" else str
            if not isinstance(item[field], expected):
                return [f"'{field}' in survey question {idx} expected to be {expected.__name__}."]
        if item["variable"] in variables:
            return [f"'variable' '{item['variable']}' duplicated in survey question {idx}."]
        variables.add(item["variable"])
        qtype = item["type"]
        if qtype not in ALLOWED_TYPES:
            return [f"'{qtype}' in survey question {idx} is not one of the allowed question types."]
        if "default" in item and item["default"] != "" and not isinstance(item["default"], ALLOWED_TYPES[qtype]):
            return [f"Default value {item['default']} in survey question {idx} has the wrong type."]
        for key in ("min", "max"):
            if item.get(key) is not None and not isinstance(item[key], int):
                return [f"The {key} limit in survey question {idx} expected to be integer."]
        if qtype in ("multiselect", "multiplechoice"):
            if "choices" not in item:
                return [f"Survey question {idx} of type {qtype} must specify choices."]
            choices = item["choices"].splitlines() if isinstance(item["choices"], str) else item["choices"]
            if "default" in item:
                defaults = [d for d in item["default"].splitlines() if d.strip()] if isinstance(item["default"], str) else item["default"]
                if qtype == "multiplechoice" and len(defaults) > 1:
                    return ["Multiple Choice (Single Select) can only have one default value."]
                if any(d not in choices for d in defaults):
                    return ["Default choice must be answered from the choices listed."]
        if isinstance(item.get("default"), str) and item["default"].startswith("$encrypted$") and qtype != "password":
            return [f"$encrypted$ is a reserved keyword for password question defaults, survey question {idx}."]
    return []


def survey_files():
    return sorted((AWX / "surveys").glob("*.yml"))


GOOD_QUESTION = {"type": "text", "question_name": "q", "variable": "v", "required": False}


@pytest.mark.parametrize("bad, why", [
    ({"description": "", "spec": [GOOD_QUESTION]}, "name"),
    ({"name": "n", "description": "", "spec": []}, "doesn't contain"),
    ({"name": "n", "description": "", "spec": [{**GOOD_QUESTION, "required": "yes"}]}, "'required'"),
    ({"name": "n", "description": "", "spec": [GOOD_QUESTION, GOOD_QUESTION]}, "duplicated"),
    ({"name": "n", "description": "", "spec": [{**GOOD_QUESTION, "type": "choice"}]}, "allowed question types"),
    ({"name": "n", "description": "", "spec": [{**GOOD_QUESTION, "type": "integer", "default": "3"}]}, "wrong type"),
    ({"name": "n", "description": "", "spec": [{**GOOD_QUESTION, "type": "multiplechoice"}]}, "must specify choices"),
    ({"name": "n", "description": "", "spec": [{**GOOD_QUESTION, "type": "multiplechoice", "choices": ["a"], "default": "b"}]}, "from the choices"),
    ({"name": "n", "description": "", "spec": [{**GOOD_QUESTION, "max": "71"}]}, "max limit"),
])
def test_the_survey_rules_reject_what_awx_rejects(bad, why):
    errors = awx_survey_errors(bad)
    assert any(why in error for error in errors), errors


def test_the_survey_rules_accept_a_spec_awx_accepts():
    assert awx_survey_errors({"name": "n", "description": "d", "spec": [
        GOOD_QUESTION, {**GOOD_QUESTION, "variable": "w", "type": "multiplechoice", "choices": "a\nb", "default": "b"}]}) == []


@pytest.mark.parametrize("path", survey_files(), ids=lambda p: p.stem)
def test_survey_is_accepted_by_awx_rules(path):
    assert awx_survey_errors(yaml.safe_load(path.read_text())) == []


@pytest.mark.parametrize("path", survey_files(), ids=lambda p: p.stem)
def test_survey_asks_only_for_variables_the_playbooks_declare(path):
    """An answer must land in a declared variable, and a choice must be one the argument spec allows."""
    for question in yaml.safe_load(path.read_text())["spec"]:
        option = DECLARED.get(question["variable"])
        assert option is not None, f"{path.name}: {question['variable']} is declared in no argument spec"
        if "choices" in option and question["type"] == "multiplechoice":
            assert set(question["choices"]) <= set(option["choices"]), f"{path.name}: {question['variable']}"
        if question["type"] == "integer":
            assert option["type"] == "int", f"{path.name}: {question['variable']}"
        if option.get("type") == "bool":
            assert question["type"] == "multiplechoice" and set(question["choices"]) == {"true", "false"}, path.name


def test_every_playbook_has_a_job_template_and_every_named_survey_exists():
    playbooks = sorted(p.stem for p in (ROOT / "playbooks").glob("*.yml") if p.stem != "summary")
    templates = VARS["awx_job_templates"]
    assert sorted(t["playbook"] for t in templates) == playbooks
    for template in templates:
        if "survey" in template:
            assert (AWX / "surveys" / f"{template['survey']}.yml").is_file(), template


def test_release_workflow_is_build_dev_verify_qa_approval_prod():
    nodes = {node["identifier"]: node for node in VARS["awx_workflow_nodes"]}
    assert len(nodes) == len(VARS["awx_workflow_nodes"]), "node identifiers must be unique"
    path, current = [], "build"
    while current:
        path.append(current)
        successors = [n["identifier"] for n in nodes[current].get("related", {}).get("success_nodes", [])]
        assert len(successors) <= 1, f"{current} branches on success: {successors}"
        current = successors[0] if successors else None
    assert path == ["build", "deploy-dev", "verify-dev", "promote-qa", "approve-prod", "promote-prod"]
    assert nodes["approve-prod"]["unified_job_template"]["type"] == "workflow_approval"
    templates = {f"{{{{ awx_prefix }}}}-{t['playbook']}": t for t in VARS["awx_job_templates"]}
    for node in nodes.values():
        for kind in ("success_nodes", "failure_nodes", "always_nodes"):
            for target in node.get("related", {}).get(kind, []):
                assert target["identifier"] in nodes, f"{node['identifier']} -> unknown {target['identifier']}"
        ujt = node["unified_job_template"]
        if ujt["type"] != "job_template":
            continue
        template = templates[ujt["name"]]
        env = node["inventory"]["name"].rsplit("-", 1)[1]
        assert env in VARS["awx_environments"], node
        # AWX accepts a node's extra_data only for variables its job template's survey asks for.
        survey_vars = {q["variable"] for q in yaml.safe_load((AWX / "surveys" / f"{template['survey']}.yml").read_text())["spec"]} \
            if "survey" in template else set()
        assert set(node.get("extra_data", {})) <= survey_vars, node["identifier"]
    assert nodes["promote-qa"]["extra_data"]["promote_from"] == "dev"
    assert nodes["promote-prod"]["extra_data"]["promote_from"] == "qa"


def test_credential_injectors_leave_awx_placeholders_for_awx():
    """AWX fills {{ token }}; if this playbook templated it first, AWX would store an empty string."""
    raw = (AWX / "vars" / "main.yml").read_text()
    assert raw.count('!unsafe "{{') == sum(len(values) for t in VARS["awx_credential_types"] for values in t["injectors"].values())
    secret_fields = {f["id"] for t in VARS["awx_credential_types"] for f in t["inputs"]["fields"] if f.get("secret")}
    assert {"token", "kubeconfig"} <= secret_fields


def _ansible(*args, env=None):
    return subprocess.run(["ansible-playbook", *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def test_configure_playbook_passes_syntax_check():
    result = _ansible("--syntax-check", "awx/configure.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_configure_refuses_to_run_without_secrets():
    result = _ansible("awx/configure.yml", env={"KINDLING_GITOPS_TOKEN": "", "KINDLING_BUILD_HOST_SSH_KEY_FILE": "",
                                                "CONTROLLER_HOST": "http://127.0.0.1:9"})
    assert result.returncode != 0
    assert "KINDLING_GITOPS_TOKEN" in result.stdout
    assert "Organization" not in result.stdout, "it went on to talk to AWX"


def test_inventory_variables_are_each_environments_group_vars_unrendered():
    result = _ansible("awx/configure.yml", "--tags", "inventory_variables",
                      env={"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "KINDLING_GITOPS_TOKEN": "unused",
                           "KINDLING_BUILD_HOST_SSH_KEY_FILE": "/dev/null"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    task = json.loads(result.stdout)["plays"][0]["tasks"][0]
    computed = task["hosts"]["localhost"]["results"][-1]["ansible_facts"]["awx_inventory_variables"]
    for env in VARS["awx_environments"]:
        expected = {}
        for path in sorted((ROOT / "inventories" / env / "group_vars" / "all").glob("*.yml")):
            expected.update(yaml.safe_load(path.read_text()) or {})
        expected["kindling_work_dir"] = f"{VARS['awx_work_root']}/{env}"
        assert computed[env] == expected, env
        # What every environment shares (expressions included) is not inventory data: the playbooks' plays read it
        # from roles/kindling_defaults at run time, on AWX as anywhere.
        assert "app_namespace" not in computed[env] and computed[env]["kindling_env"] == env


def _module_options(fqcn: str) -> dict:
    """The options of an awx.awx module, from its DOCUMENTATION (the pinned collection's copy)."""
    import ansible_collections.awx.awx.plugins.modules as modules
    source = (Path(modules.__path__[0]) / f"{fqcn.rsplit('.', 1)[1]}.py").read_text()
    documentation = re.search(r"DOCUMENTATION = r?'''(.*?)'''", source, re.S).group(1)
    options = yaml.safe_load(documentation)["options"]
    # Connection options come from the auth doc fragment.
    return {**{alias: spec for spec in options.values() for alias in spec.get("aliases", [])}, **options}


def _unknown_options(args: dict, options: dict, where: str) -> list[str]:
    unknown = []
    for key, value in args.items():
        if key not in options:
            unknown.append(f"{where}.{key}")
        elif isinstance(value, dict) and "suboptions" in options[key]:
            unknown += _unknown_options(value, options[key]["suboptions"], f"{where}.{key}")
        elif isinstance(value, list) and "suboptions" in options[key]:
            for item in value:
                unknown += _unknown_options(item, options[key]["suboptions"], f"{where}.{key}[]")
    return unknown


def test_every_awx_task_uses_options_the_module_has():
    tasks = yaml.safe_load((AWX / "configure.yml").read_text())[0]["tasks"]
    awx_tasks = [task for task in tasks if any(key.startswith("awx.awx.") for key in task)]
    assert len(awx_tasks) >= 9
    unknown = []
    for task in awx_tasks:
        fqcn = next(key for key in task if key.startswith("awx.awx."))
        unknown += _unknown_options(task[fqcn], _module_options(fqcn), fqcn)
    options = _module_options("awx.awx.workflow_job_template")["workflow_nodes"]["suboptions"]
    for node in VARS["awx_workflow_nodes"]:
        unknown += _unknown_options(node, options, f"workflow_nodes[{node['identifier']}]")
    for credential_type in VARS["awx_credential_types"]:
        unknown += _unknown_options(credential_type, _module_options("awx.awx.credential_type"), "credential_type")
    assert unknown == []
