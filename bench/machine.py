"""What the machine was like while a benchmark ran, so runs on different days can be compared.

This machine is a virtual one with 2 CPUs on a shared host: the same code has measured 1.6x
apart on two runs a few hours apart, with the floors moving by the same factor. So each result
records, beside its own floors:

- `calibration_per_s`: the best of 5 rounds of a fixed pure-Python workload (regex scanning,
  dict counting and string work over fixed text, the kind of work claim extraction does), run
  just before the benchmark: whether the interpreter itself ran slower (runs minutes apart have
  differed by up to 14%, so it flags large differences only; the ratio to the run's own floor
  is the better comparison across days).
- `steal_percent`: the share of CPU time the hypervisor gave to other guests while the
  benchmark ran (`/proc/stat`), when the kernel reports it.
- the CPU model and count, Python and the platform.
"""

from __future__ import annotations

import os
import platform
import re
import time
from pathlib import Path
from typing import Any

_TEXT = (
    "Russia has agreed to hand over the remains of 6,000 soldiers to Ukraine next week, the "
    "Ukrainian delegation said after talks in Istanbul. Kyiv repeated its demand for an "
    "unconditional ceasefire of 30 days, which Moscow rejected, offering instead a pause of two "
    "to three days in some areas of the front. Turkey offered to host a meeting of the leaders. "
) * 4
_WORD = re.compile(r"\b[\w'-]+\b")
_ROUNDS = 5
_LOOPS = 400


def _workload() -> int:
    counts: dict[str, int] = {}
    total = 0
    for _ in range(_LOOPS):
        for match in _WORD.finditer(_TEXT):
            word = match.group(0).lower()
            counts[word] = counts.get(word, 0) + 1
        total += len(" ".join(sorted(counts)[:20]).split())
    return total


def calibration_per_s() -> float:
    """Workload loops a second: the best of 5 rounds (the least disturbed)."""
    best = float("inf")
    for _ in range(_ROUNDS):
        started = time.perf_counter()
        _workload()
        best = min(best, time.perf_counter() - started)
    return round(_LOOPS / best, 1)


def cpu_times() -> list[int] | None:
    """The machine's CPU time counters (`/proc/stat`'s first line), or None where there are none."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    return [int(x) for x in first[1:]] if first and first[0] == "cpu" else None


def steal_percent(before: list[int] | None, after: list[int] | None) -> float | None:
    """Percent of all CPU time between two `cpu_times()` readings that was stolen (field 8)."""
    if before is None or after is None or len(before) < 8 or len(after) < 8:
        return None
    delta = [b - a for a, b in zip(before, after, strict=False)]
    total = sum(delta[:8])
    return round(100 * delta[7] / total, 1) if total > 0 else None


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    found = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return found.group(1).strip() if found else platform.processor() or "unknown"


def describe(calibration: float, steal: float | None) -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count() or 0,
        "cpu_model": cpu_model(),
        "calibration_per_s": calibration,
        "steal_percent": steal,
    }


def table(results: dict[str, dict[str, Any]]) -> str:
    """A Markdown section: for each benchmark, when it ran and what the machine was like."""
    lines = [
        "## The machine during each run\n",
        "Rates above depend on the machine as much as on the code: on this shared virtual "
        "machine the same views code has measured 3,446 and 5,643 posts/s a few hours apart, "
        "with its floor (reading the log) moving by the same factor. So compare runs made on "
        "different days by their ratio to the floor measured in the same run. `calibration` is a "
        "fixed pure-Python workload run just before each benchmark (loops/s, best of 5; "
        "`bench/machine.py`): it tells whether the interpreter itself ran slower, but it moved by "
        "up to 14% between runs minutes apart on a quiet machine, so smaller differences are "
        "noise. `steal` is the CPU time the hypervisor gave to other guests during the run.\n",
        "| benchmark | measured at (UTC) | CPU | calibration (loops/s) | steal |",
        "|---|---|---|---|---|",
    ]
    for name, r in sorted(results.items()):
        m = r.get("machine", {})
        calibration = m.get("calibration_per_s")
        steal = m.get("steal_percent")
        lines.append(
            f"| {name} | {r.get('measured_at', '?')} | {m.get('cpus', '?')} x "
            f"{m.get('cpu_model', 'not recorded')} | "
            f"{'not recorded' if calibration is None else f'{calibration:,.0f}'} | "
            f"{'not recorded' if steal is None else f'{steal}%'} |"
        )
    return "\n".join(lines) + "\n"
