"""`python -m bench`'s command line: help and an unknown name answer without running anything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_help_lists_the_benchmarks_and_runs_none() -> None:
    done = _bench("--help")
    assert done.returncode == 0
    assert done.stdout.startswith("usage: python -m bench [NAME ...]")
    assert "monitor, replay, replay_memory, store, views" in done.stdout
    assert "== bench" not in done.stdout


def test_an_unknown_name_is_refused_by_name_before_any_benchmark_runs() -> None:
    done = _bench("views", "nope")
    assert done.returncode == 2
    assert "no benchmark named nope" in done.stderr
    assert "== bench" not in done.stdout
