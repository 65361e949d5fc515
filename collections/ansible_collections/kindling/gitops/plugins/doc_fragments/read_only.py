# -*- coding: utf-8 -*-
# Copyright: kindling.gitops contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Attributes of every module that only reads (files, registries) and never changes anything.
    DOCUMENTATION = r'''
attributes:
  check_mode:
    support: full
    description: Runs normally in check mode; it only reads.
  diff_mode:
    support: none
    description: Nothing to diff; the module changes nothing.
  idempotent:
    support: full
    description: Never reports a change; the same inputs give the same result.
'''
