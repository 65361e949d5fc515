# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.kindling.gitops.plugins.module_utils import gitops_git


class RecordingRun(object):
    """Stands in for the git executable: records argv and env, answers from a script of (rc, out, err)."""

    def __init__(self):
        self.calls = []

    def __call__(self, argv, env):
        self.calls.append((argv, env))
        return 1, "", "fatal: https://bot:tok-123@example.invalid failed"


def test_token_goes_only_into_the_environment_and_output_is_scrubbed():
    run = RecordingRun()
    clone = gitops_git.GitClone("/clone", run=run, token="tok-123", username="bot")
    try:
        askpass = clone.env["GIT_ASKPASS"]
        assert os.stat(askpass).st_mode & 0o777 == 0o700
        rc, _out, err = clone.run("push", "origin", "HEAD:refs/heads/main", check=False)
    finally:
        clone.close()
    argv, env = run.calls[0]
    assert rc == 1 and "tok-123" not in err and "********" in err
    assert not any("tok-123" in part for part in argv)
    assert argv[1:3] == ["-c", "credential.helper="]
    assert env["KINDLING_GIT_TOKEN"] == "tok-123" and env["KINDLING_GIT_USERNAME"] == "bot"
    assert not os.path.exists(askpass), "the askpass script must be gone after close()"


def test_remote_urls_with_passwords_are_recognised():
    assert gitops_git.URL_WITH_PASSWORD.match("https://bot:secret@git.example.com/x.git")
    assert not gitops_git.URL_WITH_PASSWORD.match("https://git.example.com/x.git")
    assert not gitops_git.URL_WITH_PASSWORD.match("git@github.com:org/x.git")
    assert not gitops_git.URL_WITH_PASSWORD.match("/srv/gitops.git")


def test_rejections_that_a_rebase_can_fix_are_told_apart():
    assert gitops_git.REJECTED.search(" ! [rejected]        HEAD -> main (fetch first)")
    assert gitops_git.REJECTED.search(" ! [rejected] HEAD -> main (non-fast-forward)")
    assert not gitops_git.REJECTED.search(" ! [remote rejected] HEAD -> main (pre-receive hook declined)")


def test_paths_must_stay_inside_the_clone_and_the_default_dot_does(tmp_path):
    clone = gitops_git.GitClone(str(tmp_path), run=RecordingRun())
    try:
        gitops_git._check_paths(clone, [".", "apps/app1"])
        for bad in ("..", "../outside", "/etc", ""):
            try:
                gitops_git._check_paths(clone, [bad])
            except gitops_git.GitError as error:
                assert "must be a path inside the clone" in str(error)
            else:
                raise AssertionError("%r was accepted" % bad)
    finally:
        clone.close()


@pytest.mark.parametrize("text, secrets", [
    ("push to https://bot:tok-123@git.example.com/g.git rejected", ["bot:tok-123", "tok-123"]),
    ("fatal: unable to access 'https://tok-456@git.example.com/g.git/'", ["tok-456"]),
    ("remote: the clone has no remote named 'origin'", []),
])
def test_url_credentials_never_survive_in_a_git_error(text, secrets):
    assert gitops_git.url_secrets(text) == sorted(secrets)
    message = str(gitops_git.GitError(text))
    assert "git.example.com" in message or not secrets
    assert not any(secret in message for secret in secrets)
