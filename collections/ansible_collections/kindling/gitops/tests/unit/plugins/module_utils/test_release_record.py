# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""release_record: read, write only on change, the image contract's fields, each record's own report copy."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.kindling.gitops.plugins.module_utils import release_record as rr

IMAGE = {"registry": "localhost:5001", "repository": "app1", "tag": "1.0.0-abc", "digest": "sha256:" + "a" * 64,
         "ref": "localhost:5001/app1@sha256:" + "a" * 64, "pushed": True}


def test_missing_record_reads_as_empty(tmp_path):
    assert rr.read(str(tmp_path / "release"), "verified") == {}


def test_write_keeps_the_image_contract_fields_and_is_idempotent(tmp_path):
    folder = str(tmp_path / "release")
    first = rr.write(folder, "deployed", {"env": "dev", "image": IMAGE, "commit": "c" * 40})
    assert first["changed"] and first["previous"] == {}
    on_disk = json.loads((tmp_path / "release" / "deployed.json").read_text())
    assert "pushed" not in on_disk["image"] and on_disk["image"]["digest"] == IMAGE["digest"]
    assert stat.S_IMODE(os.stat(first["path"]).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    # `pushed` differs from run to run; the record does not.
    again = rr.write(folder, "deployed", {"env": "dev", "image": dict(IMAGE, pushed=False), "commit": "c" * 40})
    assert not again["changed"] and again["previous"] == on_disk
    assert rr.read(folder, "deployed") == on_disk


def test_the_format_is_ansibles_to_nice_json_so_old_records_are_not_rewritten(tmp_path):
    folder = tmp_path / "release"
    folder.mkdir()
    record = {"env": "dev", "commit": "c" * 40, "image": {"ref": "r"}}
    (folder / "deployed.json").write_text(json.dumps(record, indent=4, sort_keys=True, separators=(",", ": ")) + "\n")
    assert not rr.write(str(folder), "deployed", record)["changed"]


def test_check_mode_writes_nothing(tmp_path):
    folder = tmp_path / "release"
    result = rr.write(str(folder), "image", {"image": IMAGE}, check_mode=True)
    assert result["changed"] and not folder.exists()
    assert result["diff"]["before"] == "" and '"digest"' in result["diff"]["after"]


def test_report_is_copied_and_the_record_points_at_its_copy(tmp_path):
    folder = str(tmp_path / "release")
    report = tmp_path / "report.json"
    report.write_text('{"ok": true}\n')
    result = rr.write(folder, "verified", {"env": "dev", "verified": True}, report=str(report))
    copy = os.path.join(folder, "verified-report.json")
    assert result["changed"] and result["record"]["report_path"] == copy
    assert json.loads(open(copy).read()) == {"ok": True}
    # A later (failed) verification rewrites the role's report; the record's copy stays what it vouched for.
    report.write_text('{"ok": false}\n')
    assert json.loads(open(copy).read()) == {"ok": True}
    assert rr.read(folder, "verified")["report_path"] == copy


def test_a_new_report_of_the_same_record_is_refreshed_but_not_a_change(tmp_path):
    folder = str(tmp_path / "release")
    report = tmp_path / "report.json"
    report.write_text('{"ok": true, "ms": 1}\n')
    rr.write(folder, "verified", {"env": "dev"}, report=str(report))
    report.write_text('{"ok": true, "ms": 2}\n')
    assert not rr.write(folder, "verified", {"env": "dev"}, report=str(report), check_mode=True)["changed"]
    assert json.loads(open(os.path.join(folder, "verified-report.json")).read())["ms"] == 1, "check mode writes nothing"
    assert not rr.write(folder, "verified", {"env": "dev"}, report=str(report))["changed"]
    assert json.loads(open(os.path.join(folder, "verified-report.json")).read())["ms"] == 2


@pytest.mark.parametrize("content, words", [("{not json", "is not JSON"), ("[1]", "holds a list")])
def test_a_corrupt_record_fails_naming_the_file(tmp_path, content, words):
    folder = tmp_path / "release"
    folder.mkdir()
    (folder / "verified.json").write_text(content)
    with pytest.raises(rr.RecordError) as raised:
        rr.read(str(folder), "verified")
    assert words in str(raised.value) and str(folder / "verified.json") in str(raised.value)


def test_bad_input_names_the_field(tmp_path):
    with pytest.raises(rr.RecordError) as raised:
        rr.record_path(str(tmp_path), "report")
    assert raised.value.field == "name"
    with pytest.raises(rr.RecordError) as raised:
        rr.write(str(tmp_path), "image", {"image": "localhost:5001/app1"})
    assert raised.value.field == "record" and not (tmp_path / "image.json").exists()
    with pytest.raises(rr.RecordError) as raised:
        rr.write(str(tmp_path), "verified", {}, report=str(tmp_path / "missing.json"))
    assert raised.value.field == "report" and not (tmp_path / "verified.json").exists()
