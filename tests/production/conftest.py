"""The built wheel, installed once per session into a fresh virtualenv outside the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import wait_for_url

ROOT = Path(__file__).resolve().parents[2]
# What the build reads; copied out first because building writes build/ and *.egg-info beside it.
SOURCES = ("pyproject.toml", "setup.py", "README.md", "tracker", "templates", "migrations")


@dataclass
class Install:
    """A virtualenv with the tracker installed from its wheel, and an environment that has no
    trace of the checkout.
    """

    bin: Path
    env: dict

    def run(self, *args, cwd: Path, env: dict | None = None, timeout: float = 300):
        """Run one of the venv's commands in ``cwd``; fail the test with its output if it fails."""
        result = subprocess.run(
            [self.bin / args[0], *args[1:]],
            cwd=cwd,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
        return result


def _checked(args, **kwargs) -> None:
    """Run a build or install step; fail with its output."""
    result = subprocess.run(args, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"


@pytest.fixture(scope="session")
def wheel(tmp_path_factory) -> Path:
    """Build the wheel from a copy of the sources, as ``pip wheel`` does for a release."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(ROOT / name, src / name, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, src / name)
    dist = tmp_path_factory.mktemp("dist")
    _checked(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, src], timeout=600
    )
    (built,) = dist.glob("forderungstracker-*.whl")
    return built


@pytest.fixture(scope="session")
def installed(wheel, tmp_path_factory) -> Install:
    """Install the wheel with its dependencies into a new virtualenv (not the editable one)."""
    venv = tmp_path_factory.mktemp("venv")
    _checked([sys.executable, "-m", "venv", venv])
    _checked([venv / "bin" / "python", "-m", "pip", "install", "-q", wheel], timeout=900)
    # the installed package's own instance folder (<venv>/var/tracker-instance), not the session's
    hidden = ("PYTHONPATH", "VIRTUAL_ENV", "TRACKER_INSTANCE_PATH")
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
    return Install(bin=venv / "bin", env=env)


@pytest.fixture(scope="session")
def wait_for():
    """Wait until a URL answers (a server has come up), with a bound."""
    return wait_for_url
