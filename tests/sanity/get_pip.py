# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for the get-pip.py bootstrap script that ansible-test downloads from its CI file host.

That host is not reachable from these machines; PyPI is. ansible-test runs this script inside each new
sanity virtual environment with the pip options and the pinned packages (pip==X, ...) as arguments: bootstrap
the pip bundled with Python (ensurepip), then let it install exactly what was asked for from PyPI.
"""
import ensurepip
import os
import subprocess
import sys

# ensurepip points PIP_CONFIG_FILE at /dev/null for its own run; the real install below must see the
# machine's pip configuration (index, certificate authority) again.
environment = dict(os.environ)
ensurepip.bootstrap(upgrade=True)
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install"] + args, env=environment)
