"""Replay a long log through the real rules and views, in memory, and compare with merely reading it.

The log: generated posts (the seed page's sentences recombined with other conflicts' actors,
capitals and numbers, as in `bench/views_bench.py`), one in four revised a little later, one in
two hundred withdrawn, appended to a SQLite file; 1,000,000 events by default
(`PARLEY_BENCH_REPLAY_EVENTS`). Measured on that one log, in the same run:

- the floor: reading every event (`store.read`, payloads decoded), before and after the replay;
- the replay `parley replay` does: `monitor.audit.replay.fold_state` with the packaged rules pack
  (read, extract claims, fold the three views) and the rebuilt rows kept on disk by
  `monitor.audit.rows.RowStore`, in stages, with the process's resident memory after each stage,
  what the projection's state holds then (its rows, the posts in the revision window, and its
  deep size in MB), how many view rows there are (on disk) and the machine's load average; the
  peak resident memory (ru_maxrss) at the end, so a flat memory shows as flat numbers.

The replay stops before a stage that would end past `PARLEY_BENCH_REPLAY_BUDGET` seconds
(default 1,800) at the last stage's rate, and the table says how far it got: on a small shared machine the whole million
may not fit. `PARLEY_BENCH_REPLAY_LOG=FILE` keeps the generated log in FILE and reuses it when it
is already there (the generator is seeded: the same log every time). Each stage's results are
also written to `PARLEY_BENCH_REPLAY_PARTIAL` (a JSON file) when set, so a run stopped early
still leaves its numbers.

`python -m bench replay` writes bench/results/replay.json and docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

EVENTS = int(os.environ.get("PARLEY_BENCH_REPLAY_EVENTS", "1000000"))
BUDGET = float(os.environ.get("PARLEY_BENCH_REPLAY_BUDGET", "1800"))
STAGE_FRACTIONS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
LOG = os.environ.get("PARLEY_BENCH_REPLAY_LOG")
PARTIAL = os.environ.get("PARLEY_BENCH_REPLAY_PARTIAL")
VIEW_NAMES = ("open_demands", "agreed_exchanges", "proposals")
SOURCES = 20


def generate(n: int, *, seed: int = 11) -> Iterator[Any]:
    """Yield `n` post events: PostPublished, with a PostRevised for one post in four (a few
    posts later) and a PostWithdrawn for one in two hundred."""
    from bench.views_bench import MEDIATORS, SIDES, _rewriter, _seed_text
    from monitor.events import PostPublished, PostRevised, PostWithdrawn
    from monitor.posts import Post

    rng = random.Random(seed)
    titles, sentences = _seed_text()
    t0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
    later: list[tuple[int, str, Post]] = []  # (due index, source, post) revisions to come
    made = i = 0
    while made < n:
        if later and later[0][0] <= i:
            _, source, old = later.pop(0)
            a, b = rng.sample(SIDES, 2)
            rewrite = _rewriter(a, b, rng.choice(MEDIATORS), rng)
            new = Post(
                post_id=old.post_id,
                title=old.title,
                paragraphs=(*old.paragraphs, rewrite(rng.choice(sentences))),
                published=old.published,
            )
            yield PostRevised(
                source=source,
                post=new,
                content_hash=new.content_hash(),
                previous_hash=old.content_hash(),
                seen_at=(t0 + timedelta(seconds=30 * i)).isoformat(),
            )
            made += 1
            continue
        a, b = rng.sample(SIDES, 2)
        rewrite = _rewriter(a, b, rng.choice(MEDIATORS), rng)
        post = Post(
            post_id=f"gen-{i:07d}",
            title=rewrite(rng.choice(titles)),
            paragraphs=tuple(rewrite(s) for s in rng.sample(sentences, rng.randint(2, 4))),
            published=t0 + timedelta(seconds=30 * i),
        )
        source = f"blog-{i % SOURCES:02d}"
        seen = (t0 + timedelta(seconds=30 * i)).isoformat()
        yield PostPublished(
            source=source, post=post, content_hash=post.content_hash(), seen_at=seen
        )
        made += 1
        roll = rng.random()
        if roll < 0.25:
            later.append((i + rng.randint(1, 20), source, post))
            later.sort(key=lambda item: item[0])
        elif roll < 0.255 and made < n:
            yield PostWithdrawn(
                source=source, post_id=post.post_id, last_hash=post.content_hash(), seen_at=seen
            )
            made += 1
        i += 1


def _append_all(store: Any, n: int) -> tuple[dict[str, int], float]:
    from monitor.events import PostWithdrawn, post_stream
    from store.mapper import to_new_event

    counts: dict[str, int] = {}
    batch: list[Any] = []
    started = time.perf_counter()
    for count, ev in enumerate(generate(n)):
        post_id = ev.post_id if isinstance(ev, PostWithdrawn) else ev.post.post_id
        counts[type(ev).__name__] = counts.get(type(ev).__name__, 0) + 1
        batch.append(
            to_new_event(
                ev, stream_id=post_stream(ev.source, post_id), idempotency_key=f"bench:{count}"
            )
        )
        if len(batch) == 5000:
            store.append(batch)
            batch = []
    if batch:
        store.append(batch)
    return counts, time.perf_counter() - started


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def _floor(store: Any) -> dict[str, Any]:
    started = time.perf_counter()
    events = sum(1 for _ in store.read(1, batch_size=5000))
    seconds = time.perf_counter() - started
    return {"events": events, "seconds": round(seconds, 1), "events_per_s": round(events / seconds)}


def _deep_mb(*roots: Any) -> float:
    """Bytes reachable from `roots` through dicts, lists, tuples, sets and deques, in MB (each
    object counted once): what the projection's state holds, without the interpreter around it."""
    seen: set[int] = set()
    stack = list(roots)
    size = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        size += sys.getsizeof(obj)
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset) or type(obj).__name__ == "deque":
            stack.extend(obj)
        elif hasattr(obj, "__slots__") and not isinstance(obj, str | bytes | int | float):
            stack.extend(getattr(obj, name) for name in obj.__slots__ if hasattr(obj, name))
    return round(size / 2**20, 1)


def _state_of(state: Any) -> dict[str, Any]:
    """What the projection's state holds: rows per table, posts in the window, MB by part."""
    data = state.data
    tables = {v: len(state.table(v)) for v in (*VIEW_NAMES, "responses")}
    return {
        "rows": tables,
        "window_posts": len(state.posts),
        "mb": {
            "posts": _deep_mb(data["posts"], state.queue),
            "buckets": _deep_mb(data["views"], data["responses"]),
            "emitted": _deep_mb(state.emitted),
            "indexes": _deep_mb(
                state.by_topic, state.responders, state.topic_sig, state.exchange_index
            ),
        },
    }


def _workers_cpu(projection: Any) -> float:
    """CPU seconds used so far by the projection's extraction workers (0 without a pool)."""
    return float(projection.pool.worker_cpu_seconds()) if projection.pool is not None else 0.0


def _replay(store: Any, head: int, partial: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    from monitor.audit.replay import fold_state
    from monitor.audit.rows import RowStore
    from monitor.claims import load_pack
    from monitor.views import build_projection

    projection = build_projection(load_pack())
    state = projection.initial_state()
    stages: list[dict[str, Any]] = []
    done, started = 0, time.perf_counter()
    with RowStore() as rows:
        for fraction in STAGE_FRACTIONS:
            target = max(1, int(head * fraction))
            t, cpu = time.perf_counter(), time.process_time()
            workers_cpu = _workers_cpu(projection)
            state = fold_state(
                store, projection, to_position=target, from_state=(done, state), rows=rows
            )
            seconds, main_s = time.perf_counter() - t, time.process_time() - cpu
            extra = _workers_cpu(projection) - workers_cpu
            cpu_s = main_s + extra
            stages.append(
                {
                    "events": target,
                    "seconds": round(seconds, 1),
                    "cpu_seconds": round(cpu_s, 1),
                    "main_cpu_seconds": round(main_s, 1),
                    "worker_cpu_seconds": round(extra, 1),
                    "workers": projection.pool.workers if projection.pool else 0,
                    "events_per_s": round((target - done) / seconds),
                    "events_per_cpu_s": round((target - done) / max(cpu_s, 1e-9)),
                    "rss_mb": _rss_mb(),
                    "peak_rss_mb": round(
                        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
                    ),
                    "view_rows": {v: rows.count(v) for v in VIEW_NAMES},
                    "rows_in_memory": rows.in_memory,
                    "state": _state_of(state),
                    "load": round(os.getloadavg()[0], 1),
                }
            )
            print(f"  replayed {target:,} events: {stages[-1]}", flush=True)
            if PARTIAL:
                partial["stages"] = stages
                Path(PARTIAL).write_text(json.dumps(partial, indent=2, sort_keys=True) + "\n")
            done = target
            rate = stages[-1]["events_per_s"]
            left = BUDGET - (time.perf_counter() - started)
            ahead = [max(1, int(head * f)) for f in STAGE_FRACTIONS if int(head * f) > target]
            if ahead and (ahead[0] - target) / max(rate, 1) > left:
                return stages, False  # the next stage would end past the budget at this rate
    if projection.pool is not None:
        projection.pool.close()
    return stages, True


def _open_log(folder: Path) -> tuple[Any, dict[str, int] | None, float | None]:
    """The store with the generated log: reused from `LOG` when there, else generated."""
    from store import open_store

    path = Path(LOG) if LOG else folder / "log.db"
    store = open_store(f"sqlite:///{path}")
    if store.head().position == EVENTS:
        return store, None, None
    if store.head().position:
        raise SystemExit(f"{path} holds another log ({store.head().position:,} events)")
    counts, append_s = _append_all(store, EVENTS)
    return store, counts, append_s


def run() -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="parley-replay-bench-"))
    try:
        store, counts, append_s = _open_log(folder)
        with store:
            head = store.head().position
            if counts is None:
                counts = {}
                for event in store.read(1, batch_size=5000):
                    counts[event.event_type] = counts.get(event.event_type, 0) + 1
            print(f"  log of {head:,} events: {counts} (appended in {append_s} s)", flush=True)
            floor = _floor(store)
            print(f"  floor: {floor}", flush=True)
            partial = {"events": head, "event_types": counts, "floor": floor}
            stages, complete = _replay(store, head, partial)
            floor_after = _floor(store) if os.environ.get("PARLEY_BENCH_FLOOR_AFTER") else {}
            print(f"  floor after: {floor_after}", flush=True)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {
            "events": head,
            "event_types": counts,
            "append_seconds": None if append_s is None else round(append_s),
            "floor": floor,
            "floor_after": floor_after,
            "stages": stages,
            "complete": complete,
            "budget_seconds": BUDGET,
            "peak_rss_mb": round(peak, 1),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _rows(stage: dict[str, Any]) -> int:
    return sum(stage["view_rows"].values())


def _state_mb(stage: dict[str, Any]) -> float:
    return round(float(sum(stage["state"]["mb"].values())), 1)


def table(results: dict[str, Any]) -> str:
    """The Replay section of docs/benchmarks.md."""
    stages = results["stages"]
    last, first = stages[-1], stages[0]
    total_s = sum(s["seconds"] for s in stages)
    total_cpu = sum(s["cpu_seconds"] for s in stages)
    rate = round(last["events"] / total_s) if total_s else 0
    cpu_rate = round(last["events"] / total_cpu) if total_cpu else 0
    main_cpu = sum(s.get("main_cpu_seconds", s["cpu_seconds"]) for s in stages)
    main_rate = round(last["events"] / main_cpu) if main_cpu else 0
    floor = results["floor"]["events_per_s"]
    after = results.get("floor_after", {}).get("events_per_s")
    loads = [s["load"] for s in stages]
    lines = [
        "## Replay: the whole log through the rules and the views (`bench/replay_bench.py`)\n",
        f"{results['events']:,} generated events in a SQLite log ({results['event_types']}), "
        "replayed by `monitor.audit.replay.fold_state` with the rebuilt rows kept on disk by "
        "`monitor.audit.rows.RowStore` (what `parley replay` does): read, extract claims with "
        "the packaged rules, fold the three views, collect their rows.\n",
        "| measurement | rate |",
        "|---|---:|",
        f"| floor: read the events (before the replay; after it) | {floor:,} events/s; "
        f"{after:,} events/s |"
        if after
        else f"| floor: read the events | {floor:,} events/s |",
        f"| **replay** (read, extract, fold, rows to disk), wall | **{rate:,} events/s** "
        f"({rate / floor:.1%} of the floor) |",
        f"| replay per CPU-second (the process and its {stages[-1].get('workers', 0)} extraction "
        f"workers) | {cpu_rate:,} events/s |",
        f"| the fold's process alone (read, fold, rows), per CPU-second | {main_rate:,} events/s |",
        "",
        "| events replayed | s in stage | events/s (wall) | events/CPU-s | resident MB | "
        "view rows (on disk) | rows in the state | state MB | load |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in stages:
        in_state = sum(v for k, v in s["state"]["rows"].items() if k != "responses")
        lines.append(
            f"| {s['events']:,} | {s['seconds']:,} | {s['events_per_s']:,} | "
            f"{s['events_per_cpu_s']:,} | {s['rss_mb']} | {_rows(s):,} | {in_state:,} | "
            f"{_state_mb(s)} | {s['load']} |"
        )
    done = (
        "The whole log was replayed."
        if results["complete"]
        else (
            f"Stopped after {last['events']:,} of {results['events']:,} events: "
            + results.get(
                "stopped",
                f"the next stage would have ended past the {results['budget_seconds']:.0f} s budget",
            )
            + " (the rest would "
            f"take about {(results['events'] - last['events']) / max(1, last['events_per_s']) / 60:.0f}"
            " more minutes at the last stage's wall rate)."
        )
    )
    posts = results["event_types"].get("PostPublished", 0) / max(1, results["events"])
    days = last["events"] * posts * 30 / 86_400  # the generator publishes a post every 30 s
    window = (
        "past the 60-day fulfilment window, so the state's exchange rows had stopped growing"
        if days > 60
        else "inside the 60-day fulfilment window, so the state's exchange rows were still "
        "growing (see the next section for the replay path past it)"
    )
    lines += [
        "",
        f"{done} The {last['events']:,} events replayed cover about {days:.0f} days of news, "
        f"{window}. Peak resident memory of the replay process: {results['peak_rss_mb']} MB "
        f"(resident {first['rss_mb']} MB after {first['events']:,} events, {last['rss_mb']} MB "
        f"after {last['events']:,}, while the views grew from {_rows(first):,} to "
        f"{_rows(last):,} rows). The views' rows are on disk, not in memory; the projection's "
        "state is bounded by its windows: the newest 2,000 posts (the revision window) and the "
        "exchange rows seen within the last 60 days (the fulfil window); demand, proposal and "
        "response rows are bounded by the actors and topics, not by the events. "
        f"Load average {min(loads)} to {max(loads)} on {results.get('machine', {}).get('cpus', '?')} "
        "CPUs (the machine was shared): compare rates within this run only.\n",
    ]
    return "\n".join(lines)
