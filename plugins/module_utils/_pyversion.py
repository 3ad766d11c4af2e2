# -*- coding: utf-8 -*-
# Copyright (c) wsproxy.nginx contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The managed-node Python the collection supports: 3.6 or later (ansible-core 2.17 and later need 3.7 anyway).

Every module imports this before the rest of the collection's module_utils. On an older Python (2.7, which
ansible-core 2.16 still drives) the module stops here with one clear message, as ansible-core's own basic.py does
for a Python it does not support, instead of a traceback or a wrong result from code written for Python 3.
This file and the module files must stay parseable by Python 2.7 for that (`make matrix` checks it with vermin).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import sys

MINIMUM = (3, 6)


def unsupported(version_info=None, executable=None):
    """The failure message for this interpreter, or None when the collection supports it."""
    version_info = tuple(version_info or sys.version_info)
    if version_info[:2] >= MINIMUM:
        return None
    return (
        "wsproxy.nginx needs Python %d.%d or later on the managed node; %s is Python %s. Set "
        "ansible_python_interpreter to a Python 3 of the host (RHEL 8: /usr/libexec/platform-python)."
        % (MINIMUM[0], MINIMUM[1], executable or sys.executable, ".".join(str(part) for part in version_info[:3]))
    )


# No AnsibleModule exists yet to fail_json with: print the result and exit, as basic.py does on its own floor.
_MESSAGE = unsupported()
if _MESSAGE:
    print(json.dumps({"failed": True, "msg": _MESSAGE}))  # pylint: disable=ansible-bad-function
    sys.exit(1)  # pylint: disable=ansible-bad-function
