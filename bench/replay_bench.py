"""Replay a long log through the real rules and views, in memory, and compare with merely reading it.

The log: generated posts (the seed page's sentences recombined with other conflicts' actors,
capitals and numbers, as in `bench/views_bench.py`), one in four revised a little later, one in
two hundred withdrawn, appended to a SQLite file; 1,000,000 events by default
(`PARLEY_BENCH_REPLAY_EVENTS`). Measured on that one log, in the same run:

- the floor: reading every event (`store.read`, payloads decoded);
- the replay `parley replay` does: `monitor.audit.replay.fold_state` with the packaged rules pack
  (read, extract claims, fold the three views), in stages, with the process's resident memory
  after each stage and its peak (ru_maxrss) at the end, so a flat memory shows as flat numbers.

The replay is stopped after the first stage that ends past `PARLEY_BENCH_REPLAY_BUDGET` seconds
(default 1,800) and the table says how far it got: on a small shared machine the whole million
may not fit.

`python -m bench replay` writes bench/results/replay.json and docs/benchmarks.md.
"""

from __future__ import annotations

import os
import random
import resource
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

EVENTS = int(os.environ.get("PARLEY_BENCH_REPLAY_EVENTS", "1000000"))
BUDGET = float(os.environ.get("PARLEY_BENCH_REPLAY_BUDGET", "1800"))
STAGE_FRACTIONS = (0.1, 0.25, 0.5, 0.75, 1.0)
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
            rewrite = _rewriter(*rng.sample(SIDES, 2), rng.choice(MEDIATORS), rng)
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


def _replay(store: Any, head: int) -> tuple[list[dict[str, Any]], bool]:
    from monitor.audit.replay import fold_state
    from monitor.claims import load_pack
    from monitor.views import build_projection

    projection = build_projection(load_pack())
    state = projection.initial_state()
    stages: list[dict[str, Any]] = []
    done, started = 0, time.perf_counter()
    for fraction in STAGE_FRACTIONS:
        target = max(1, int(head * fraction))
        t = time.perf_counter()
        state = fold_state(store, projection, to_position=target, from_state=(done, state))
        seconds = time.perf_counter() - t
        stages.append(
            {
                "events": target,
                "seconds": round(seconds, 1),
                "events_per_s": round((target - done) / seconds),
                "rss_mb": _rss_mb(),
                "rows": sum(
                    len(state.table(v)) for v in ("open_demands", "agreed_exchanges", "proposals")
                ),
            }
        )
        print(f"  replayed {target:,} events: {stages[-1]}", flush=True)
        done = target
        if time.perf_counter() - started > BUDGET and target < head:
            return stages, False
    return stages, True


def run() -> dict[str, Any]:
    from store import open_store

    folder = Path(tempfile.mkdtemp(prefix="parley-replay-bench-"))
    try:
        with open_store(f"sqlite:///{folder / 'log.db'}") as store:
            counts, append_s = _append_all(store, EVENTS)
            head = store.head().position
            print(f"  appended {head:,} events in {append_s:.0f} s: {counts}", flush=True)
            floor = _floor(store)
            print(f"  floor: {floor}", flush=True)
            stages, complete = _replay(store, head)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {
            "events": head,
            "event_types": counts,
            "append_seconds": round(append_s),
            "floor": floor,
            "stages": stages,
            "complete": complete,
            "budget_seconds": BUDGET,
            "peak_rss_mb": round(peak, 1),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def table(results: dict[str, Any]) -> str:
    stages = results["stages"]
    last = stages[-1]
    total_s = sum(s["seconds"] for s in stages)
    rate = round(last["events"] / total_s) if total_s else 0
    floor = results["floor"]["events_per_s"]
    lines = [
        "## Replay: the whole log through the rules and the views (`bench/replay_bench.py`)\n",
        f"{results['events']:,} generated events in a SQLite log ({results['event_types']}), "
        "replayed in memory by `monitor.audit.replay.fold_state` (what `parley replay` does): "
        "read, extract claims with the packaged rules, fold the three views.\n",
        "| measurement | rate |",
        "|---|---:|",
        f"| floor: read the events | {floor:,} events/s |",
        f"| **replay** (read, extract, fold) | **{rate:,} events/s** ({rate / floor:.1%} of the floor) |",
        "",
        "| events replayed | seconds in stage | events/s in stage | resident MB after | view rows |",
        "|---:|---:|---:|---:|---:|",
    ]
    for s in stages:
        lines.append(
            f"| {s['events']:,} | {s['seconds']:,} | {s['events_per_s']:,} | {s['rss_mb']} | {s['rows']:,} |"
        )
    done = (
        "The whole log was replayed."
        if results["complete"]
        else (
            f"Stopped after {last['events']:,} of {results['events']:,} events: the "
            f"{results['budget_seconds']:.0f} s budget ran out (the rest would take about "
            f"{(results['events'] - last['events']) / max(1, last['events_per_s']) / 60:.0f} more minutes at the last stage's rate)."
        )
    )
    first = stages[0]
    grown_mb = last["rss_mb"] - first["rss_mb"]
    grown_rows = last["rows"] - first["rows"]
    per_row = f"{grown_mb * 1024 / grown_rows:.0f} KB" if grown_rows > 0 else "n/a"
    lines += [
        "",
        f"{done} Peak resident memory of the whole run (appending included): "
        f"{results['peak_rss_mb']} MB. The per-post state is bounded by the revision window "
        "(2,000 posts), so memory does not grow with the events; it grows only with the number of "
        f"view rows (from {first['rss_mb']} MB at {first['events']:,} events to {last['rss_mb']} MB "
        f"at {last['events']:,}, for {grown_rows:,} more rows: about {per_row} a row, bucket and "
        "indexes). Extraction dominates the replay (see the views benchmark). Rates are wall-clock "
        "on a 2-CPU machine shared with other work (load 4 to 5).\n",
    ]
    return "\n".join(lines)
