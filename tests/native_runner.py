"""Run a snippet of Python in a fresh interpreter from the repository's root, with the compiled
modules in use or with `PARLEY_NATIVE=0` (pure Python): how the native tests compare the two."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor import native

ROOT = Path(__file__).resolve().parents[1]


def run_snippet(code: str, *args: str, pure: bool) -> list[str]:
    """The lines `code` prints, run with `args` as `sys.argv[1:]`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if pure:
        env[native.ENV] = "0"
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return done.stdout.splitlines()


def require_build(package: str) -> None:
    """Skip (saying why) when `package` has no compiled build for the sources in the tree; under
    CI (`CI=true`, after `make setup` built it) fail instead, so CI always compares the two."""
    if native.active(package):
        return
    message = (
        f"no compiled build of {package} for these sources (run `make setup`; "
        f"`python -m monitor.native status` says why)"
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)
