# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Content-addressed tags for Docker build contexts.

The tag is derived from the build context *as the builder receives it*: the paths the Docker SDK's
``docker.utils.build.exclude_paths`` lets through for the context's .dockerignore, the Dockerfile (always
sent, even when ignored), and the build arguments. exclude_paths is the matcher community.docker's
docker_image runs on the same .dockerignore when it builds (its vendored copy of docker-py's
utils/build.py), so the tag hashes exactly the files the build is sent. Known differences from
moby/patternmatcher (BuildKit, the Docker CLI) are in tests/unit/plugins/module_utils/test_image_context.py:
``[^...]`` classes and backslash escapes. Importable and testable without Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os
import posixpath
import re
import stat

from ansible_collections.kindling.gitops.plugins.module_utils import rules

try:
    from docker.utils.build import exclude_paths
    HAS_DOCKER_SDK = True
    DOCKER_SDK_IMPORT_ERROR = None
except ImportError as error:
    HAS_DOCKER_SDK = False
    DOCKER_SDK_IMPORT_ERROR = error

# Bump when the hashed representation changes, so old and new tags can never collide.
HASH_SCHEME = b"kindling-context-v1"
TAG_HEX_LENGTH = 12
BUILD_ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ContextError(Exception):
    """A user error in the build context or options; ``field`` names the offending option."""

    def __init__(self, field, message):
        super(ContextError, self).__init__("%s: %s" % (field, message))
        self.field = field


def parse_dockerignore(text):
    """Patterns from .dockerignore text, read as community.docker's docker_image reads them before it builds:
    each line stripped, empty lines and comments dropped."""
    return [line for line in (raw.strip() for raw in text.splitlines()) if line and not line.startswith("#")]


def context_entries(context_dir, patterns, dockerfile):
    """Sorted (relative path, kind, payload) for every entry the builder would be sent.

    kind is 'd' (directory), 'f' (regular file; payload: executable bit + sha256), 'l' (symlink;
    payload: target). exclude_paths always keeps the Dockerfile and .dockerignore, as Docker sends both.
    """
    root = os.path.abspath(context_dir)
    entries = []
    # exclude_paths appends "!<dockerfile>" to the list it is given: hand it a copy.
    for rel in exclude_paths(root, list(patterns), dockerfile=dockerfile):
        full = os.path.join(root, rel)
        info = os.lstat(full)
        rel = rel.replace(os.sep, "/")
        if stat.S_ISDIR(info.st_mode):
            entries.append((rel, "d", ""))
            continue
        entry = _entry(rel, full, info)
        if entry:
            entries.append(entry)
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
    # The tag will be "<version>-<hex>": it, not the version alone, must follow the one image tag rule.
    if not text or not rules.is_image_tag("%s-%s" % (text, "0" * TAG_HEX_LENGTH)):
        raise ContextError(source, "%r cannot start an image tag (letters, digits, '_', '.', '-', not starting with "
                                   "'.' or '-', at most %d characters)" % (text, 127 - TAG_HEX_LENGTH))
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
    # Appended last: they exclude even what a .dockerignore exception lets through (never the Dockerfile).
    patterns += parse_dockerignore("\n".join(exclude or []))
    entries = context_entries(context_dir, patterns, dockerfile)
    digest = context_digest(entries, build_args, extra_inputs)
    return {
        "tag": "%s-%s" % (resolved_version, digest[:TAG_HEX_LENGTH]),
        "version": resolved_version,
        "context_digest": "sha256:" + digest,
        "files": [rel for rel, kind, _payload in entries if kind != "d"],
    }
