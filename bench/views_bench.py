"""Replay 100,000 generated posts through claim extraction and the three views, into SQLite.

The posts recombine the seed page's sentences with other conflicts' actors, capitals, mediators
and numbers; about 1 in 100 is later revised and 1 in 500 withdrawn. Measured, each on the same
log in the same run, in wall time and in the process's CPU time (the machine may be shared):

- the floor: merely reading the events (`store.read`), and reading plus decoding the posts;
- extraction alone (read, decode, `monitor.claims.extract`);
- the views alone (the same claims handed over from memory, so only the fold and the commits);
- the whole projection (read, extract, fold, commit rows and checkpoint every 5,000 events),
  in stages of 25k, 50k and 100k posts, with the process's resident memory after each stage and
  its peak (`resource.getrusage`); it runs before the others so that peak is its own;
- a cProfile of the whole projection over the first 10,000 events (the top functions).

`python -m bench views` (or `make bench`) writes bench/results/views.json and docs/benchmarks.md.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import random
import re
import resource
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

POSTS = 100_000
STAGES = (25_000, 50_000, 100_000)
SOURCES = 20
SEED = Path(__file__).resolve().parent.parent.parent / "shared" / "seed"

SIDES = [
    ("Russia", "Russian", "Moscow"),
    ("Ukraine", "Ukrainian", "Kyiv"),
    ("Armenia", "Armenian", "Yerevan"),
    ("Azerbaijan", "Azerbaijani", "Baku"),
    ("India", "Indian", "New Delhi"),
    ("Pakistan", "Pakistani", "Islamabad"),
    ("Ethiopia", "Ethiopian", "Addis Ababa"),
    ("Eritrea", "Eritrean", "Asmara"),
    ("Sudan", "Sudanese", "Khartoum"),
    ("Serbia", "Serbian", "Belgrade"),
    ("Colombia", "Colombian", "Bogota"),
    ("Venezuela", "Venezuelan", "Caracas"),
    ("Israel", "Israeli", "Jerusalem"),
    ("Lebanon", "Lebanese", "Beirut"),
    ("Thailand", "Thai", "Bangkok"),
    ("Cambodia", "Cambodian", "Phnom Penh"),
]
MEDIATORS = [
    ("Turkey", "Turkish", "Istanbul", "Ankara"),
    ("Qatar", "Qatari", "Doha", "Lusail"),
    ("Saudi Arabia", "Saudi", "Jeddah", "Riyadh"),
    ("Switzerland", "Swiss", "Geneva", "Bern"),
    ("Egypt", "Egyptian", "Cairo", "Sharm el-Sheikh"),
    ("Norway", "Norwegian", "Oslo", "Bergen"),
]
_NUMBER = re.compile(r"\b\d[\d,]*\b")


def _seed_text() -> tuple[list[str], list[str]]:
    import json

    doc = json.loads(next(SEED.glob("*.json")).read_text())
    titles = [p["title"] for p in doc["posts"] if p.get("title")]
    sentences = [s for p in doc["posts"] for s in p.get("paragraphs") or ()]
    sentences += [
        i["caption"] for p in doc["posts"] for i in p.get("images") or () if i.get("caption")
    ]
    return titles, sentences


def _rewriter(
    a: tuple[str, str, str],
    b: tuple[str, str, str],
    m: tuple[str, str, str, str],
    rng: random.Random,
) -> Any:
    words = {
        "Vladimir Putin": f"the {a[1]} president",
        "President Putin": f"the {a[1]} president",
        "Putin": f"the {a[1]} president",
        "Vladimir Medinsky": f"the {a[1]} negotiator",
        "Medinsky": f"the {a[1]} negotiator",
        "Volodymyr Zelensky": f"the {b[1]} president",
        "Volodymir Zelensky": f"the {b[1]} president",
        "President Zelensky": f"the {b[1]} president",
        "Zelensky": f"the {b[1]} president",
        "Rustem Umerov": f"the {b[1]} negotiator",
        "Umerov": f"the {b[1]} negotiator",
        "Andriy Yermak": f"the {b[1]} chief of staff",
        "Recep Tayyip Erdogan": f"the {m[1]} president",
        "Erdogan": f"the {m[1]} president",
        "Kremlin": a[2],
        "Russians": a[1] + "s",
        "Russian": a[1],
        "Russia": a[0],
        "Moscow": a[2],
        "Ukrainians": b[1] + "s",
        "Ukrainian": b[1],
        "Ukranian": b[1],
        "Ukraine": b[0],
        "Kyiv": b[2],
        "Turkish": m[1],
        "Turkey": m[0],
        "Istanbul": m[2],
        "Ankara": m[3],
    }
    pattern = re.compile(
        r"\b(" + "|".join(sorted(map(re.escape, words), key=len, reverse=True)) + r")\b"
    )

    def number(match: re.Match[str]) -> str:
        text = match.group(0)
        if len(text) == 4 and text.startswith(("19", "20")):
            return text  # a year
        value = rng.choice((2, 3, 25, 30, 84, 300, 390, 500, 1000, 1200, 6000, 10000))
        return f"{value:,}"

    def rewrite(text: str) -> str:
        return _NUMBER.sub(number, pattern.sub(lambda mm: words[mm.group(0)], text))

    return rewrite


def generate(n: int, *, seed: int = 7) -> Iterator[Any]:
    """Yield n PostPublished events, with PostRevised/PostWithdrawn events mixed in."""
    from monitor.events import PostPublished, PostRevised, PostWithdrawn
    from monitor.posts import Post

    rng = random.Random(seed)
    titles, sentences = _seed_text()
    t0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
    recent: list[tuple[str, Post]] = []
    for i in range(n):
        a, b = rng.sample(SIDES, 2)
        rewrite = _rewriter(a, b, rng.choice(MEDIATORS), rng)
        post = Post(
            post_id=f"gen-{i:06d}",
            title=rewrite(rng.choice(titles)),
            paragraphs=tuple(rewrite(s) for s in rng.sample(sentences, rng.randint(2, 5))),
            published=t0 + timedelta(seconds=30 * i),
        )
        source = f"blog-{i % SOURCES:02d}"
        seen = post.published.isoformat() if post.published else ""
        yield PostPublished(
            source=source, post=post, content_hash=post.content_hash(), seen_at=seen
        )
        recent.append((source, post))
        if len(recent) > 100:
            recent.pop(0)
        roll = rng.random()
        if roll < 0.01:
            src, old = rng.choice(recent)
            new = Post(
                post_id=old.post_id,
                title=old.title,
                paragraphs=(*old.paragraphs, rewrite(rng.choice(sentences))),
                published=old.published,
            )
            yield PostRevised(
                source=src,
                post=new,
                content_hash=new.content_hash(),
                previous_hash=old.content_hash(),
                seen_at=seen,
            )
        elif roll < 0.012:
            src, old = rng.choice(recent)
            yield PostWithdrawn(
                source=src, post_id=old.post_id, last_hash=old.content_hash(), seen_at=seen
            )


def _append_all(store: Any, n: int) -> tuple[int, float]:
    from monitor.events import PostWithdrawn, post_stream
    from store.mapper import to_new_event

    batch: list[Any] = []
    count = 0
    started = time.perf_counter()
    for ev in generate(n):
        post_id = ev.post_id if isinstance(ev, PostWithdrawn) else ev.post.post_id
        batch.append(
            to_new_event(
                ev, stream_id=post_stream(ev.source, post_id), idempotency_key=f"bench:{count}"
            )
        )
        count += 1
        if len(batch) == 2000:
            store.append(batch)
            batch = []
    if batch:
        store.append(batch)
    return count, time.perf_counter() - started


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    import os

    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)


def _position_of_post(store: Any, nth: int) -> int:
    """The log position of the nth PostPublished (1-based)."""
    seen = 0
    for ev in store.read(1, batch_size=5000):
        if ev.event_type == "PostPublished":
            seen += 1
            if seen == nth:
                return int(ev.position)
    return int(store.head().position)


def _floor(store: Any) -> dict[str, Any]:
    from store.mapper import from_recorded

    started = _clock()
    events = sum(1 for _ in store.read(1, batch_size=2000))
    read = _rates(events, started)
    started = _clock()
    for ev in store.read(1, batch_size=2000):
        from_recorded(ev)
    return {"read": read, "read_decode": _rates(events, started)}


def _extraction(store: Any, pack: Any) -> tuple[dict[str, Any], dict[Any, list[Any]]]:
    from monitor.claims import extract
    from store.mapper import from_recorded

    cache: dict[Any, list[Any]] = {}
    posts = claims = 0
    started = _clock()
    for record in store.read(1, batch_size=2000):
        if record.event_type in ("PostPublished", "PostRevised"):
            post = from_recorded(record).post
            found = extract(post, pack)
            cache[(post.post_id, post.title, post.paragraphs)] = found
            posts += 1
            claims += len(found)
    return {**_rates(posts, started), "claims": claims}, cache


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _rates(count: int, started: tuple[float, float], *, extra_cpu: float = 0.0) -> dict[str, Any]:
    """Wall and CPU seconds since `started` (plus `extra_cpu`, the extraction workers'), and the
    rate by each (the machine may be shared)."""
    wall = time.perf_counter() - started[0]
    cpu = time.process_time() - started[1] + extra_cpu
    return {
        "seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "per_s": round(count / wall),
        "per_cpu_s": round(count / cpu) if cpu else None,
    }


def _max_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _workers_cpu(projection: Any) -> float:
    """CPU seconds used so far by the projection's extraction workers (0 without a pool)."""
    pool = getattr(projection, "pool", None)
    return float(pool.worker_cpu_seconds()) if pool is not None else 0.0


def _replay(store: Any, projection: Any, stops: list[int]) -> list[dict[str, Any]]:
    from monitor.views import make_runner

    runner = make_runner(store, projection)
    out = []
    done = 0
    for posts, position in zip(STAGES, stops, strict=True):
        started = _clock()
        workers = _workers_cpu(projection)
        runner.catch_up(to_position=position)
        extra = _workers_cpu(projection) - workers
        stage: dict[str, Any] = {
            "posts": posts,
            "position": position,
            **_rates(posts - done, started, extra_cpu=extra),
            "worker_cpu_seconds": round(extra, 2),
        }
        stage["rss_mb"] = _rss_mb()
        stage["max_rss_mb"] = _max_rss_mb()
        out.append(stage)
        done = posts
    return out


def _overall(stages: list[dict[str, Any]], n: int) -> dict[str, Any]:
    wall = sum(s["seconds"] for s in stages)
    cpu = sum(s["cpu_seconds"] for s in stages)
    return {"per_s": round(n / wall), "per_cpu_s": round(n / cpu) if cpu else None}


def _profile(store: Any, pack: Any, position: int) -> list[str]:
    from monitor.views import build_projection, make_runner

    projection = build_projection(pack, extract_workers=0)  # in-process: the profile sees all
    projection.name = "bench-profile"
    profiler = cProfile.Profile()
    profiler.enable()
    make_runner(store, projection).catch_up(to_position=position)
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(15)
    lines = [line.rstrip() for line in text.getvalue().splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    return [re.sub(r"/\S*/(site-packages|main)/", "", line) for line in lines[start : start + 16]]


def run(n: int = POSTS) -> dict[str, Any]:
    """Build the log, then measure (see the module docstring); return JSON-ready results."""
    from monitor import native
    from monitor.claims import load_pack
    from monitor.log_setup import configure_logging
    from monitor.views import NegotiationProjection, build_projection
    from store import open_store

    configure_logging("console", "WARNING")

    folder = Path(tempfile.mkdtemp(prefix="parley-views-bench-"))
    try:
        with open_store(f"sqlite:///{folder / 'bench.db'}") as store:
            print(f"appending {n} generated posts", flush=True)
            events, append_s = _append_all(store, n)
            stages = [min(s, n) for s in STAGES]
            stops = [_position_of_post(store, s) for s in stages]
            pack = load_pack()
            results: dict[str, Any] = {
                "posts": n,
                "events": events,
                "append": {"seconds": round(append_s, 2), "events_per_s": round(events / append_s)},
                "load_average_before": [round(x, 2) for x in os.getloadavg()],
                # the claims modules and the fold compiled with mypyc (monitor/native.py)
                "claims_compiled": native.active("monitor.claims"),
                "views_compiled": native.active("monitor.views"),
                "floor": _floor(store),
            }
            # the whole projection first, so the process's peak memory is its own
            print("whole projection", flush=True)
            full = build_projection(pack)
            full.name = "bench-full"
            results["full"] = _replay(store, full, stops)
            results["full_overall"] = _overall(results["full"], n)
            results["extract_workers"] = full.pool.workers if full.pool is not None else 0
            if full.pool is not None:
                full.pool.close()
            results["rows"] = {
                view: len(store.view_rows("bench-full", view))
                for view in ("open_demands", "agreed_exchanges", "proposals")
            }
            print("extraction alone", flush=True)
            results["extraction_only"], cache = _extraction(store, pack)

            def cached(post: Any) -> list[Any]:
                return cache[(post.post_id, post.title, post.paragraphs)]

            print("views alone", flush=True)
            views_only = NegotiationProjection(cached, name="bench-views-only")
            results["views_only"] = _replay(store, views_only, stops)
            results["views_only_overall"] = _overall(results["views_only"], n)
            cache.clear()
            print("profile", flush=True)
            results["profile_top_tottime"] = _profile(
                store, pack, _position_of_post(store, min(10_000, n))
            )
        results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        return results
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def table(results: dict[str, Any]) -> str:
    """The Markdown section for docs/benchmarks.md."""
    floor = results["floor"]
    full, alone = results["full_overall"], results["views_only_overall"]
    extraction = results["extraction_only"]
    compiled = results.get("claims_compiled")  # not recorded before the compiled build
    code = "as built" if compiled is None else ("compiled" if compiled else "pure Python")
    fold = results.get("views_compiled")
    fold_code = "" if fold is None else ("; fold compiled" if fold else "; fold pure Python")

    def rate(r: dict[str, Any], unit: str) -> str:
        return f"{r['per_s']:,} {unit}/s | {r['per_cpu_s']:,} {unit}/CPU-s"

    lines = [
        "## Views: replaying posts through extraction and the three views (SQLite)\n",
        f"{results['posts']:,} generated posts ({results['events']:,} events with revisions and "
        "withdrawals) replayed from a SQLite log by `bench/views_bench.py`; target at least "
        "5,000 posts/s with memory flat from 25k to 100k posts. The machine is shared (load "
        f"average {results['load_average_before'][0]} before, {results['load_average_after'][0]} "
        "after), so rates are given per wall second and per CPU second (of the process and, for "
        "the whole projection, of its extraction worker processes too).\n",
        "| measurement | wall | CPU |",
        "|---|---|---|",
        f"| floor: read events | {rate(floor['read'], 'events')} |",
        f"| floor: read and decode posts | {rate(floor['read_decode'], 'events')} |",
        f"| extraction alone ({extraction['claims']:,} claims; claims modules {code}) | "
        f"{rate(extraction, 'posts')} |",
        f"| views alone (claims handed over from memory: fold and commits{fold_code}) | "
        f"{rate(alone, 'posts')} |",
        f"| **whole projection** (read, extract in {results.get('extract_workers', 0)} worker "
        f"processes, fold, commit; CPU of all processes) | **{full['per_s']:,} posts/s** | "
        f"**{full['per_cpu_s']:,} posts/CPU-s** |",
        f"| (writing the log, for scale) | {results['append']['events_per_s']:,} events/s | |",
        "",
        "| posts replayed | whole: posts/CPU-s in stage | whole: resident MB after | whole: peak resident MB | views alone: posts/CPU-s |",
        "|---|---|---|---|---|",
    ]
    for whole, views in zip(results["full"], results["views_only"], strict=True):
        lines.append(
            f"| {whole['posts']:,} | {whole['per_cpu_s']:,} | {whole['rss_mb']} | "
            f"{whole['max_rss_mb']} | {views['per_cpu_s']:,} |"
        )
    lines.append("")
    lines.append(
        "The whole projection runs first, so the peak resident memory is its own. "
        f"Rows at the end: {results['rows']}. The profile of the whole projection over the first "
        "10,000 posts (top functions by own time) is in `bench/results/views.json`.\n"
    )
    return "\n".join(lines)
