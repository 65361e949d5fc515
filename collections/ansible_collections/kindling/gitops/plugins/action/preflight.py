# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""kindling.gitops.preflight: every check that must pass before the first stage changes anything.

On the controller it reads the argument specs of the stages the play runs (and of the playbooks), templates
the variables that are set, and checks them; it decides which binaries the stages that the run's tags select
will call, using Ansible's own tag selection. On the build host (kindling.gitops.tool_versions) it looks for
those binaries. The decisions are module_utils/preflight.py's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleError, AnsibleUndefinedVariable
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.vars import load_extra_vars

from ansible_collections.kindling.gitops.plugins.module_utils import preflight
from ansible_collections.kindling.gitops.plugins.plugin_utils.tags import tag_rule

try:
    import yaml
except ImportError:  # pragma: no cover - ansible-core depends on PyYAML
    yaml = None


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        spec = self.validate_argument_spec(argument_spec=dict(
            stages=dict(type="list", elements="dict", required=True),
            roles_dir=dict(type="path", required=True),
            playbook_specs=dict(type="list", elements="path", default=[]),
            formats=dict(type="dict", default={}),
            tools=dict(type="list", elements="dict", default=[]),
            hints=dict(type="dict", default={}),
            conditions=dict(type="dict", default={}),
            kubernetes_version=dict(type="str", required=True),
            repository=dict(type="dict"),
            direct_deploy=dict(type="dict"),
        ))[1]
        stages = ["%s/%s" % (stage["role"], stage.get("entry", "main")) for stage in spec["stages"]]

        playbook_options = self._playbook_options(spec["playbook_specs"])
        specs = self._stage_specs(spec["roles_dir"], spec["stages"], playbook_options)
        values, problems = self._set_values(specs, task_vars)
        variable_problems, checked = preflight.check_variables(specs, spec["formats"], values)
        problems += variable_problems
        problems += preflight.missing_required(playbook_options, checked)
        problems += preflight.relation_problems(checked)
        # Only an extra variable the play's own specs do not declare needs the scan of every role.
        unknown = self._extra_var_names() - set(specs)
        warnings = preflight.undeclared(unknown, self._declared(spec["roles_dir"], playbook_options)) if unknown else []

        selected = tag_rule(task_vars.get("ansible_run_tags") or ["all"], task_vars.get("ansible_skip_tags") or [])
        repo = spec["repository"]
        if repo and set(repo["roles"]) & set(stages) and selected(repo["tags"]):
            problems += preflight.repo_url_problems(
                repo["argocd_repo_url"], repo["gitops_repo_url"], repo["kind"], repo["git_server_enabled"],
                repo["git_server_url"])

        direct = spec["direct_deploy"]
        if direct and set(direct["roles"]) & set(stages) and selected(direct["tags"]) and not direct["promotion"]:
            problems += preflight.direct_deploy_problems(direct["env"], direct.get("promote_from"), direct.get("asked"))

        needs = preflight.tool_needs(spec["tools"], stages, selected, spec["conditions"])
        used = []
        if needs:
            answer = self._execute_module(
                module_name="kindling.gitops.tool_versions",
                module_args={"binaries": [{"binary": need["binary"], "tool": need["tool"]} for need in needs]},
                task_vars=task_vars)
            if answer.get("failed"):
                result.update(failed=True, msg="preflight: the build host could not look for the binaries: %s"
                              % answer.get("msg"))
                return result
            found = answer["found"]
            try:
                server = preflight.server_version(spec["kubernetes_version"])
            except ValueError as error:
                result.update(failed=True, msg="kubernetes_version: %s" % error)
                return result
            problems += preflight.tool_problems(needs, found, spec["hints"], server, answer.get("docker_host"))
            for binary, where in sorted(found.items()):
                if where.get("path"):
                    client = where.get("client") or {}
                    used.append("%s: %s%s" % (binary, where["path"],
                                              " (%s)" % client["gitVersion"] if client.get("gitVersion") else ""))
            if any(need["tool"] == "docker" for need in needs):
                used.append("Docker endpoint: %s" % (answer.get("docker_host") or "the default socket (DOCKER_HOST unset)"))

        result["warnings"] = warnings
        result["binaries"] = used
        result["stages"] = stages
        result["changed"] = False
        if problems:
            result.update(failed=True, msg="\n".join(problems))
            del result["binaries"]
        else:
            result["msg"] = ("uses " + "; ".join(used)) if used else "no external binaries needed by the selected stages"
        return result

    # -- inputs ----------------------------------------------------------------------------------------------

    def _read_yaml(self, path):
        with open(path, "rb") as handle:
            return yaml.safe_load(handle) or {}

    def _playbook_options(self, playbook_specs):
        option_maps = []
        for path in playbook_specs:
            path, _sep, entry = path.partition("#")
            option_maps.append(self._read_yaml(path)["argument_specs"][entry or "main"].get("options") or {})
        return option_maps

    def _stage_specs(self, roles_dir, stages, playbook_options):
        option_maps = list(playbook_options)
        for stage in stages:
            path = os.path.join(roles_dir, stage["role"], "meta", "argument_specs.yml")
            try:
                entry_points = self._read_yaml(path)["argument_specs"]
            except (OSError, KeyError) as error:
                raise AnsibleError("preflight: no argument specs for the stage role %s at %s: %s"
                                   % (stage["role"], path, to_text(error)))
            option_maps.append((entry_points.get(stage.get("entry", "main")) or {}).get("options"))
        return preflight.merge_specs(option_maps)

    def _set_values(self, specs, task_vars):
        """The variables the specs declare that are set (inventory, extra vars, the one home), templated. A value
        that needs a fact of a later stage (gitops_image: "{{ kindling_image }}") is left to the role's own check."""
        values, problems = {}, []
        for name in specs:
            if name not in task_vars:
                continue
            try:
                values[name] = self._templar.template(task_vars[name])
            except AnsibleUndefinedVariable:
                continue
            except AnsibleError as error:
                problems.append("%s: cannot be templated: %s" % (name, to_text(error).splitlines()[0]))
        return values, problems

    def _extra_var_names(self):
        try:
            return set(load_extra_vars(self._loader))
        except AnsibleError:
            return set()

    def _declared(self, roles_dir, playbook_options):
        """Every variable a role or playbook of the project declares: argument specs, role defaults and vars."""
        names = set()
        for options in playbook_options:
            names.update(options)
        for role in sorted(os.listdir(roles_dir)):
            for relative in (("meta", "argument_specs.yml"), ("defaults", "main.yml"), ("vars", "main.yml")):
                path = os.path.join(roles_dir, role, *relative)
                if not os.path.isfile(path):
                    continue
                data = self._read_yaml(path)
                if relative[0] == "meta":
                    for entry in (data.get("argument_specs") or {}).values():
                        names.update((entry or {}).get("options") or {})
                else:
                    names.update(data)
        return names
