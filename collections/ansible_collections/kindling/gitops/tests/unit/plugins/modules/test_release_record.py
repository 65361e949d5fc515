# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""release_record module: read-only without a record, write with diff, check mode, bad input."""

from __future__ import annotations

from .harness import ModuleFail, run_module

from ansible_collections.kindling.gitops.plugins.modules import release_record


def test_read_without_a_record_changes_nothing(tmp_path):
    result = run_module(release_record, {"dir": str(tmp_path / "release"), "name": "verified"})
    assert result["changed"] is False and result["record"] == {} and result["exists"] is False
    assert not (tmp_path / "release").exists()


def test_write_then_read(tmp_path):
    args = {"dir": str(tmp_path / "release"), "name": "deployed", "record": {"env": "dev", "commit": "abc1234"}}
    written = run_module(release_record, args)
    assert written["changed"] is True and "abc1234" in written["diff"]["after"]
    read = run_module(release_record, {"dir": args["dir"], "name": "deployed"})
    assert read["record"] == {"env": "dev", "commit": "abc1234"} and read["exists"] is True
    assert run_module(release_record, args)["changed"] is False


def test_check_mode_writes_nothing(tmp_path):
    args = {"dir": str(tmp_path / "release"), "name": "image", "record": {"image": {"ref": "r"}}, "_ansible_check_mode": True}
    assert run_module(release_record, args)["changed"] is True
    assert not (tmp_path / "release").exists()


def test_report_needs_a_record(tmp_path):
    failed = run_module(release_record, {"dir": str(tmp_path), "name": "verified", "report": str(tmp_path / "r.json")},
                        outcome=ModuleFail)
    assert "report" in failed["msg"] and "record" in failed["msg"]


def test_unknown_name_is_refused(tmp_path):
    failed = run_module(release_record, {"dir": str(tmp_path), "name": "report"}, outcome=ModuleFail)
    assert "name" in failed["msg"]
