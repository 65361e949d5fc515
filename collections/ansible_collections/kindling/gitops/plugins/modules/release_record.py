#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: release_record
short_description: Read or write one of an environment's release records
version_added: 0.1.0
description:
  - The release records are JSON files in an environment's release folder, on the build host.
    C(image.json) names the image the build stage pushed last. C(deployed.json) names what the GitOps
    branch deploys now (after a rollback, the revert commit and the release it restores). C(verified.json)
    names the release the verify stage passed; promotion takes only what it names.
  - Without O(record), the module only reads the record and returns it (V({}) when there is none).
  - With O(record), it writes the record when its content differs, and returns the content before and after.
    The record's C(image) keeps the image contract's fields only (registry, repository, tag, digest, ref).
  - With O(report), the verification report the record stands on is copied next to it, to
    C(<name>-report.json), and the record's C(report_path) names that copy. Every record thus points at its
    own report, even after a later verification rewrote the verify role's report.
  - Records are written atomically, mode 0600, in a folder made with mode 0700.
author:
  - kindling.gitops maintainers (@kindling)
options:
  dir:
    description:
      - The release folder, normally C(<kindling_work_dir>/release). It is made when a record is written.
    type: path
    required: true
  name:
    description:
      - Which record.
    type: str
    required: true
    choices: [image, deployed, verified]
  record:
    description:
      - The record to write. Leave it out to only read the record.
    type: dict
  report:
    description:
      - A JSON verification report to keep with the record (copied to C(<name>-report.json) in O(dir)).
      - Only with O(record).
    type: path
attributes:
  check_mode:
    support: full
    description: Reads as usual; reports whether the record would change and writes nothing.
  diff_mode:
    support: full
    description: Returns the record before and after as JSON text.
  idempotent:
    support: full
    description: >-
      The same record again writes nothing and reports RV(ignore:changed=false). A new copy of the same record's
      report (the release verified again) is written but is output, not a change.
notes:
  - The records live on the build host, which is not the controller under AWX; this module runs there,
    where a lookup plugin could not read them.
seealso:
  - module: kindling.gitops.gitops_commit
'''

EXAMPLES = r'''
- name: Read the verification recorded last
  kindling.gitops.release_record:
    dir: "{{ kindling_work_dir }}/release"
    name: verified
  register: verified

- name: Record the verified release with its own copy of the report
  kindling.gitops.release_record:
    dir: "{{ kindling_work_dir }}/release"
    name: verified
    record:
      env: dev
      image: "{{ kindling_image }}"
      commit: "{{ kindling_gitops.commit }}"
      verified: true
    report: "{{ kindling_verify.report_path }}"
'''

RETURN = r'''
record:
  description: The record as it is now (after the write; in check mode, as it would be). V({}) when there is none.
  returned: always
  type: dict
  sample: {env: dev, commit: 4f1c2e9d0b7a, image: {ref: "localhost:5001/app1@sha256:0123..."}}
previous:
  description: The record before this task. V({}) when there was none. Only with O(record).
  returned: when O(record) is set
  type: dict
exists:
  description: Whether the record exists (after the write).
  returned: always
  type: bool
path:
  description: The record's file.
  returned: always
  type: str
  sample: /var/lib/kindling/dev/release/verified.json
report_path:
  description: The copy of O(report) the record points at.
  returned: when O(report) is set
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.kindling.gitops.plugins.module_utils.release_record import NAMES, RecordError, read, \
    record_path, write


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dir=dict(type="path", required=True),
            name=dict(type="str", required=True, choices=list(NAMES)),
            record=dict(type="dict"),
            report=dict(type="path"),
        ),
        required_by=dict(report="record"),
        supports_check_mode=True,
    )
    params = module.params
    try:
        if params["record"] is None:
            record = read(params["dir"], params["name"])
            module.exit_json(changed=False, record=record, exists=bool(record),
                             path=record_path(params["dir"], params["name"]))
        result = write(params["dir"], params["name"], params["record"], report=params["report"],
                       check_mode=module.check_mode)
    except RecordError as error:
        module.fail_json(msg=str(error), field=error.field)
    except (IOError, OSError) as error:
        module.fail_json(msg="dir: cannot write the release record in %s: %s" % (params["dir"], error), field="dir")
    diff = result.pop("diff")
    if not result["report_path"]:
        result.pop("report_path")
    if result["changed"]:
        result["diff"] = diff
    module.exit_json(exists=True, **result)


if __name__ == "__main__":
    main()
