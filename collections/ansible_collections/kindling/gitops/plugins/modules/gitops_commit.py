#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers (@kindling)
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: gitops_commit
short_description: Commit paths in a GitOps clone (or revert a commit) and push, rebasing on concurrent pushes
version_added: 0.1.0
description:
  - Stages O(paths) in an existing clone of the GitOps repository, commits them with O(commit_message) and pushes O(branch).
  - Nothing changed means no commit (never an empty one) and RV(ignore:changed=false); a commit left unpushed by an
    earlier failed run is pushed.
  - A push rejected as non-fast-forward is retried after fetching and rebasing, at most O(max_attempts) pushes.
    A rebase conflict or a remote that rejects the push fails the module, and HEAD, the index and the work tree
    are put back as they were.
  - With O(revert) the given commit is reverted instead (used by rollback) and the revert is pushed the same way.
  - "Credentials: O(token) (or E(GITOPS_TOKEN)) is handed to git for this call only, through the environment and a
    temporary C(GIT_ASKPASS) script, with credential helpers disabled so none stores it. It is never written to
    C(.git/config) or a remote URL, and a remote URL that already carries a password is refused."
author:
  - kindling.gitops maintainers (@kindling)
options:
  repo_path:
    description: The clone's work tree (top level).
    type: path
    required: true
  paths:
    description: Paths to stage, relative to O(repo_path); additions, changes and deletions under them are committed.
    type: list
    elements: str
    default: ["."]
  commit_message:
    description:
      - "Commit message. Name the environment, the app and the image tag, for example
        C(app1 dev: deploy localhost:5001/app1:1.0.0-3f2a1bc)."
      - With O(revert), the subject of the revert commit (the reverted SHA is appended).
    type: str
    required: true
  remote:
    description:
      - The name of the clone's remote to push to. A URL is refused (it is not a remote of the clone); any
        credentials in it are masked in every message and in the echoed arguments.
    type: str
    default: origin
  branch:
    description: The branch the clone has checked out and that is pushed.
    type: str
    default: main
  revert:
    description:
      - SHA of a commit to revert (instead of committing O(paths)).
      - The commit must change files under O(paths) only (a rollback passes its environment's overlay directory,
        so it never reverts another environment's commit), and must not itself be a revert (one whose message
        says C(This reverts commit <sha>.)), since reverting it would deploy again what was rolled back. Either is
        refused, naming the files or the reverted commit, and nothing is reverted.
    type: str
  push:
    description: Push after committing.
    type: bool
    default: true
  max_attempts:
    description: Pushes tried before giving up when the remote keeps moving (each retry fetches and rebases first).
    type: int
    default: 3
  token:
    description:
      - Token or password for an HTTPS remote; defaults to E(GITOPS_TOKEN). Not logged.
    type: str
  username:
    description: User name sent with O(token) (many forges accept any, for example C(x-access-token) or C(oauth2)).
    type: str
    default: git
  author_name:
    description: Author and committer name of the commit (set for this call only, not in git config).
    type: str
    default: kindling
  author_email:
    description: Author and committer e-mail of the commit.
    type: str
    default: kindling@localhost
attributes:
  check_mode:
    support: full
    description: Returns the patch that would be committed; commits, fetches and pushes nothing.
  diff_mode:
    support: full
    description: Returns the patch that is (or would be) committed.
  idempotent:
    support: full
    description: Nothing to commit and nothing unpushed gives RV(ignore:changed=false) and no commit.
seealso:
  - module: kindling.gitops.kustomize_overlay
"""

EXAMPLES = r"""
- name: Commit and push the dev overlay
  kindling.gitops.gitops_commit:
    repo_path: "{{ kindling_work_dir }}/gitops"
    paths: [apps/app1]
    commit_message: "app1 dev: deploy {{ kindling_image.repository }}:{{ kindling_image.tag }}"
    branch: main
  environment:
    GITOPS_TOKEN: "{{ vault_gitops_token }}"
  register: gitops_push

- name: Roll back by reverting the commit that deployed the failing image
  kindling.gitops.gitops_commit:
    repo_path: "{{ kindling_work_dir }}/gitops"
    revert: "{{ kindling_gitops.commit }}"
    commit_message: "app1 dev: roll back {{ kindling_image.tag }}"
"""

RETURN = r"""
commit:
  description: HEAD after the call (the new commit when one was made and pushed).
  returned: always
  type: str
  sample: 3f2a1bc0d2b4c6e8f0a1c3e5a7b9d1f3a5c7e9b1
previous_commit:
  description: HEAD before the call (null in an empty repository).
  returned: always
  type: str
committed:
  description: Whether a commit was made.
  returned: always
  type: bool
pushed:
  description: Whether the branch was pushed.
  returned: always
  type: bool
attempts:
  description: Pushes it took (more than one after a concurrent push was rebased onto).
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.kindling.gitops.plugins.module_utils import gitops_git


def main():
    module = AnsibleModule(
        argument_spec=dict(
            repo_path=dict(type="path", required=True),
            paths=dict(type="list", elements="str", default=["."]),
            commit_message=dict(type="str", required=True),
            remote=dict(type="str", default="origin"),
            branch=dict(type="str", default="main"),
            revert=dict(type="str"),
            push=dict(type="bool", default=True),
            max_attempts=dict(type="int", default=3),
            token=dict(type="str", no_log=True, fallback=(env_fallback, ["GITOPS_TOKEN"])),
            username=dict(type="str", default="git"),
            author_name=dict(type="str", default="kindling"),
            author_email=dict(type="str", default="kindling@localhost"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    # A remote given as a URL with credentials must not come back in msg or in the echoed invocation.
    for secret in gitops_git.url_secrets(params["remote"]):
        module.no_log_values.add(secret)
    if params["max_attempts"] < 1:
        module.fail_json(msg="max_attempts: must be 1 or more, got %d" % params["max_attempts"], field="max_attempts")
    if not params["commit_message"].strip():
        module.fail_json(msg="commit_message: must not be empty", field="commit_message")

    def run(argv, env):
        return module.run_command(argv, environ_update=env)

    clone = gitops_git.GitClone(params["repo_path"], run=run, token=params["token"], username=params["username"],
                                author_name=params["author_name"], author_email=params["author_email"],
                                git=module.get_bin_path("git", required=True))
    try:
        result = gitops_git.commit_and_push(
            clone, params["paths"], params["commit_message"], remote=params["remote"], branch=params["branch"],
            revert=params["revert"], push=params["push"], max_attempts=params["max_attempts"],
            check_mode=module.check_mode)
    except gitops_git.GitError as error:
        module.fail_json(msg=str(error), field=error.field)
    finally:
        clone.close()
    patch = result.pop("diff")
    if module._diff and patch:
        result["diff"] = {"prepared": patch}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
