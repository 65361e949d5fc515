# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller's half of kindling.gitops.wiring_check: decides which links this run follows (the play's stages,
the run's --tags/--skip-tags judged by Ansible's own rule), runs the module on the build host with the rest of the
arguments, and says in one line how many links were followed; with strict, a link not followed fails the task.

Arguments besides the module's (its documentation lists those):
  stages: the play's stages, [{role, entry}] (check_stage_roles); omitted or empty: every link.
  run_tags, skip_tags: the run's ansible_run_tags and ansible_skip_tags.
  settings: {cluster_provider, cluster_flavor, verify_ingress, verify_port_forward, verify_direct_url}, the values
    that switch links off.
  plan_only: only decide: returns applies (false for a play that neither bootstraps nor deploys), follow (the links
    to follow) and skip ({link: why not}); runs nothing on the build host.
  strict: fail when any link was not followed (the module fails on a broken link either way).
  platform: {releases, values, pins}: the platform role's platform_releases and platform_release_values and
    versions.yml's charts; they become the module's releases (each with the chart, repository, version and values
    helm gets).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.validation import check_type_bool, check_type_dict, check_type_list
from ansible.plugins.action import ActionBase

from ansible_collections.kindling.gitops.plugins.module_utils import wiring
from ansible_collections.kindling.gitops.plugins.plugin_utils.tags import tag_rule

OWN_ARGS = ("stages", "run_tags", "skip_tags", "settings", "plan_only", "strict", "platform")


def helm_releases(platform):
    """The module's releases from the platform role's list, merged values and versions.yml's pins."""
    releases = []
    for release in platform.get("releases") or []:
        pin = (platform.get("pins") or {}).get(release.get("pin"))
        if pin is None:
            raise AnsibleActionFail("platform.pins: no chart pin %r for release %s (versions.yml charts)" % (
                release.get("pin"), release.get("name")))
        releases.append(dict(name=release["name"], namespace=release["namespace"], chart=pin["chart"],
                             repo_url=pin["repo_url"], version=str(pin["version"]),
                             values=(platform.get("values") or {}).get(release["name"]) or {}))
    return releases


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        try:
            stages = check_type_list(args.get("stages") or [])
            run_tags = check_type_list(args.get("run_tags") or ["all"])
            skip_tags = check_type_list(args.get("skip_tags") or [])
            settings = check_type_dict(args.get("settings") or {})
            plan_only = check_type_bool(args.get("plan_only", False))
            strict = check_type_bool(args.get("strict", False))
        except TypeError as error:
            raise AnsibleActionFail("wiring_check: %s" % error)
        roles = []
        for stage in stages:
            if not isinstance(stage, dict) or not stage.get("role"):
                raise AnsibleActionFail("stages: each must be {role, entry} (got %r)" % (stage,))
            roles.append(stage["role"])
        for name in ("verify_ingress", "verify_port_forward"):
            if name in settings:
                settings[name] = check_type_bool(settings[name])
        applies, skip = wiring.plan(roles, tag_rule(run_tags, skip_tags), settings)
        if plan_only:
            result.update(changed=False, applies=applies, skip=skip,
                          follow=[link for link in wiring.LINKS if link not in skip])
            return result
        module_args = dict((key, value) for key, value in args.items() if key not in OWN_ARGS)
        module_args["skip"] = dict(skip, **(module_args.get("skip") or {}))
        if "platform" in args:
            module_args["releases"] = helm_releases(check_type_dict(args["platform"] or {}))
        result.update(self._execute_module(module_name="kindling.gitops.wiring_check", module_args=module_args,
                                           task_vars=task_vars))
        if result.get("failed") or "summary" not in result:
            return result
        if result.get("not_followed"):
            if strict:
                result.update(failed=True, msg="%s (strict: every link must be followed)" % result["summary"])
                return result
            result.setdefault("warnings", []).append(
                "%s. The check is not complete; wiring_strict=true fails on this." % result["summary"])
        result["msg"] = result["summary"]
        return result
