# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Options of every module that changes the host through a transaction.
    DOCUMENTATION = r"""
options:
  state_dir:
    description:
      - Where the collection keeps its state on the host, C(checkpoints/), the host C(lock) and the
        C(journal.json) of an open transaction.
      - Created 0700 and owned by the user running the task. A symlink or a directory owned by someone else
        there is refused, and so is a directory inside one nginx loads configuration from.
    type: path
    default: /var/lib/wsproxy
  lock_timeout:
    description:
      - Seconds to wait for another run of the collection on the same host to finish, then fail.
    type: int
    default: 60
notes:
  - One run at a time per host; a second run waits for the lock up to O(lock_timeout).
  - If an earlier run was killed while a transaction was open, the checkpoint of that transaction is restored
    (and nginx tested and reloaded) before anything else, and reported as RV(recovered).
"""
