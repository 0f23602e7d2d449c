"""The monitor at scale: one poll cycle of 1,000 sources, the bare-fetch floor, publish-to-log latency.

Set-up: two child processes serve two simulators on 127.0.0.1: a *static* page (every post already
out: its 500 sources answer 304 once they have been polled) and a *live* page whose clock the
benchmark moves one post on between cycles (its 500 sources answer 200 with one new post). The
1,000 sources are distinct URLs (the simulator ignores unknown query parameters) spread over the
RSS, Atom, JSON Feed and JSON-LD live-blog formats. After a first, untimed cycle (everything new),
each round moves the live page on by one post, then times

- the floor: a bare httpx loop GETting the same 1,000 URLs with the same validators and the same
  concurrency (so it also sees 500 × 304 and 500 × 200), and
- Parley: the same 1,000 polls through `Poller.poll` (fetch, parse in two worker processes as
  with `[daemon] parse_workers = 2`, decide, append to SQLite); then all of it again (a new
  database, the live page started over) with `parse_workers = 0`, the default, parsing on the
  event loop's thread.

Both loops' CPU time is recorded too (the benchmark process, all its threads, plus Parley's parse
workers; the simulators are left out as they serve both alike): on a shared machine the wall-clock
ratio moves with the load, the CPU seconds much less.

Latency: `parley simulate` in a child process publishes the seed page at 600x; the daemon
(`start_app`, the real scheduler) polls it through 10 sources at a 1 s interval; latency is each
post's event `recorded_at` minus the moment the simulator released it. Last, `parley run` is
stopped with SIGTERM and the time to exit is measured.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

SOURCES = 1000
ROUNDS = 5
CONCURRENCY = 4  # in flight per host (two hosts; the default per_host_concurrency), for both
FORMATS = (("rss", "rss"), ("atom", "atom"), ("jsonfeed", "jsonfeed"), ("liveblog", "liveblog"))
PARSE_WORKERS = 2  # [daemon] parse_workers: one per core
PARLEY = str(Path(sys.executable).parent / "parley")


def _serve(conn: Any, live: bool) -> None:
    """Child process: one simulator, static (all posts out) or live (moved on by the parent)."""
    from monitor.simulator import ManualClock, Simulator, bundled_page_path, load_page

    page = load_page(bundled_page_path())
    clock = ManualClock(0.0)
    sim = (
        Simulator(page, speed=1.0, clock=clock, per_page=50) if live else Simulator(page, speed=1e7)
    )
    with sim.serve("127.0.0.1", 0) as running:  # Nagle off in the simulator's handler
        conn.send(running.urls())
        times = sorted(p.published for p in sim.timeline.posts if p.published is not None)
        while True:
            msg = conn.recv()
            if msg == "stop":
                break
            # show the first `msg` posts of the live page
            clock.now = (times[msg - 1] - times[0]).total_seconds() + 1
            conn.send(sim.status()["published"])


def _sources(static: dict[str, str], live: dict[str, str]) -> list[Any]:
    from monitor.config import SourceConfig

    out = []
    for i in range(SOURCES):
        urls = static if i % 2 == 0 else live
        fmt, kind = FORMATS[(i // 2) % len(FORMATS)]
        out.append(SourceConfig(name=f"s{i:04d}", kind=kind, url=f"{urls[fmt]}?source={i}"))
    return out


async def _bare_cycle(
    urls: list[str], validators: dict[str, dict[str, str]]
) -> tuple[float, Counter_]:
    import httpx

    sems: dict[str, asyncio.Semaphore] = {}
    statuses: Counter_ = {}
    async with httpx.AsyncClient(
        limits=httpx.Limits(
            max_connections=2 * CONCURRENCY, max_keepalive_connections=2 * CONCURRENCY
        )
    ) as client:

        async def one(url: str) -> None:
            host = httpx.URL(url).netloc.decode()
            sem = sems.setdefault(host, asyncio.Semaphore(CONCURRENCY))
            v = validators.get(url, {})
            headers = {}
            if v.get("etag"):
                headers["If-None-Match"] = v["etag"]
            if v.get("last_modified"):
                headers["If-Modified-Since"] = v["last_modified"]
            async with sem:
                r = await client.get(url, headers=headers)
                _ = r.content
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(one(u) for u in urls))
        return time.perf_counter() - started, statuses


Counter_ = dict[int, int]


def _cpu_of(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by processes `pids` (0 where /proc is missing)."""
    import os

    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def _cycles(
    db_url: str, conn: Any, sources: list[Any], parse_workers: int = PARSE_WORKERS
) -> dict[str, Any]:
    from monitor.fetch import Fetcher, FetchLimits
    from monitor.poller import Poller, parse_pool
    from monitor.sources import KINDS
    from store import open_store

    store = open_store(db_url)
    executor = ThreadPoolExecutor(max_workers=1)
    fetcher = Fetcher(limits=FetchLimits(per_host_concurrency=CONCURRENCY))
    pool = parse_pool(parse_workers) if parse_workers else None
    poller = Poller(store=store, fetcher=fetcher, kinds=KINDS, executor=executor, parse_pool=pool)
    shown = 8
    conn.send(shown)
    conn.recv()

    async def cycle() -> tuple[float, list[Any]]:
        started = time.perf_counter()
        outcomes = await asyncio.gather(*(poller.poll(s) for s in sources))
        return time.perf_counter() - started, outcomes

    cold, outcomes = await cycle()
    workers = pool.pids() if pool else []  # the parse processes, for their CPU
    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok][:3]
    events_after_cold = store.head().position
    rounds = []
    for _ in range(ROUNDS):
        shown += 1
        conn.send(shown)
        conn.recv()
        validators = fetcher.validators.to_dict()
        cpu = time.process_time()
        bare, statuses = await _bare_cycle([s.url for s in sources], validators)  # type: ignore[arg-type]
        bare_cpu = time.process_time() - cpu
        before = store.head().position
        cpu, workers_cpu = time.process_time(), _cpu_of(workers)
        took, outcomes = await cycle()
        parley_cpu = time.process_time() - cpu + _cpu_of(workers) - workers_cpu
        assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok][:3]
        rounds.append(
            {
                "parley_s": round(took, 3),
                "bare_s": round(bare, 3),
                "parley_cpu_s": round(parley_cpu, 3),
                "bare_cpu_s": round(bare_cpu, 3),
                "not_modified": sum(o.not_modified for o in outcomes),
                "new_posts": sum(o.new_posts for o in outcomes),
                "appended": store.head().position - before,
                "bare_statuses": {str(k): v for k, v in sorted(statuses.items())},
            }
        )
    await fetcher.aclose()
    executor.shutdown()
    if pool is not None:
        pool.shutdown()
    store.close()
    parley = statistics.median(r["parley_s"] for r in rounds)
    bare = statistics.median(r["bare_s"] for r in rounds)
    parley_cpu = statistics.median(r["parley_cpu_s"] for r in rounds)
    bare_cpu = statistics.median(r["bare_cpu_s"] for r in rounds)
    return {
        "sources": len(sources),
        "cold_cycle_s": round(cold, 3),
        "events_after_cold_cycle": events_after_cold,
        "rounds": rounds,
        "cycle_s_median": round(parley, 3),
        "bare_s_median": round(bare, 3),
        "parley_rate_per_s": round(len(sources) / parley, 1),
        "bare_rate_per_s": round(len(sources) / bare, 1),
        "rate_vs_floor": round(bare / parley, 3),
        "parley_cpu_s_median": round(parley_cpu, 3),
        "bare_cpu_s_median": round(bare_cpu, 3),
        "cpu_vs_floor": round(bare_cpu / parley_cpu, 3) if parley_cpu else None,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _latency(db_url: str) -> dict[str, Any]:
    from monitor.bootstrap import start_app
    from monitor.config import Schedule, Settings, SourceConfig
    from store import open_store

    port = _free_port()
    sim = subprocess.Popen(
        [PARLEY, "simulate", "--port", str(port), "--speed", "600"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/status", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        paths = {
            "rss": "/feed.rss",
            "atom": "/feed.atom",
            "jsonfeed": "/feed.json",
            "liveblog": "/liveblog.html",
        }
        schedule = Schedule(interval=1.0, jitter=0.2)
        sources = tuple(
            SourceConfig(
                name=f"lat-{fmt}-{n}", kind=fmt, url=f"{base}{path}?n={n}", schedule=schedule
            )
            for fmt, path in paths.items()
            for n in range(3)
        )[:10]
        app = await start_app(Settings(path="bench", sources=sources), database_url=db_url)
        try:
            while True:
                await asyncio.sleep(1.0)
                status = json.loads(urllib.request.urlopen(base + "/status", timeout=5).read())
                if status["done"]:
                    await asyncio.sleep(2.5)  # a last round of polls
                    break
        finally:
            await app.stop()
    finally:
        sim.terminate()
        sim.wait()
    from monitor.simulator import bundled_page_path, load_page

    by_title = {p["title"]: p["id"] for p in load_page(bundled_page_path())["posts"]}
    released = status["released_at"]
    samples = []
    with open_store(db_url) as store:
        for r in store.read(event_types=["PostPublished"]):
            seed = by_title.get(r.data["post"]["title"])
            if seed in released:
                samples.append(r.recorded_at.timestamp() - float(released[seed]))
    samples.sort()
    return {
        "sources": len(sources),
        "interval_s": 1.0,
        "samples": len(samples),
        "median_s": round(statistics.median(samples), 3),
        "p99_s": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 3),
        "max_s": round(samples[-1], 3),
    }


def _has_posts(db: Path) -> bool:
    """True once the SQLite log at `db` holds a published post."""
    import sqlite3

    if not db.exists():
        return False
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            row = conn.execute("SELECT 1 FROM events WHERE event_type = 'PostPublished' LIMIT 1")
            return row.fetchone() is not None
    except sqlite3.Error:
        return False  # not created yet, or busy: ask again


def _sigterm(tmp: Path) -> dict[str, Any]:
    """Seconds from SIGTERM to exit for `parley run` polling 10 sources mid-flight."""
    import signal

    from monitor.simulator import Simulator, bundled_page_path, load_page

    sim = Simulator(load_page(bundled_page_path()), speed=600)
    with sim.serve("127.0.0.1", 0) as server:
        urls = server.urls()
        lines = [
            f'[database]\nurl = "sqlite:///{tmp / "sigterm.db"}"\n[defaults]\ninterval = 0.5\n'
        ]
        for i in range(10):
            fmt = FORMATS[i % 4][0]
            lines.append(f'[[sources]]\nname = "t{i}"\nkind = "{fmt}"\nurl = "{urls[fmt]}?i={i}"\n')
        config = tmp / "sigterm.toml"
        config.write_text("\n".join(lines))
        proc = subprocess.Popen([PARLEY, "run", "--config", str(config)], stderr=subprocess.DEVNULL)
        # Signal once the daemon is polling (its first posts are in the log), not after a fixed
        # sleep: on a loaded machine its start-up alone can take longer than any fixed guess.
        db = tmp / "sigterm.db"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and not _has_posts(db):
            time.sleep(0.2)
        time.sleep(1.0)  # a few more polls in flight
        started = time.perf_counter()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        return {"exit_code": code, "seconds_to_exit": round(time.perf_counter() - started, 3)}


def run() -> dict[str, Any]:
    import os

    from monitor.log_setup import configure_logging

    # Log as the daemon does (JSON lines at INFO), but to /dev/null: the cost counts, not the noise.
    configure_logging("json", "INFO", stream=open(os.devnull, "w"))  # noqa: SIM115 (for the whole run)
    # As `parley run` does (monitor.bootstrap.start_app): httpx's per-request INFO line is off,
    # for the floor's client as much as for Parley's.
    import logging

    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="parley-bench-monitor-"))
    load_before = os.getloadavg()[0]
    ctx = mp.get_context("spawn")
    pipes = [ctx.Pipe() for _ in range(2)]
    servers = [
        ctx.Process(target=_serve, args=(child, live), daemon=True)
        for (_, child), live in zip(pipes, (False, True), strict=True)
    ]
    for server in servers:
        server.start()
    try:
        static, live = (parent.recv() for parent, _ in pipes)
        sources = _sources(static, live)
        cycle = asyncio.run(_cycles(f"sqlite:///{tmp / 'cycle.db'}", pipes[1][0], sources))
        # The same cycles with `parse_workers = 0` (the default): parsing on the event loop's
        # thread, no hand-off. A new database and poller; the live page starts over.
        in_process = asyncio.run(
            _cycles(f"sqlite:///{tmp / 'cycle0.db'}", pipes[1][0], sources, parse_workers=0)
        )
    finally:
        for (parent, _), server in zip(pipes, servers, strict=True):
            parent.send("stop")
            server.join(timeout=10)
            if server.is_alive():
                server.terminate()
    latency = asyncio.run(_latency(f"sqlite:///{tmp / 'latency.db'}"))
    sigterm = _sigterm(tmp)
    return {
        "cycle": cycle,
        "cycle_parse_in_process": in_process,
        "latency": latency,
        "sigterm": sigterm,
        "targets": {"cycle_s_max": 10.0, "rate_vs_floor_min": 0.5},
        "load_average": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def table(results: dict[str, Any]) -> str:
    c, lat, st = results["cycle"], results["latency"], results["sigterm"]
    loads = results.get("load_average")
    load = (
        f" Load average of the machine when the run began and ended: {loads[0]:.1f} and {loads[1]:.1f}."
        if loads
        else ""
    )

    def verdict(ok: bool) -> str:
        return "met" if ok else "MISSED"

    def cpu(r: dict[str, Any], key: str) -> str:
        return f"{r[key]:.2f}" if key in r else "-"

    rows = "\n".join(
        f"| {i + 1} | {r['parley_s']:.2f} | {r['bare_s']:.2f} | {cpu(r, 'parley_cpu_s')} "
        f"| {cpu(r, 'bare_cpu_s')} | {r['not_modified']} | {r['new_posts']} |"
        for i, r in enumerate(c["rounds"])
    )
    cpu_verdict = (
        f" (by CPU: {verdict(c['cpu_vs_floor'] >= 0.5)}, {c['cpu_vs_floor']:.2f}×)"
        if c.get("cpu_vs_floor")
        else ""
    )
    cpu_line = (
        f"- CPU per cycle (median; the benchmark process with all its threads, plus Parley's parse\n"
        f"  workers; simulators left out): Parley {c['parley_cpu_s_median']:.2f} s, floor "
        f"{c['bare_cpu_s_median']:.2f} s: **{c['cpu_vs_floor']:.2f}×** the floor by CPU.\n"
        if c.get("cpu_vs_floor")
        else ""
    )
    p0 = results.get("cycle_parse_in_process")
    in_process = (
        """
The same cycles with `parse_workers = 0` (the default: pages parsed on the event loop's thread,
no worker processes), measured next in the same run against its own floor rounds:

| round | Parley cycle (s) | bare fetch loop (s) | Parley CPU (s) | floor CPU (s) |
|---|---|---|---|---|
"""
        + "\n".join(
            f"| {i + 1} | {r['parley_s']:.2f} | {r['bare_s']:.2f} | {r['parley_cpu_s']:.2f} "
            f"| {r['bare_cpu_s']:.2f} |"
            for i, r in enumerate(p0["rounds"])
        )
        + f"""

- Parley: **{p0["cycle_s_median"]:.2f} s** per cycle (median), floor {p0["bare_s_median"]:.2f} s:
  **{p0["rate_vs_floor"]:.2f}×** the floor's rate; CPU {p0["parley_cpu_s_median"]:.2f} s against
  {p0["bare_cpu_s_median"]:.2f} s: **{p0["cpu_vs_floor"]:.2f}×** by CPU. Cycle target:
  {verdict(p0["cycle_s_median"] <= 10)}; rate versus the floor: {verdict(p0["rate_vs_floor"] >= 0.5)}
  (by CPU: {verdict(p0["cpu_vs_floor"] >= 0.5)}).
"""
        if p0
        else ""
    )
    return f"""## Monitor: 1,000 sources, one poll cycle (`bench/monitor_bench.py`)

{c["sources"]} sources on the simulator (two simulators, each in its own process, on 127.0.0.1):
half unchanged since the last poll (304), half with one new post (200, parsed, appended to
SQLite). Parley is `Poller.poll` for every source at once (fetch, parse in {PARSE_WORKERS} worker
processes, decide, append); the floor is a bare httpx loop over the same URLs with the same
validators and concurrency ({CONCURRENCY} per host). All on this 2-core machine, shared with the
simulators (and, while measured, with other work).

| round | Parley cycle (s) | bare fetch loop (s) | Parley CPU (s) | floor CPU (s) | 304s | new posts |
|---|---|---|---|---|---|---|
{rows}

- Parley: **{c["cycle_s_median"]:.2f} s** per cycle (median; target ≤ 10 s), {c["parley_rate_per_s"]:.0f} sources/s.
- Floor: {c["bare_s_median"]:.2f} s, {c["bare_rate_per_s"]:.0f} sources/s; Parley runs at
  **{c["rate_vs_floor"]:.2f}×** the floor's rate (target ≥ 0.5×).
{cpu_line}- First (cold) cycle, every post new: {c["cold_cycle_s"]:.2f} s, {c["events_after_cold_cycle"]} events appended.
{in_process}
Publish-to-log latency through the real daemon ({lat["sources"]} sources polled every
{lat["interval_s"]:g} s, `parley simulate --speed 600`): median **{lat["median_s"]:.2f} s**, p99
**{lat["p99_s"]:.2f} s** (max {lat["max_s"]:.2f} s, {lat["samples"]} samples). With polling, the
latency is bounded by the interval plus jitter; the median sits near half the interval.

Where the gap to the floor goes: the work a bare loop never does. For each of the 500 changed
pages Parley parses it (in {PARSE_WORKERS} worker processes driven from the event loop over socket pairs; plain
RSS 2.0 and Atom are read straight from the XML tree, and a page's bodies unchanged since its
previous parse are not read again), decides what changed, encodes and appends the events (polls
that finish while an append runs share one transaction), and logs a line per event appended;
all of it on the same two cores as the two simulators. Both loops keep their connections alive.
Parley's fetches go straight to the transport the httpx client picks for each URL (its pool or
proxy) without the client's cookie, auth and hook layer, and reuse each source's parsed URL: its
Fetcher costs less CPU than the floor's `client.get` loop, so the gap is parsing, deciding and
appending. How each part was measured is in [monitor.md](monitor.md#benchmarks).
The floor itself varied from
{min(r["bare_s"] for r in c["rounds"]):.2f} s to {max(r["bare_s"] for r in c["rounds"]):.2f} s between rounds of this run: on a shared machine the
wall-clock ratio moves with the load, the CPU ratio much less.
Cycle target (≤ 10 s): {verdict(c["cycle_s_median"] <= 10)}; rate versus the floor (≥ 0.5×):
{verdict(c["rate_vs_floor"] >= 0.5)}{cpu_verdict}.{load}

`parley run` stopped with SIGTERM mid-poll: exit code {st["exit_code"]} after {st["seconds_to_exit"]:.2f} s.
"""
