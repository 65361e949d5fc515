"""app/'s defaults agree with the pins: the base image in versions.yml, the wheelhouse's Python, the packages."""
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.fast

ROOT = Path(__file__).resolve().parent.parent
APP_BASE = yaml.safe_load((ROOT / "versions.yml").read_text())["kindling_versions"]["images"]["app_base"]


def test_dockerfile_default_base_is_the_pinned_app_base():
    default = re.search(r"^ARG BASE_IMAGE=(\S+)$", (ROOT / "app" / "Dockerfile").read_text(), re.M)
    assert default, "app/Dockerfile has no ARG BASE_IMAGE default"
    assert default.group(1) == APP_BASE


def test_wheelhouse_defaults_to_the_pinned_base_images_python():
    python = re.match(r"python:(\d+\.\d+)", APP_BASE)
    assert python, f"versions.yml app_base {APP_BASE} does not name a Python version"
    usage = subprocess.run([sys.executable, str(ROOT / "app" / "build-wheelhouse"), "--help"],
                           capture_output=True, text=True, check=True).stdout
    assert f"(default {python.group(1)}" in " ".join(usage.split())


def test_every_app_package_is_pinned_in_the_top_level_requirements():
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    pinned = {line.split("==")[0].lower().replace("_", "-") for line in lines if "==" in line and not line.startswith("#")}
    names = [line.strip() for line in (ROOT / "app" / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert names, "app/requirements.txt is empty"
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", name) for name in names), "app/requirements.txt names packages only"
    assert [name for name in names if name.lower().replace("_", "-") not in pinned] == []
