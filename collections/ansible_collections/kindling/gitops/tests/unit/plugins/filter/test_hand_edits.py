# -*- coding: utf-8 -*-
# Copyright: kindling.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""hand_edits: the last commits of the pipeline's files that someone else made."""

from __future__ import annotations

from ansible_collections.kindling.gitops.plugins.filter.hand_edits import hand_edits


def test_hand_edits_are_commits_by_someone_else_than_the_pipeline():
    lines = ["dev/a.yaml\tabc123\tme@example.com\tMe\tfix: a\tb", "dev/b.yaml\tdef456\tkindling@localhost\tK\tr",
             "garbage"]
    assert hand_edits(lines, "kindling@localhost") == [
        {"file": "dev/a.yaml", "commit": "abc123", "email": "me@example.com", "author": "Me", "subject": "fix: a\tb"}]
