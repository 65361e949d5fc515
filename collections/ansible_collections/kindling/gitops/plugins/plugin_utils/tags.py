# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side helpers the collection's action plugins share."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.playbook.block import Block
from ansible.playbook.play import Play
from ansible.playbook.task import Task


def tag_rule(run_tags, skip_tags):
    """would_run(tags): whether a task with these tags runs under --tags run_tags --skip-tags skip_tags, by
    Ansible's own rule (Taggable.evaluate_tags, with its all, always, never, tagged and untagged)."""
    play = Play()
    run_tags, skip_tags = set(run_tags), set(skip_tags)

    def would_run(tags):
        task = Task(block=Block(play=play))
        task.tags = list(tags)
        return task.evaluate_tags(run_tags, skip_tags, {})
    return would_run
