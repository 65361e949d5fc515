"""Stand-in for the get-pip.py that ansible-test downloads from a host this machine cannot reach.

ansible-test runs it (as get_pip_<version>.py in ~/.ansible/test/cache) to bootstrap pip into the
virtual environments of its sanity tests. It installs pip from the wheel that lies beside it,
with the arguments ansible-test passes, just as the real get-pip.py does with its embedded wheel.
"""
import glob
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
wheel = sorted(glob.glob(os.path.join(here, "pip-*-py3-none-any.whl")))[-1]
sys.path.insert(0, wheel)

from pip._internal.cli.main import main  # noqa: E402  (importable only once the wheel is on sys.path)

# Like the real get-pip.py: --no-setuptools / --no-wheel only mean "don't add those packages".
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--upgrade", "--force-reinstall", "--find-links", here] + args))
