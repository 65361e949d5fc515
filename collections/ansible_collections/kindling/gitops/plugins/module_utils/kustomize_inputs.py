# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks for user input that ends up in Kubernetes objects: names, labels, image references.

Every check raises InputError naming the option (field) at fault, so a module can fail before it
writes anything. Plain Python: unit-testable without Ansible.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
# The grammar of github.com/distribution/reference (name components, domain, tag, digest).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
IMAGE_NAME = re.compile(r"^(?:%s/)?%s(?:/%s)*$" % (_DOMAIN, _COMPONENT, _COMPONENT))
IMAGE_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
DIGEST = re.compile(r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")


class InputError(ValueError):
    """Bad user input; `field` names the option at fault."""

    def __init__(self, field, message):
        super(InputError, self).__init__("%s: %s" % (field, message))
        self.field = field


def check_dns_label(field, value):
    """A namespace or other RFC 1123 label: lower-case alphanumerics and '-', at most 63 characters."""
    if not isinstance(value, str) or len(value) > 63 or not DNS_LABEL.match(value):
        raise InputError(field, "%r is not a valid RFC 1123 label (lower-case letters, digits and '-', "
                                "starting and ending with an alphanumeric, at most 63 characters)" % (value,))
    return value


def check_dns_subdomain(field, value, wildcard=False):
    """A host name or object name: RFC 1123 subdomain, at most 253 characters."""
    name = value[2:] if wildcard and isinstance(value, str) and value.startswith("*.") else value
    if not isinstance(name, str) or len(name) > 253 or not DNS_SUBDOMAIN.match(name):
        raise InputError(field, "%r is not a valid RFC 1123 subdomain (lower-case letters, digits, '-' and '.', "
                                "at most 253 characters)" % (value,))
    return value


def check_qualified_key(field, key):
    """A label or annotation key: optional DNS-subdomain prefix, '/', and a name of at most 63 characters."""
    if not isinstance(key, str) or not key:
        raise InputError(field, "keys must be non-empty strings, got %r" % (key,))
    prefix, sep, name = key.rpartition("/")
    if sep and not prefix:
        raise InputError(field, "key %r has an empty prefix before '/'" % (key,))
    if prefix:
        check_dns_subdomain("%s key %r prefix" % (field, key), prefix)
    if len(name) > 63 or not QUALIFIED_NAME.match(name):
        raise InputError(field, "key %r is not a valid qualified name (alphanumerics, '-', '_' and '.', "
                                "at most 63 characters after an optional 'prefix/')" % (key,))
    return key


def check_labels(field, labels):
    """Label keys and values as Kubernetes accepts them; returns the labels with string values."""
    checked = {}
    for key, value in (labels or {}).items():
        check_qualified_key(field, key)
        value = "" if value is None else str(value)
        if len(value) > 63 or (value and not QUALIFIED_NAME.match(value)):
            raise InputError(field, "value %r of label %r is not a valid label value (at most 63 alphanumerics, "
                                    "'-', '_' or '.', starting and ending with an alphanumeric)" % (value, key))
        checked[key] = value
    return checked


def check_annotations(field, annotations):
    """Annotation keys as Kubernetes accepts them; values become strings (YAML would otherwise retype them)."""
    checked = {}
    for key, value in (annotations or {}).items():
        check_qualified_key(field, key)
        checked[key] = "" if value is None else str(value)
    return checked


def check_config_literals(field, literals):
    """ConfigMap keys; values become strings."""
    checked = {}
    for key, value in (literals or {}).items():
        if not isinstance(key, str) or len(key) > 253 or not CONFIG_KEY.match(key):
            raise InputError(field, "key %r is not a valid ConfigMap key (letters, digits, '-', '_' and '.')" % (key,))
        if isinstance(value, (dict, list)):
            raise InputError(field, "value of %r must be a scalar, got %s" % (key, type(value).__name__))
        checked[key] = "" if value is None else (str(value).lower() if isinstance(value, bool) else str(value))
    return checked


def check_replica_count(field, count):
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise InputError(field, "%r is not a valid replica count (an integer >= 0)" % (count,))
    return count


def check_image_name(field, name):
    if not isinstance(name, str) or len(name) > 255 or not IMAGE_NAME.match(name):
        raise InputError(field, "%r is not a valid image name (registry[:port]/path, lower-case path components, "
                                "no tag or digest)" % (name,))
    return name


def check_image_tag(field, tag):
    if not isinstance(tag, str) or not IMAGE_TAG.match(tag):
        raise InputError(field, "%r is not a valid image tag (up to 128 letters, digits, '_', '.' and '-', "
                                "not starting with '.' or '-')" % (tag,))
    return tag


def check_digest(field, digest):
    if not isinstance(digest, str) or not DIGEST.match(digest):
        raise InputError(field, "%r is not a valid digest (sha256: followed by 64 lower-case hex digits)" % (digest,))
    return digest


def split_image_ref(field, ref):
    """Split `name[:tag][@digest]` into (name, tag, digest), checking each part."""
    if not isinstance(ref, str) or not ref:
        raise InputError(field, "an image reference is required, got %r" % (ref,))
    rest, _sep, digest = ref.partition("@")
    name, tag = rest, None
    last_slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > last_slash:
        name, tag = rest[:colon], rest[colon + 1:]
    check_image_name(field, name)
    if tag is not None:
        check_image_tag(field, tag)
    if digest:
        check_digest(field, digest)
    return name, tag, digest or None
