# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The release records of one environment (<work dir>/release/{image,deployed,verified}.json): the one place
that reads and writes them, for the playbooks (module release_record) and the unit tests.

- image.json: the image build.yml pushed last; deployed.json: what the GitOps branch deploys now (after a
  rollback: the revert commit, and the release it restores); verified.json: the release verify.yml passed.
- A record's `image` keeps the contract's fields only (registry, repository, tag, digest, ref): `pushed` says
  what one run did, not what the image is, and would make every re-run rewrite the record.
- A record may keep the verification report it stands on: the report is copied next to it
  (<name>-report.json) and the record's `report_path` names that copy, so a later verification that writes
  the verify role's report.json again never changes what an earlier record points at. Refreshing only the
  copy (the same release verified again) is output, not a change, as the verify role's report is.
- Same content, no write: a re-run reports no change. Files are written atomically, 0600, in a 0700 folder.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import tempfile

NAMES = ("image", "deployed", "verified")
IMAGE_FIELDS = ("registry", "repository", "tag", "digest", "ref")


class RecordError(Exception):
    def __init__(self, message, field=None):
        super(RecordError, self).__init__(message)
        self.field = field


def record_path(directory, name):
    if name not in NAMES:
        raise RecordError("name: %r is not a release record (one of %s)" % (name, ", ".join(NAMES)), "name")
    return os.path.join(directory, name + ".json")


def report_copy_path(directory, name):
    return os.path.join(directory, name + "-report.json")


def _read_json(path, what):
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except (IOError, OSError) as error:
        if getattr(error, "errno", None) == 2:
            return None, None
        raise RecordError("%s: cannot read %s: %s" % (what, path, error), what)
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError as error:
        raise RecordError("%s: %s is not JSON (%s); remove it or run the stage that writes it again"
                          % (what, path, error), what)
    if not isinstance(data, dict):
        raise RecordError("%s: %s holds a %s, not a JSON object" % (what, path, type(data).__name__), what)
    return data, raw


def read(directory, name):
    """The record as a dict, {} when there is none."""
    data, _raw = _read_json(record_path(directory, name), "name")
    return data or {}


def normalize(record):
    """The record as written: `image` cut to the contract's fields."""
    if not isinstance(record, dict):
        raise RecordError("record: must be a dict, got %s" % type(record).__name__, "record")
    result = dict(record)
    image = result.get("image")
    if image is not None:
        if not isinstance(image, dict):
            raise RecordError("record: image must be a dict (the image role's kindling_image), got %s"
                              % type(image).__name__, "record")
        result["image"] = dict((key, image[key]) for key in IMAGE_FIELDS if key in image)
    return result


def render(record):
    return json.dumps(record, indent=4, sort_keys=True, separators=(",", ": ")) + "\n"


def _write(path, text):
    directory = os.path.dirname(path)
    handle, temp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.chmod(temp, 0o600)
        os.rename(temp, path)
    except Exception:
        if os.path.exists(temp):
            os.remove(temp)
        raise


def write(directory, name, record, report=None, check_mode=False):
    """Write the record (and its report's copy) when they differ from what is on disk.

    Returns dict(changed, record, previous, path, report_path, diff)."""
    path = record_path(directory, name)
    new = normalize(record)
    report_text = None
    copy = None
    if report:
        report_data, report_raw = _read_json(report, "report")
        if report_data is None:
            raise RecordError("report: %s does not exist (the verify role writes it)" % report, "report")
        report_text = report_raw
        copy = report_copy_path(directory, name)
        new["report_path"] = copy
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise RecordError("dir: %s is not a directory" % directory, "dir")
    previous, previous_raw = _read_json(path, "name") if os.path.isdir(directory) else (None, None)
    text = render(new)
    record_changes = previous_raw is None or previous_raw.decode("utf-8") != text
    report_changes = False
    if copy is not None:
        _old, old_report = _read_json(copy, "report") if os.path.isdir(directory) else (None, None)
        report_changes = old_report != report_text
    # The report is output, like the verify role's own report.json: a re-verification of the same release
    # refreshes the copy (new timings) without that counting as a change; the record itself is the state.
    changed = record_changes
    if (record_changes or report_changes) and not check_mode:
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o700)
        if report_changes:
            _write(copy, report_text.decode("utf-8"))
        if record_changes:
            _write(path, text)
    return dict(changed=changed, record=new, previous=previous or {}, path=path, report_path=copy,
                diff=dict(before=render(previous) if previous is not None else "", after=text,
                          before_header=path, after_header=path))
