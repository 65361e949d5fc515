# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The syntax rules every module (and, through the kindling.gitops test plugins, every role) checks
input against, each stated once: commit SHAs, image names/tags/digests, DNS labels and subdomains,
label and annotation keys, resource quantities.

Every check raises InputError naming the option (field) at fault, so a module can fail before it
writes anything; the ``is_*`` predicates answer the same question without raising (for Jinja tests).
Plain Python: unit-testable without Ansible.

Sources of each rule:
- DNS label/subdomain, qualified names (label keys), label values: k8s.io/apimachinery
  pkg/util/validation/validation.go (IsDNS1123Label, IsDNS1123Subdomain, IsQualifiedName, IsValidLabelValue).
- Image references: github.com/distribution/reference regexp.go (domainAndPort, remoteName, tag); the
  digest is narrowed to the two registered OCI algorithms, sha256 and sha512 (image-spec descriptor.md).
- Commit SHA: 7 to 40 lower-case hex digits. Argo CD compares revisions as SHA-1 (argo-cd util/git/git.go:
  IsCommitSHA ``^[0-9A-Fa-f]{40}$``, IsTruncatedCommitSHA ``^[0-9A-Fa-f]{7,}$``) and reports them in lower
  case; git abbreviates to 7 by default (core.abbrev). SHA-256 repositories (64 hex) are refused because
  Argo CD cannot serve them. git itself would accept 4-character abbreviations; 7 is the shortest both agree on.
- Resource quantities: k8s.io/apimachinery pkg/api/resource/quantity.go, the serialization grammar in the
  Quantity doc comment as parseQuantityString scans it, and suffix.go's suffixes (binarySI Ki..Ei,
  decimalSI n u m "" k M G T P E, decimalExponent e/E followed by a signed integer).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
# github.com/distribution/reference regexp.go: pathComponent, domainAndPort (a domain name or an IPv6
# address in brackets, optional port), tag.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = r"(?:%s(?:\.%s)*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?" % (_DOMAIN_COMPONENT, _DOMAIN_COMPONENT)
REGISTRY_HOST = re.compile(r"^%s$" % _DOMAIN)
REPOSITORY = re.compile(r"^%s(?:/%s)*$" % (_COMPONENT, _COMPONENT))
IMAGE_NAME = re.compile(r"^(?:%s/)?%s(?:/%s)*$" % (_DOMAIN, _COMPONENT, _COMPONENT))
IMAGE_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
DIGEST = re.compile(r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")
COMMIT_SHA = re.compile(r"^[0-9a-f]{7,40}$")
# quantity.go: <signedNumber> is an optional sign and a <number> (digits, digits.digits, digits. or .digits);
# parseQuantityString also lets the number be empty (it then reads 0: "+", "Ki" parse). The suffix is
# binarySI, decimalSI, or e/E with an optional sign and at least one digit (suffix.go interpret: ParseInt).
QUANTITY = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]*)?"
                      r"(?:Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$")
MAX_IMAGE_NAME = 255


def _string_matching(pattern, value, max_length=None):
    return isinstance(value, str) and (max_length is None or len(value) <= max_length) and bool(pattern.match(value))


def is_dns_label(value):
    """RFC 1123 label (IsDNS1123Label): a namespace, a Service name."""
    return _string_matching(DNS_LABEL, value, 63)


def is_dns_subdomain(value):
    """RFC 1123 subdomain (IsDNS1123Subdomain): most object names, host names."""
    return _string_matching(DNS_SUBDOMAIN, value, 253)


def is_image_name(value):
    return _string_matching(IMAGE_NAME, value, MAX_IMAGE_NAME)


def is_registry_host(value):
    """A registry as image references name it: host (domain name or [IPv6]) and an optional port, nothing else."""
    return _string_matching(REGISTRY_HOST, value)


def is_image_repository(value):
    """The path of an image in its registry (distribution/reference remoteName), without registry, tag or digest."""
    return _string_matching(REPOSITORY, value, MAX_IMAGE_NAME)


def is_image_tag(value):
    return _string_matching(IMAGE_TAG, value)


def is_digest(value):
    return _string_matching(DIGEST, value)


def is_commit_sha(value):
    """A git commit SHA as Argo CD compares it: 7-40 lower-case hex digits (see the module docstring)."""
    return _string_matching(COMMIT_SHA, value)


def is_quantity(value):
    """A Kubernetes resource.Quantity: a string in quantity.go's grammar, or a number (the OpenAPI v3 schema's
    oneOf string/number). UnmarshalJSON trims surrounding white space before parsing."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return math.isfinite(value)
    if not isinstance(value, str):
        return False
    text = value.strip()
    return bool(text) and bool(QUANTITY.match(text))


class InputError(ValueError):
    """Bad user input; `field` names the option at fault."""

    def __init__(self, field, message):
        super(InputError, self).__init__("%s: %s" % (field, message))
        self.field = field


def check_dns_label(field, value):
    """A namespace or other RFC 1123 label: lower-case alphanumerics and '-', at most 63 characters."""
    if not is_dns_label(value):
        raise InputError(field, "%r is not a valid RFC 1123 label (lower-case letters, digits and '-', "
                                "starting and ending with an alphanumeric, at most 63 characters)" % (value,))
    return value


def check_dns_subdomain(field, value, wildcard=False):
    """A host name or object name: RFC 1123 subdomain, at most 253 characters."""
    name = value[2:] if wildcard and isinstance(value, str) and value.startswith("*.") else value
    if not is_dns_subdomain(name):
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


def check_commit_sha(field, value):
    if not is_commit_sha(value):
        raise InputError(field, "%r is not a git commit SHA (7 to 40 lower-case hex digits)" % (value,))
    return value


def check_quantity(field, value):
    if not is_quantity(value):
        raise InputError(field, "%r is not a Kubernetes quantity (a number with an optional suffix: "
                                "m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent such as e3)" % (value,))
    if str(value).strip().startswith("-"):
        # ValidateNonnegativeQuantity (pkg/apis/core/validation) refuses negative requests and limits.
        raise InputError(field, "%r must not be negative" % (value,))
    return value


RESOURCE_SECTIONS = ("requests", "limits")


def check_resources(field, resources):
    """A container's resources (ResourceRequirements): requests and limits map resource names to quantities."""
    if resources is None:
        return resources
    if not isinstance(resources, dict):
        raise InputError(field, "must be a mapping with requests and/or limits, got %r" % (resources,))
    for section, amounts in resources.items():
        if section == "claims":
            continue
        if section not in RESOURCE_SECTIONS:
            raise InputError(field, "%r is not a field of ResourceRequirements (requests, limits, claims)" % (section,))
        if not isinstance(amounts, dict):
            raise InputError("%s.%s" % (field, section), "must map resource names to quantities, got %r" % (amounts,))
        for name, amount in amounts.items():
            check_qualified_key("%s.%s" % (field, section), name)
            check_quantity("%s.%s.%s" % (field, section, name), amount)
    return resources


def is_resources(value):
    """A container's ResourceRequirements whose requests and limits are all non-negative quantities."""
    try:
        check_resources("resources", value)
    except InputError:
        return False
    return True


def check_image_name(field, name):
    if not is_image_name(name):
        raise InputError(field, "%r is not a valid image name (registry[:port]/path, lower-case path components, "
                                "no tag or digest)" % (name,))
    return name


def check_image_tag(field, tag):
    if not is_image_tag(tag):
        raise InputError(field, "%r is not a valid image tag (up to 128 letters, digits, '_', '.' and '-', "
                                "not starting with '.' or '-')" % (tag,))
    return tag


def check_digest(field, digest):
    if not is_digest(digest):
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
