# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Named points of a transaction where the tests kill the module, to prove that recovery works.

Test-only: with WSPROXY_TEST_KILL_AT=<point> in the module's environment, the module SIGKILLs itself when it
reaches that point, exactly as a lost SSH connection or an OOM kill would stop it. Without the variable
nothing happens.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import signal

POINTS = ("after-checkpoint", "mid-write", "after-rename", "after-reload")


def reached(point):
    if os.environ.get("WSPROXY_TEST_KILL_AT") == point:
        os.kill(os.getpid(), signal.SIGKILL)
