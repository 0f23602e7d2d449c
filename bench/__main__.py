"""Run the benchmarks: `python -m bench [NAME ...]`.

Each module `bench/<name>_bench.py` defines `run() -> dict` (its results, JSON-ready) and
`table(results: dict) -> str` (a Markdown section). Results go to `bench/results/<name>.json`;
`docs/benchmarks.md` is rebuilt from every results file present, so one benchmark can be rerun alone.
"""

from __future__ import annotations

import importlib
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import machine

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
DOC = ROOT.parent / "docs" / "benchmarks.md"


def _names() -> list[str]:
    return sorted(p.stem.removesuffix("_bench") for p in ROOT.glob("*_bench.py"))


USAGE = """usage: python -m bench [NAME ...]

Run the named benchmarks (all of them when none is named), write each one's results to
bench/results/NAME.json and rebuild docs/benchmarks.md from every results file present.
Benchmarks: {names}.
Each takes one to several minutes; run them on a quiet machine."""


def main(argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(USAGE.format(names=", ".join(_names())))
        return 0
    unknown = [a for a in argv if a not in _names()]
    if unknown:
        print(f"bench: no benchmark named {', '.join(unknown)}", file=sys.stderr)
        print(USAGE.format(names=", ".join(_names())), file=sys.stderr)
        return 2
    names = argv or _names()
    RESULTS.mkdir(exist_ok=True)
    for name in names:
        module = importlib.import_module(f"bench.{name}_bench")
        print(f"== bench {name}", flush=True)
        calibration = machine.calibration_per_s()
        before = machine.cpu_times()
        results = module.run()
        steal = machine.steal_percent(before, machine.cpu_times())
        results.setdefault("machine", machine.describe(calibration, steal))
        results.setdefault("measured_at", datetime.now(UTC).isoformat(timespec="seconds"))
        (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    _write_doc()
    print(f"wrote {DOC}")
    return 0


def _write_doc() -> None:
    sections = [
        "# Benchmarks\n",
        "Made by `make bench` (`python -m bench`); raw numbers in `bench/results/*.json`. "
        "Each section compares Parley with the floor (the raw driver or a bare fetch loop) and the "
        "peer a user would pick instead, measured in the same run on the same machine.\n",
    ]
    everything = {}
    for name in _names():
        path = RESULTS / f"{name}.json"
        if not path.exists():
            continue
        module = importlib.import_module(f"bench.{name}_bench")
        everything[name] = json.loads(path.read_text())
        sections.append(module.table(everything[name]))
    sections.append(machine.table(everything))
    DOC.write_text("\n".join(sections))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
