# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Content-addressed tags for Docker build contexts.

The tag is derived from the build context *as the Docker builder sees it*: the files .dockerignore
lets through (moby's pattern semantics: Go filepath.Match per path element, ``**``, ``!`` exceptions,
last match wins, a pattern matching a parent directory excludes its children), the Dockerfile (always
sent, even when ignored), and the build arguments. Only stdlib: importable and testable without Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import posixpath
import re
import stat

# Bump when the hashed representation changes, so old and new tags can never collide.
HASH_SCHEME = b"kindling-context-v1"
TAG_HEX_LENGTH = 12
# https://github.com/distribution/reference: a tag is [\w][\w.-]{0,127}.
TAG_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
MAX_TAG_LENGTH = 128
BUILD_ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ContextError(Exception):
    """A user error in the build context or options; ``field`` names the offending option."""

    def __init__(self, field, message):
        super(ContextError, self).__init__("%s: %s" % (field, message))
        self.field = field


def parse_dockerignore(text):
    """Patterns from .dockerignore text, cleaned the way BuildKit's ignorefile.ReadAll does."""
    patterns = []
    for number, raw in enumerate(text.splitlines()):
        line = raw.lstrip(u"\ufeff") if number == 0 else raw
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exclusion = line.startswith("!")
        if exclusion:
            line = line[1:].strip()
        if line:
            line = posixpath.normpath(line)
            if len(line) > 1 and line.startswith("/"):
                line = line[1:]
        patterns.append(Pattern(line, exclusion))
    return patterns


def _glob_to_regex(pattern):
    """moby/patternmatcher's compile(): '*' and '?' never cross '/', '**' crosses any number of them."""
    out = ["^"]
    i = 0
    length = len(pattern)
    in_class = False
    while i < length:
        char = pattern[i]
        if in_class:
            # Inside [...] Go's filepath.Match and Python's re agree; only a literal '[' needs escaping.
            if char == "]":
                in_class = False
            out.append("\\[" if char == "[" else char)
        elif char == "*":
            if i + 1 < length and pattern[i + 1] == "*":
                i += 2
                if i < length and pattern[i] == "/":
                    i += 1
                out.append(".*" if i >= length else "(.*/)?")
                continue
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\":
            i += 1
            out.append(re.escape(pattern[i]) if i < length else "\\\\")
        elif char == "[":
            in_class = True
            out.append(char)
        else:
            out.append(re.escape(char))
        i += 1
    out.append("$")
    return "".join(out)


class Pattern:
    def __init__(self, text, exclusion=False):
        self.text = text
        self.exclusion = exclusion
        try:
            self.regex = re.compile(_glob_to_regex(text), re.DOTALL)
        except re.error as exc:
            raise ContextError(".dockerignore", "invalid pattern %r: %s" % (text, exc))

    def match(self, path):
        return self.regex.match(path) is not None


def is_excluded(path, patterns):
    """moby's MatchesOrParentMatches: does .dockerignore exclude ``path`` (relative, '/'-separated)?"""
    matched = False
    parent = posixpath.dirname(path)
    parent_parts = parent.split("/") if parent else []
    for pattern in patterns:
        # An exclusion can only un-exclude something already matched, an inclusion only exclude more.
        if pattern.exclusion != matched:
            continue
        hit = pattern.match(path)
        if not hit:
            hit = any(pattern.match("/".join(parent_parts[:i + 1])) for i in range(len(parent_parts)))
        if hit:
            matched = not pattern.exclusion
    return matched


def _may_reinclude_below(directory, patterns):
    """The Docker CLI's walk: descend into an excluded directory only if an exception names a path in it."""
    prefix = directory + "/"
    return any(p.exclusion and (p.text + "/").startswith(prefix) for p in patterns)


def context_entries(context_dir, patterns, dockerfile):
    """Sorted (relative path, kind, payload) for every entry the builder would send.

    kind is 'd' (directory), 'f' (regular file; payload: executable bit + sha256), 'l' (symlink;
    payload: target). The Dockerfile is always included, as the Docker CLI and daemon always send it.
    """
    entries = []
    root = os.path.abspath(context_dir)

    def visit(directory_rel):
        absolute = os.path.join(root, directory_rel) if directory_rel else root
        for name in sorted(os.listdir(absolute)):
            rel = posixpath.join(directory_rel, name) if directory_rel else name
            full = os.path.join(root, rel)
            info = os.lstat(full)
            excluded = is_excluded(rel, patterns)
            if stat.S_ISDIR(info.st_mode):
                if not excluded:
                    entries.append((rel, "d", ""))
                if not excluded or _may_reinclude_below(rel, patterns):
                    visit(rel)
            elif not excluded or rel == dockerfile:
                entry = _entry(rel, full, info)
                if entry:
                    entries.append(entry)

    visit("")
    if dockerfile not in [e[0] for e in entries]:
        full = os.path.join(root, dockerfile)
        entries.append(_entry(dockerfile, full, os.lstat(full)))
    return sorted(entries)


def _entry(rel, full, info):
    if stat.S_ISLNK(info.st_mode):
        return (rel, "l", os.readlink(full))
    if stat.S_ISREG(info.st_mode):
        digest = hashlib.sha256()
        with open(full, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        # Only the executable bit, like git: umask differences between checkouts must not change the tag.
        executable = "x" if info.st_mode & 0o111 else "-"
        return (rel, "f", executable + digest.hexdigest())
    # Sockets, FIFOs and devices: the builder's tar skips them too.
    return None


def context_digest(entries, build_args, extra_inputs=None):
    """sha256 over the entries, the build args and any extra inputs (e.g. the base image ID)."""
    digest = hashlib.sha256(HASH_SCHEME + b"\0")
    for rel, kind, payload in entries:
        digest.update(("%s\0%s\0%s\n" % (kind, rel, payload)).encode("utf-8", "surrogateescape"))
    for section, values in (("arg", build_args or {}), ("input", extra_inputs or {})):
        for key in sorted(values):
            digest.update(("%s\0%s\0%s\n" % (section, key, values[key])).encode("utf-8"))
    return digest.hexdigest()


def validate_build_args(build_args):
    for name, value in (build_args or {}).items():
        if not BUILD_ARG_NAME.match(name):
            raise ContextError("build_args", "%r is not a valid build argument name" % name)
        if value is None:
            raise ContextError("build_args", "%s has no value" % name)


def read_version(context_dir, version, version_file):
    """The version for the tag: the ``version`` option, or the first line of ``version_file``."""
    if version:
        source, text = "version", version
    else:
        source = "version_file"
        path = os.path.join(context_dir, version_file)
        if not os.path.isfile(path):
            raise ContextError("version_file", "%s does not exist; set version or version_file" % path)
        with open(path) as handle:
            text = handle.read().strip()
    if not text or not TAG_PART.match(text):
        raise ContextError(source, "%r cannot start an image tag (allowed: letters, digits, '_', '.', '-')" % text)
    if len(text) + 1 + TAG_HEX_LENGTH > MAX_TAG_LENGTH:
        raise ContextError(source, "%r is too long for an image tag" % text)
    return text


def compute_tag(context_dir, dockerfile="Dockerfile", build_args=None, version=None,
                version_file="VERSION", extra_inputs=None, exclude=None):
    """Everything the module returns, as a dict. Raises ContextError naming the bad option."""
    if not os.path.isdir(context_dir):
        raise ContextError("path", "%s is not a directory" % context_dir)
    dockerfile = posixpath.normpath(dockerfile.replace(os.sep, "/"))
    if dockerfile.startswith("../") or posixpath.isabs(dockerfile):
        raise ContextError("dockerfile", "%s must be inside the build context" % dockerfile)
    if not os.path.isfile(os.path.join(context_dir, dockerfile)):
        raise ContextError("dockerfile", "%s not found in %s" % (dockerfile, context_dir))
    validate_build_args(build_args)
    resolved_version = read_version(context_dir, version, version_file)
    ignore_path = os.path.join(context_dir, ".dockerignore")
    patterns = []
    if os.path.isfile(ignore_path):
        with open(ignore_path, encoding="utf-8") as handle:
            patterns = parse_dockerignore(handle.read())
    # Appended last: they exclude even what a .dockerignore exception lets through.
    patterns += parse_dockerignore("\n".join(exclude or []))
    entries = context_entries(context_dir, patterns, dockerfile)
    digest = context_digest(entries, build_args, extra_inputs)
    return {
        "tag": "%s-%s" % (resolved_version, digest[:TAG_HEX_LENGTH]),
        "version": resolved_version,
        "context_digest": "sha256:" + digest,
        "files": [rel for rel, kind, _payload in entries if kind != "d"],
    }
