# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight's decisions, as plain functions over plain data (importable without a running Ansible):
which variables of the selected stages are wrong, which binaries those stages call and what is wrong with
them, and whether the GitOps repository URL is one the cluster can read. The action plugin
kindling.gitops.preflight gathers the inputs (argument specs, variables, the build host's answers) and turns
the problems returned here into one failure, one line per problem.

Every problem is a line that starts with the variable or tool at fault.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib
import json
import re

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.kindling.gitops.plugins.module_utils import gitops_git, rules

INT32_MAX = 2 ** 31 - 1
# Keys of an argument spec option that say what a value may be; the rest (required, default, description)
# is the role's own business when it starts: a spec's default may be an expression of later facts.
_VALUE_KEYS = ("type", "elements", "choices", "no_log")


# --- variables -----------------------------------------------------------------------------------------------

def value_spec(option):
    """The part of one argument spec option that constrains a value that is set."""
    spec = dict((key, option[key]) for key in _VALUE_KEYS if key in option)
    spec.setdefault("type", "str")
    if option.get("options"):
        # A dict's sub-options are checked whole: the dict that is set is the whole value.
        spec["options"] = dict((name, dict(sub)) for name, sub in option["options"].items())
        for sub in spec["options"].values():
            sub.pop("description", None)
    return spec


def merge_specs(option_maps):
    """One spec from several entry points' options. An option two entry points declare differently keeps the
    first declaration: the entry points of one role say each option once, and a role that passes a value on
    (app_name) declares it with the same type."""
    merged = {}
    for options in option_maps:
        for name, option in (options or {}).items():
            merged.setdefault(name, value_spec(option))
    return merged


def check_values(spec, values):
    """Type, choices and sub-options of every variable in `values` that `spec` declares, the way the roles'
    own validate_argument_spec checks them. Returns (problems, the values converted to their types)."""
    provided = dict((name, value) for name, value in values.items() if name in spec)
    if not provided:
        return [], {}
    result = ArgumentSpecValidator(dict((name, spec[name]) for name in provided)).validate(provided)
    problems = sorted(_field_first(message) for message in result.error_messages)
    return problems, result.validated_parameters


def check_variables(spec, formats, values):
    """check_values, then check_formats on what passed it. Returns (problems, the values as checked)."""
    type_problems, converted = check_values(spec, values)
    failed = set(problem.split(":", 1)[0] for problem in type_problems)
    checked = dict(values, **converted)
    return type_problems + check_formats(formats, dict(
        (name, value) for name, value in checked.items() if name not in failed)), checked


def missing_required(option_maps, values):
    """The playbooks' required variables (kindling_env, app_name ...) that nothing sets."""
    return ["%s: is required and not set (inventories/<env>/group_vars/all/main.yml or roles/kindling_defaults)" % name
            for options in option_maps for name, option in sorted(options.items())
            if option.get("required") and values.get(name) in (None, "")]


def _field_first(message):
    """ArgumentSpecValidator says "argument 'x' is of type ..."; a preflight line starts with the variable."""
    found = re.match(r"^(?:argument|value of) '?([A-Za-z_][\w.]*)'?", message)
    return "%s: %s" % (found.group(1), message) if found else message


def _positive_int(field, value):
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= INT32_MAX:
        raise rules.InputError(field, "%r must be a whole number from 1 to %d" % (value, INT32_MAX))


def _non_negative_number(field, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise rules.InputError(field, "%r must be a number >= 0" % (value,))


def _positive_number(field, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise rules.InputError(field, "%r must be a number > 0" % (value,))


def _percentile(field, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 100:
        raise rules.InputError(field, "%r must be a percentile above 0, at most 100" % (value,))


def _port(field, value):
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise rules.InputError(field, "%r is not a TCP port (1 to 65535)" % (value,))


def _http_url(field, value):
    if not isinstance(value, str) or not re.match(r"^https?://[^/\s?#]+(/\S*)?$", value):
        raise rules.InputError(field, "%r is not an http:// or https:// URL" % (value,))


def _optional(check):
    def optional(field, value):
        if value not in (None, ""):
            check(field, value)
    return optional


def _relative_path(field, value):
    """A directory inside the GitOps clone: relative, without '..', so nothing is written outside it."""
    parts = str(value).split("/")
    if not value or str(value).startswith("/") or ".." in parts or any(part in ("", ".") for part in parts):
        raise rules.InputError(field, "%r must be a relative path inside the repository (no leading '/', "
                                      "no '.', '..' or empty parts)" % (value,))


def _git_branch(field, value):
    """git check-ref-format's rules for refs/heads/<value> (git 2.39 refs.c check_refname_component)."""
    text = str(value)
    bad = (not text or text.startswith(("-", "/")) or text.endswith(("/", ".", ".lock")) or ".." in text
           or "//" in text or "@{" in text or text == "@" or "/." in text or text.startswith(".")
           or re.search(r"[\x00-\x20\x7f~^:?*\[\\]", text))
    if bad:
        raise rules.InputError(field, "%r is not a valid branch name (git check-ref-format)" % (value,))


def _labels(field, value):
    rules.check_labels(field, value)


# The checks an argument spec cannot express, by name: the preflight role's vars map variables to them.
FORMATS = {
    "dns_label": rules.check_dns_label,
    "dns_subdomain": rules.check_dns_subdomain,
    "positive_int32": _positive_int,
    "positive_number": _positive_number,
    "non_negative_number": _non_negative_number,
    "percentile": _percentile,
    "port": _port,
    "http_url": _http_url,
    "optional_http_url": _optional(_http_url),
    "relative_path": _relative_path,
    "git_branch": _git_branch,
    "resources": rules.check_resources,
    "labels": _labels,
    "optional_digest": _optional(rules.check_digest),
}


def check_formats(formats, values):
    """`formats` maps a variable to a FORMATS name; every variable in `values` that has one is checked."""
    problems = []
    for name in sorted(formats):
        if name not in values:
            continue
        check = FORMATS.get(formats[name])
        if check is None:
            raise ValueError("preflight: unknown format %r for %s" % (formats[name], name))
        try:
            check(name, values[name])
        except rules.InputError as error:
            problems.append(str(error))
    return problems


def relation_problems(values):
    """What no single variable's check can see: values that are each fine but not together."""
    problems = []
    if values.get("grafana_anonymous_viewer") is True and values.get("cluster_provider", "kind") != "kind":
        problems.append("grafana_anonymous_viewer (roles/kindling_defaults) may be true only with cluster_provider kind "
                        "(it is %s): anonymous viewers are for a cluster on this machine" % values.get("cluster_provider"))
    return problems


def direct_deploy_problems(env, promote_from, asked):
    """An environment that takes its releases by promotion gets no direct deploy (of whatever the working tree
    holds, past promote's gate) unless the user names it."""
    if not promote_from or asked == env:
        return []
    return ["%s takes its releases from %s by promotion (promote_from: %s): run "
            "`ansible-playbook -i inventories/%s playbooks/promote.yml`; to deploy this working tree to %s "
            "anyway, ask for it by name with -e direct_deploy=%s" % (env, promote_from, promote_from, env, env, env)]


def undeclared(names, declared):
    """Warnings for variables nothing declares (a typo is otherwise silently ignored), each naming the closest
    declared variable. Ansible's own variables (ansible_*) are left alone."""
    warnings = []
    for name in sorted(names):
        if name in declared or name.startswith("ansible_"):
            continue
        close = difflib.get_close_matches(name, sorted(declared), n=1, cutoff=0.6)
        warnings.append("%s is set but no role or playbook of this project reads it%s" % (
            name, "; did you mean %s?" % close[0] if close else ""))
    return warnings


# --- binaries ------------------------------------------------------------------------------------------------

def tool_needs(table, stages, selected, conditions):
    """The entries of the tools table the run needs: a stage of the play runs it (`stages`, "role/entry"
    strings), the run's tags select it (`selected(tags)`), and its condition (a name in `conditions`, or
    none) holds."""
    needs = []
    for entry in table:
        if not set(entry["roles"]) & set(stages):
            continue
        if entry.get("when") and not conditions[entry["when"]]:
            continue
        if selected(entry["tags"]):
            needs.append(entry)
    return needs


def kubectl_skew(client, server_major, server_minor):
    """None when a kubectl client (kubectl version --client -o json's clientVersion) may talk to a
    Kubernetes server_major.server_minor (one minor version either way: the version skew policy), else why not."""
    major = re.sub(r"\D", "", str(client.get("major", "")))
    minor = re.sub(r"\D", "", str(client.get("minor", "")))
    if major == str(server_major) and minor and abs(int(minor) - int(server_minor)) <= 1:
        return None
    return ("is %s, outside the supported skew for Kubernetes v%s.%s (the pinned kind node image's): kubectl must be "
            "within one minor version of the API server (v%s.%d to v%s.%d, "
            "https://kubernetes.io/releases/version-skew-policy/#kubectl)"
            % (client.get("gitVersion", "of unknown version"), server_major, server_minor,
               server_major, int(server_minor) - 1, server_major, int(server_minor) + 1))


def tool_problems(needs, found, hints, server_version, docker_host=None):
    """One line per missing or unusable binary. `found` is what the build host answered
    (kindling.gitops.tool_versions): {binary: {path, client, error}}; docker_host its DOCKER_HOST."""
    problems = []
    server_major, server_minor = server_version
    by_binary = {}
    for need in needs:
        by_binary.setdefault(need["binary"], []).append(need)
    for binary, binary_needs in by_binary.items():
        tool = binary_needs[0]["tool"]
        answer = found.get(binary, {})
        hint = hints.get(tool, "")
        if not answer.get("path"):
            problems.append("%s: %s is not on PATH, needed by %s. Install: %s" % (
                tool, json.dumps(binary), ", ".join(need["stage"] for need in binary_needs), hint))
        elif answer.get("error") and tool == "docker":
            problems.append("docker: the engine at %s does not answer (%s %s). Fix: %s" % (
                docker_host or "the default socket", answer["path"], answer["error"], hint))
        elif answer.get("error"):
            problems.append("%s: %s %s. Fix: %s" % (tool, answer["path"], answer["error"], hint))
        elif tool == "kubectl":
            why = kubectl_skew(answer.get("client") or {}, server_major, server_minor)
            if why:
                problems.append("kubectl: %s (first on PATH) %s. Fix: %s" % (answer["path"], why, hint))
    return problems


def server_version(kubernetes_version):
    """(major, minor) of a Kubernetes version X.Y.Z (kindling_defaults' kubernetes_version, the node image's)."""
    found = re.match(r"^v?(\d+)\.(\d+)\.\d+$", str(kubernetes_version or ""))
    if not found:
        raise ValueError("%r is not a Kubernetes version X.Y.Z" % (kubernetes_version,))
    return found.group(1), found.group(2)


# --- the GitOps repository as the cluster sees it ---------------------------------------------------------

_LOCAL = re.compile(r"^(/|\.{1,2}/|~|file:)")
_URL_FORM = re.compile(r"^(https?|ssh|git)://[^/@\s]+(/|:)|^[\w.-]+@[\w.-]+:")


def repo_url_problems(argocd_repo_url, gitops_repo_url, kind, git_server_enabled, git_server_url):
    """Whether Argo CD in the cluster can read the repository the pipeline pushes to, one line per problem.
    On kind a repository on this machine reaches Argo CD only through the git server container
    (git_server_url); an existing cluster needs a URL it reaches."""
    problems = []
    # Never print a user or password someone put into a URL.
    shown, pushed = gitops_git.redact(argocd_repo_url), gitops_git.redact(gitops_repo_url)
    local = bool(_LOCAL.match(argocd_repo_url))
    if local and not kind:
        problems.append("argocd_repo_url is %s (from gitops_repo_url), a path on the build host, which a "
                        "cluster_provider: existing cluster cannot read: set gitops_repo_url to an https:// or ssh:// "
                        "URL the cluster reaches (the token comes from GITOPS_TOKEN)" % shown)
    if local and kind:
        problems.append("argocd_repo_url is %s, a path on the build host, which Argo CD inside the kind cluster "
                        "cannot read: leave it at its default on kind, git_server_url (%s), which the git server "
                        "container serves (git_server_enabled)" % (shown, git_server_url))
    if (kind and _LOCAL.match(gitops_repo_url) and not local
            and (not git_server_enabled or argocd_repo_url != git_server_url)):
        problems.append("argocd_repo_url is %s, but the pipeline pushes to gitops_repo_url %s, which the kind cluster "
                        "reads only as git_server_url (%s): Argo CD would never see the commits the pipeline pushes"
                        % (shown, pushed, git_server_url if git_server_enabled else "git_server_enabled is false"))
    if not local and not _URL_FORM.match(argocd_repo_url):
        problems.append("argocd_repo_url is %s, not a URL Argo CD reads (https://, ssh://, git:// or user@host:path)"
                        % shown)
    if re.match(r"^[a-z]+://[^/]*:[^/]*@", argocd_repo_url):
        problems.append("argocd_repo_url carries credentials: leave them out, the token comes from GITOPS_TOKEN")
    return problems
