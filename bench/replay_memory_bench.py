"""A replay's memory over a long log, with claim extraction taken out of the way.

The full replay benchmark (`bench/replay_bench.py`) is bound by claim extraction: on a shared
2-CPU machine it cannot fold enough events to pass the projection's 60-day fulfilment window,
after which exchange rows start to leave its state. This one measures the replay path alone
(`monitor.audit.replay.fold_state` with the rows on disk, `monitor.audit.rows.RowStore`) over a
log long enough for that: 200,000 events (`PARLEY_BENCH_REPLAY_MEMORY_EVENTS`), one post every
two minutes from 20 sources (about 7 months), one in four revised a few posts later, one in two
hundred withdrawn. Each post's paragraphs are claim lines ("agreement RUS prisoner_exchange
parties=UKR count=100") read by a line-splitting extractor, so extraction costs next to nothing
and the numbers are the fold's, the state's and the rows'. The same projection, windows and
views as the daemon's; only the extractor differs.

Measured in stages: resident memory, the state's rows and deep size, the view rows on disk,
and the events per CPU-second of the fold.
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

EVENTS = int(os.environ.get("PARLEY_BENCH_REPLAY_MEMORY_EVENTS", "200000"))
STAGE_FRACTIONS = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
SOURCES = 20
ACTORS = (
    "RUS",
    "UKR",
    "ARM",
    "AZE",
    "IND",
    "PAK",
    "ETH",
    "ERI",
    "SDN",
    "SRB",
    "COL",
    "VEN",
    "ISR",
    "LBN",
    "THA",
    "KHM",
)
TOPICS = ("ceasefire", "prisoner_exchange", "bodies_return", "leaders_meeting", "hostages")
KINDS = ("demand", "proposal", "rejection", "agreement", "agreement", "fulfilment")


def line_extract(post: Any) -> list[Any]:
    """Claims from lines "KIND ACTOR TOPIC parties=X count=N" (one a paragraph)."""
    from monitor.claims.model import Claim

    claims = []
    offset = 0
    for line in post.text().split("\n"):
        words = line.split()
        if len(words) >= 3 and words[0] in KINDS:
            attrs: dict[str, Any] = {}
            parties: tuple[str, ...] = ()
            for word in words[3:]:
                key, _, value = word.partition("=")
                if key == "parties":
                    parties = tuple(value.split(","))
                else:
                    attrs[key] = int(value) if value.isdigit() else value
            claims.append(
                Claim(
                    post_id=post.post_id,
                    kind=words[0],
                    actor=words[1],
                    topic=words[2],
                    parties=parties,
                    attrs=attrs,
                    quote=line,
                    span=(offset, offset + len(line)),
                    rule="line",
                )
            )
        offset += len(line) + 1
    return claims


def _line(rng: random.Random) -> str:
    a, b = rng.sample(ACTORS, 2)
    count = rng.choice(("", f" count={rng.randint(1, 60) * 10}"))
    return f"{rng.choice(KINDS)} {a} {rng.choice(TOPICS)} parties={b}{count}"


def generate(n: int, *, seed: int = 13) -> Iterator[Any]:
    """`n` post events: one post every two minutes, a revision for one in four, a withdrawal for one in 200."""
    from monitor.events import PostPublished, PostRevised, PostWithdrawn
    from monitor.posts import Post

    rng = random.Random(seed)
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    later: list[tuple[int, str, Post]] = []
    made = i = 0
    while made < n:
        if later and later[0][0] <= i:
            _, source, old = later.pop(0)
            new = Post(
                post_id=old.post_id,
                title=old.title,
                paragraphs=(*old.paragraphs[1:], _line(rng)),
                published=old.published,
            )
            seen = (t0 + timedelta(minutes=2 * i)).isoformat()
            yield PostRevised(
                source=source,
                post=new,
                content_hash=new.content_hash(),
                previous_hash=old.content_hash(),
                seen_at=seen,
            )
            made += 1
            continue
        post = Post(
            post_id=f"m-{i:07d}",
            title="",
            paragraphs=tuple(_line(rng) for _ in range(rng.randint(1, 3))),
            published=t0 + timedelta(minutes=2 * i),
        )
        source = f"wire-{i % SOURCES:02d}"
        seen = (t0 + timedelta(minutes=2 * i)).isoformat()
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


def _append_all(store: Any, n: int) -> dict[str, int]:
    from monitor.events import PostWithdrawn, post_stream
    from store.mapper import to_new_event

    counts: dict[str, int] = {}
    batch: list[Any] = []
    for count, ev in enumerate(generate(n)):
        post_id = ev.post_id if isinstance(ev, PostWithdrawn) else ev.post.post_id
        counts[type(ev).__name__] = counts.get(type(ev).__name__, 0) + 1
        batch.append(
            to_new_event(
                ev, stream_id=post_stream(ev.source, post_id), idempotency_key=f"mem:{count}"
            )
        )
        if len(batch) == 5000:
            store.append(batch)
            batch = []
    if batch:
        store.append(batch)
    return counts


def run() -> dict[str, Any]:
    from bench.replay_bench import VIEW_NAMES, _floor, _rss_mb, _state_of
    from monitor.audit.replay import fold_state
    from monitor.audit.rows import RowStore
    from monitor.views import NegotiationProjection
    from store import open_store

    folder = Path(tempfile.mkdtemp(prefix="parley-replay-memory-bench-"))
    try:
        with open_store(f"sqlite:///{folder / 'log.db'}") as store:
            counts = _append_all(store, EVENTS)
            head = store.head().position
            print(f"  appended {head:,} events: {counts}", flush=True)
            floor = _floor(store)
            print(f"  floor: {floor}", flush=True)
            projection = NegotiationProjection(line_extract, name="negotiation")
            state = projection.initial_state()
            stages: list[dict[str, Any]] = []
            done = 0
            with RowStore(folder) as rows:
                for fraction in STAGE_FRACTIONS:
                    target = max(1, int(head * fraction))
                    t, cpu = time.perf_counter(), time.process_time()
                    state = fold_state(
                        store, projection, to_position=target, from_state=(done, state), rows=rows
                    )
                    seconds, cpu_s = time.perf_counter() - t, time.process_time() - cpu
                    newest = state.data["newest"]
                    stages.append(
                        {
                            "events": target,
                            "days": round(
                                (newest - int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())) / 86400
                            ),
                            "seconds": round(seconds, 1),
                            "events_per_cpu_s": round((target - done) / max(cpu_s, 1e-9)),
                            "rss_mb": _rss_mb(),
                            "view_rows": {v: rows.count(v) for v in VIEW_NAMES},
                            "rows_file_mb": round(
                                sum(p.stat().st_size for p in folder.rglob("rows.db*")) / 2**20, 1
                            ),
                            "state": _state_of(state),
                            "load": round(os.getloadavg()[0], 1),
                        }
                    )
                    print(f"  replayed {target:,} events: {stages[-1]}", flush=True)
                    done = target
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {
            "events": head,
            "event_types": counts,
            "floor": floor,
            "stages": stages,
            "peak_rss_mb": round(peak, 1),
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def table(results: dict[str, Any]) -> str:
    """The "Replay memory" section of docs/benchmarks.md."""
    stages = results["stages"]
    lines = [
        "## Replay memory over a long log (`bench/replay_memory_bench.py`)\n",
        f"{results['events']:,} generated events ({results['event_types']}), one post every two minutes "
        f"over {stages[-1]['days']} days, with claim lines read by a line-splitting extractor so "
        "that the replay path alone is measured (fold, state, rows on disk) past the 60-day "
        "fulfilment window. Floor (reading the events): "
        f"{results['floor']['events_per_s']:,} events/s.\n",
        "| events | days of news | events/CPU-s | resident MB | view rows (on disk) | rows file MB "
        "| rows in the state | state MB | load |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in stages:
        in_state = sum(v for k, v in s["state"]["rows"].items() if k != "responses")
        lines.append(
            f"| {s['events']:,} | {s['days']} | {s['events_per_cpu_s']:,} | {s['rss_mb']} | "
            f"{sum(s['view_rows'].values()):,} | {s['rows_file_mb']} | {in_state:,} | "
            f"{round(sum(s['state']['mb'].values()), 1)} | {s['load']} |"
        )
    lines += [
        "",
        f"Peak resident memory: {results['peak_rss_mb']} MB. The view rows grow with the log "
        "and go to the rows file; the state's rows stop growing once the oldest exchanges pass "
        "the 60-day window.\n",
    ]
    return "\n".join(lines)
