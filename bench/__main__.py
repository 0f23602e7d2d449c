"""Run the benchmarks: `python -m bench [NAME ...]`.

Each module `bench/<name>_bench.py` defines `run() -> dict` (its results, JSON-ready) and
`table(results: dict) -> str` (a Markdown section). Results go to `bench/results/<name>.json`;
`docs/benchmarks.md` is rebuilt from every results file present, so one benchmark can be rerun alone.
"""

from __future__ import annotations

import importlib
import json
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
DOC = ROOT.parent / "docs" / "benchmarks.md"


def _names() -> list[str]:
    return sorted(p.stem.removesuffix("_bench") for p in ROOT.glob("*_bench.py"))


def main(argv: list[str]) -> int:
    names = argv or _names()
    RESULTS.mkdir(exist_ok=True)
    for name in names:
        module = importlib.import_module(f"bench.{name}_bench")
        print(f"== bench {name}", flush=True)
        results = module.run()
        results.setdefault(
            "machine",
            {"python": platform.python_version(), "platform": platform.platform(), "cpus": _cpus()},
        )
        results.setdefault("measured_at", datetime.now(UTC).isoformat(timespec="seconds"))
        (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    _write_doc()
    print(f"wrote {DOC}")
    return 0


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def _write_doc() -> None:
    sections = [
        "# Benchmarks\n",
        "Made by `make bench` (`python -m bench`); raw numbers in `bench/results/*.json`. "
        "Each section compares Parley with the floor (the raw driver or a bare fetch loop) and the "
        "peer a user would pick instead, measured in the same run on the same machine.\n",
    ]
    for name in _names():
        path = RESULTS / f"{name}.json"
        if not path.exists():
            continue
        module = importlib.import_module(f"bench.{name}_bench")
        sections.append(module.table(json.loads(path.read_text())))
    DOC.write_text("\n".join(sections))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
