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
      - Seconds to wait for another run of the collection on the same host to finish - its module (the host lock)
        or its open transaction (a checkpoint its playbook run took and has not applied yet, see
        M(wsproxy.nginx.nginx_checkpoint)'s O(wsproxy.nginx.nginx_checkpoint#module:lease)) - then fail naming it,
        changing nothing.
    type: int
    default: 60
  reload_timeout:
    description:
      - Seconds to wait for a reload to be confirmed (a new worker generation and no new C([emerg]) in the
        error log).
    type: int
    default: 10
notes:
  - One run at a time per host; a second run waits for the lock, and for another run's open transaction, up to
    O(lock_timeout).
  - If an earlier run was killed while a transaction was open (or its lease is over), the checkpoint of that
    transaction is restored (and nginx tested and reloaded) before anything else, and reported as RV(recovered);
    a recovery that C(nginx -t) or the reload refuses fails the task.
  - A damaged C(journal.json) is refused, changing nothing, until a checkpoint is restored by id with
    M(wsproxy.nginx.nginx_checkpoint).
  - These options can be set once for every module of the collection with C(module_defaults) and the action
    group C(group/wsproxy.nginx.nginx).
"""

    # The shared options a module that changes nothing accepts so one module_defaults fits the whole action group.
    UNUSED_TIMEOUTS = r"""
options:
  lock_timeout:
    description:
      - Not used (this module changes nothing); accepted so that one C(module_defaults) for the action group
        C(group/wsproxy.nginx.nginx) fits every module of the collection.
    type: int
    default: 60
  reload_timeout:
    description: Not used; accepted for C(module_defaults) of C(group/wsproxy.nginx.nginx).
    type: int
    default: 10
"""

    # The checkpoint options a module that takes no checkpoint accepts, for the same reason.
    UNUSED_CHECKPOINTS = r"""
options:
  keep:
    description:
      - Not used (this module takes no checkpoint); accepted so that one C(module_defaults) for the action group
        C(group/wsproxy.nginx.nginx) fits every module of the collection.
    type: int
    default: 10
    aliases: [checkpoint_keep]
  label:
    description: Not used; accepted for C(module_defaults) of C(group/wsproxy.nginx.nginx).
    type: str
"""

    # Options of the modules that take checkpoints.
    CHECKPOINTS = r"""
options:
  keep:
    description:
      - How many checkpoints to keep on the host; older ones are deleted after a new one is taken.
    type: int
    default: 10
    aliases: [checkpoint_keep]
  label:
    description:
      - A label stored with the checkpoint this task takes (letters, digits, C(.), C(_), C(-), C(:); at most 64).
        The role labels every host of one playbook run alike, so a whole run can be rolled back
        (M(wsproxy.nginx.nginx_checkpoint) O(wsproxy.nginx.nginx_checkpoint#module:label)).
      - Without it the checkpoint is labelled with its own id, a run of its own.
    type: str
"""
