# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Commit paths (or revert a commit) in a GitOps clone and push, rebasing on a concurrent push.

Credentials never touch the disk for longer than the call: a token is handed to git through the
environment and a throw-away GIT_ASKPASS script, with credential helpers disabled for the call so none
can store it. A failure puts HEAD and the index back where they were. Plain Python: unit-testable
without Ansible (pass `run`, which takes an argv list and an env dict and returns rc, stdout, stderr).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil
import stat
import tempfile

from ansible_collections.kindling.gitops.plugins.module_utils import rules

ASKPASS = """#!/bin/sh
# Answers git's credential prompts from the environment; the token is never written anywhere.
case "$1" in
  Username*) printf '%s\\n' "$KINDLING_GIT_USERNAME" ;;
  *) printf '%s\\n' "$KINDLING_GIT_TOKEN" ;;
esac
"""
REJECTED = re.compile(r"\[rejected\]|non-fast-forward|fetch first|\(stale info\)")
URL_WITH_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s]+:[^/@\s]*@", re.IGNORECASE)
# The user-info part of any URL (user:password@ or a bare token@), wherever it appears in a text.
URL_USERINFO = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@", re.IGNORECASE)
REDACTED = "********"


def url_secrets(text):
    """The user-info strings (and their password halves) URLs in text carry, to be masked."""
    found = set()
    for match in URL_USERINFO.finditer(text or ""):
        userinfo = match.group("userinfo")
        found.add(userinfo)
        if ":" in userinfo:
            found.add(userinfo.split(":", 1)[1])
    return sorted(value for value in found if value)


def redact(text):
    """text with the user-info of every URL in it replaced, so no message can carry a credential."""
    return URL_USERINFO.sub(lambda m: m.group("scheme") + REDACTED + "@", text) if text else text


class GitError(Exception):
    """A git operation failed; `field` names the option at fault when it is bad input. The message never
    carries URL credentials (they are redacted here, whoever raises)."""

    def __init__(self, message, field=None):
        super(GitError, self).__init__(redact(message))
        self.field = field


class GitClone(object):
    """A work tree whose git commands run with the call's credentials and identity, nothing persisted."""

    def __init__(self, path, run, token=None, username="git", author_name="kindling",
                 author_email="kindling@localhost", git="git"):
        self.path = path
        self.git = git
        self._run = run
        self._token = token
        self._askpass_dir = None
        self.env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C",
                        GIT_AUTHOR_NAME=author_name, GIT_AUTHOR_EMAIL=author_email,
                        GIT_COMMITTER_NAME=author_name, GIT_COMMITTER_EMAIL=author_email)
        if token:
            self._askpass_dir = tempfile.mkdtemp(prefix="kindling-askpass-")
            script = os.path.join(self._askpass_dir, "askpass")
            with open(script, "w") as handle:
                handle.write(ASKPASS)
            os.chmod(script, stat.S_IRWXU)
            self.env.update(GIT_ASKPASS=script, KINDLING_GIT_TOKEN=token, KINDLING_GIT_USERNAME=username or "git")

    def close(self):
        if self._askpass_dir:
            shutil.rmtree(self._askpass_dir, ignore_errors=True)
            self._askpass_dir = None

    def scrub(self, text):
        return text.replace(self._token, "********") if self._token and text else text

    def run(self, *args, **kwargs):
        """Run git in the clone; raise GitError unless `check=False`; return (rc, stdout, stderr)."""
        env = dict(self.env, **kwargs.get("env", {}))
        # An empty credential.helper resets the list, so no configured helper can store the token.
        argv = [self.git, "-c", "credential.helper=", "-C", self.path] + list(args)
        rc, out, err = self._run(argv, env)
        out, err = self.scrub(out), self.scrub(err)
        if rc != 0 and kwargs.get("check", True):
            raise GitError("git %s failed: %s" % (" ".join(args[:2]), (err or out).strip()))
        return rc, out, err

    def output(self, *args, **kwargs):
        return self.run(*args, **kwargs)[1].strip()

    def head(self):
        rc, out, _err = self.run("rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
        return out.strip() if rc == 0 else None

    def git_dir(self):
        return os.path.join(self.path, self.output("rev-parse", "--git-dir"))


def _check_paths(clone, paths):
    real = os.path.realpath(clone.path)
    for index, path in enumerate(paths):
        resolved = os.path.realpath(os.path.join(real, path)) if path else ""
        # "." (the whole clone, the option's default) is inside it; "../x" and absolute paths are not.
        if not path or os.path.isabs(path) or not (resolved == real or resolved.startswith(real + os.sep)):
            raise GitError("paths[%d]: %r must be a path inside the clone, relative to repo_path" % (index, path),
                           field="paths")


REVERTS = re.compile(r"^This reverts commit ([0-9a-f]{7,40})\.?$", re.M)


def _within(path, paths):
    """Whether a file of the clone (relative, as git names it) is one of paths or below one."""
    for top in paths:
        top = os.path.normpath(top)
        if top == "." or path == top or path.startswith(top + "/"):
            return True
    return False


def check_revertible(clone, revert, paths):
    """Refuse to revert a revert (it would deploy again what was rolled back) or a commit that changes files
    outside paths (another tree's commit, e.g. another environment's)."""
    reverted = REVERTS.search(clone.output("log", "-1", "--format=%B", revert))
    if reverted:
        raise GitError("revert: %s is itself a revert (of %s); reverting it would deploy again what was rolled back, "
                       "so nothing was reverted (deploy a release instead)" % (revert, reverted.group(1)),
                       field="revert")
    changed = clone.output("diff-tree", "--root", "--no-commit-id", "--name-only", "-r", "-z", revert).split("\0")
    outside = [path for path in changed if path and not _within(path, paths)]
    if outside:
        named = ", ".join(outside[:3]) + (" and %d more" % (len(outside) - 3) if len(outside) > 3 else "")
        raise GitError("revert: %s changes %s, outside %s; it is not this tree's commit, nothing was reverted"
                       % (revert, named, ", ".join(paths)), field="revert")


def check_clone(clone, remote, branch):
    """Fail early, naming the option, when the clone, its remote or its branch are not what they should be."""
    if not os.path.isdir(clone.path):
        raise GitError("repo_path: %s does not exist (clone the GitOps repository first)" % clone.path,
                       field="repo_path")
    rc, out, _err = clone.run("rev-parse", "--show-toplevel", check=False)
    if rc != 0 or os.path.realpath(out.strip()) != os.path.realpath(clone.path):
        raise GitError("repo_path: %s is not the top of a git work tree" % clone.path, field="repo_path")
    rc, url, _err = clone.run("remote", "get-url", remote, check=False)
    if rc != 0:
        raise GitError("remote: the clone has no remote named %r" % remote, field="remote")
    if URL_WITH_PASSWORD.match(url.strip()):
        raise GitError("remote: the URL of %r carries credentials; remove them from .git/config and pass the "
                       "token through the token option (GITOPS_TOKEN) instead" % remote, field="remote")
    rc, current, _err = clone.run("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    if rc != 0 or current.strip() != branch:
        raise GitError("branch: the clone is on %r, not on %r" % (current.strip() or "a detached HEAD", branch),
                       field="branch")


def _scratch_index(clone):
    """A copy of the index, so staging for a preview leaves the real one untouched."""
    handle, path = tempfile.mkstemp(prefix="kindling-index-")
    os.close(handle)
    index = os.path.join(clone.git_dir(), "index")
    if os.path.exists(index):
        shutil.copyfile(index, path)
    else:
        os.remove(path)
    return path


def preview(clone, paths, revert=None):
    """The patch a commit (or the revert) would make, computed without touching the index or work tree."""
    if revert:
        return clone.output("diff", "--no-color", revert, revert + "^")
    index = _scratch_index(clone)
    try:
        env = {"GIT_INDEX_FILE": index}
        clone.run("add", "--all", "--", *paths, env=env)
        base = clone.head() or clone.output("hash-object", "-t", "tree", "/dev/null")
        return clone.output("diff", "--cached", "--no-color", base, "--", *paths, env=env)
    finally:
        if os.path.exists(index):
            os.remove(index)


def _unpushed(clone, remote, branch):
    """Commits on HEAD the remote-tracking branch does not have (a push that failed on an earlier run)."""
    head = clone.head()
    if head is None:
        return 0
    rc, tracking, _err = clone.run("rev-parse", "--verify", "--quiet", "refs/remotes/%s/%s" % (remote, branch),
                                   check=False)
    if rc != 0:
        return int(clone.output("rev-list", "--count", "HEAD"))
    return int(clone.output("rev-list", "--count", "%s..HEAD" % tracking.strip()))


class _Restore(object):
    """Puts HEAD, the index and (for a revert) the work tree back as they were when a step fails."""

    def __init__(self, clone, hard):
        self.clone = clone
        self.hard = hard
        self.head = clone.head()
        self.saved_index = _scratch_index(clone)
        self.committed = None

    def __call__(self):
        clone = self.clone
        git_dir = clone.git_dir()
        for marker, command in (("rebase-merge", "rebase"), ("rebase-apply", "rebase"), ("REVERT_HEAD", "revert")):
            if os.path.exists(os.path.join(git_dir, marker)):
                clone.run(command, "--abort", check=False)
        if self.committed and not self.hard:
            # A rebase that went through rewrote the work tree; our own commit holds it as it was.
            clone.run("reset", "--hard", self.committed, check=False)
        if self.head:
            clone.run("reset", "--hard" if self.hard else "--soft", self.head, check=False)
        else:
            clone.run("update-ref", "-d", "HEAD", check=False)
        index = os.path.join(git_dir, "index")
        if os.path.exists(self.saved_index):
            shutil.copyfile(self.saved_index, index)
        elif os.path.exists(index):
            os.remove(index)

    def discard(self):
        if os.path.exists(self.saved_index):
            os.remove(self.saved_index)


def _push(clone, remote, branch, max_attempts):
    """Push HEAD; on a non-fast-forward fetch, rebase and try again, at most max_attempts pushes."""
    for attempt in range(1, max_attempts + 1):
        rc, out, err = clone.run("push", "--porcelain", remote, "HEAD:refs/heads/%s" % branch, check=False)
        if rc == 0:
            clone.run("update-ref", "refs/remotes/%s/%s" % (remote, branch), "HEAD", check=False)
            return attempt
        message = (err + out).strip()
        if not REJECTED.search(message):
            raise GitError("push to %s rejected: %s" % (remote, message))
        if attempt == max_attempts:
            break
        clone.run("fetch", "--quiet", remote, "refs/heads/%s:refs/remotes/%s/%s" % (branch, remote, branch))
        rc, out, err = clone.run("rebase", "refs/remotes/%s/%s" % (remote, branch), check=False)
        if rc != 0:
            # Only git's CONFLICT lines: its hints (resolve, `git rebase --continue`) are untrue once the
            # rebase is aborted, which _Restore does before this error reaches the user.
            files = re.findall(r"^CONFLICT \([^)]*\): .*? in (\S+)$", out + err, re.M)
            raise GitError("push to %s: the remote branch %s changed the same lines of %s since this clone's base "
                           "(rebase conflict); the rebase was aborted, nothing was pushed and the clone is as it was. "
                           "Render again on top of %s/%s and commit (the pipeline's next run does exactly that)."
                           % (remote, branch, ", ".join(files) or "the committed files", remote, branch))
    raise GitError("push to %s still rejected after %d attempts (the remote keeps moving)" % (remote, max_attempts))


def commit_and_push(clone, paths, message, remote="origin", branch="main", revert=None, push=True,
                    max_attempts=3, check_mode=False):
    """Commit the paths (or revert a commit) and push. Returns the facts gitops_commit reports."""
    check_clone(clone, remote, branch)
    _check_paths(clone, paths)
    if revert:
        if not rules.is_commit_sha(revert) or clone.run("cat-file", "-e", revert + "^{commit}", check=False)[0] != 0:
            raise GitError("revert: %r is not a commit in %s" % (revert, clone.path), field="revert")
        revert = clone.output("rev-parse", revert + "^{commit}")
        check_revertible(clone, revert, paths)
        if clone.output("status", "--porcelain", "--untracked-files=no"):
            raise GitError("revert: the clone has uncommitted changes; a revert needs a clean work tree",
                           field="revert")
    previous = clone.head()
    patch = preview(clone, paths, revert)
    ahead = _unpushed(clone, remote, branch) if push else 0
    result = dict(previous_commit=previous, commit=previous, pushed=False, committed=False, diff=patch,
                  attempts=0)
    if check_mode:
        result["changed"] = bool(patch) or bool(ahead)
        return result

    restore = _Restore(clone, hard=bool(revert))
    try:
        if revert:
            rc, out, err = clone.run("revert", "--no-commit", revert, check=False)
            if rc != 0:
                raise GitError("revert: %s does not revert cleanly on %s: %s" % (revert, branch, (out + err).strip()),
                               field="revert")
        else:
            clone.run("add", "--all", "--", *paths)
        staged = clone.run("diff", "--cached", "--quiet", check=False)[0] != 0 if previous else bool(
            clone.output("ls-files", "--cached"))
        if staged:
            if revert:
                message = "%s\n\nThis reverts commit %s." % (message, revert)
            clone.run("commit", "--quiet", "--no-verify", "-m", message)
            result["committed"] = True
            restore.committed = clone.head()
        if push and (staged or ahead):
            result["attempts"] = _push(clone, remote, branch, max_attempts)
            result["pushed"] = True
    except GitError:
        restore()
        raise
    finally:
        restore.discard()
    result["commit"] = clone.head()
    result["changed"] = result["committed"] or result["pushed"]
    return result
