"""`parley demo`: the simulator and the daemon together, with every source kind, on this machine.

One live page is served by the simulator on 127.0.0.1 in five formats; the daemon polls each as
its own source (so the same posts arrive through five parsers and are recorded five times, once
per source). A short script edits one post and withdraws another part-way through, so the log
shows all three post events. The views follow the log as `parley run` keeps them, and their
changes raise alerts on two local channels: the console and an mbox file in the demo's folder.
The summary then counts what each source recorded and how fast, and the alerts per channel.
"""

from __future__ import annotations

import asyncio
import signal
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor.bootstrap import App, MonitorService, ViewsFollower, start_app
from monitor.config import HttpConfig, Schedule, Settings, SourceConfig
from monitor.simulator import PAGE_SELECTORS, Simulator, parse_script
from monitor.simulator.timeline import Timeline
from store.ports import EventStore

# Which source kind reads which simulator format (the format names are the simulator's).
DEMO_SOURCES = (
    ("demo-liveblog", "liveblog", "liveblog"),
    ("demo-rss", "rss", "rss"),
    ("demo-atom", "atom", "atom"),
    ("demo-jsonfeed", "jsonfeed", "jsonfeed"),
    ("demo-html", "html", "html"),
)


def demo_script(page: dict[str, Any]) -> list[dict[str, Any]]:
    """An edit of the first post at 40 % of the page's span and a withdrawal of the second at 70 %."""
    tl = Timeline(page)
    posts = tl.posts
    assert tl.first is not None
    if len(posts) < 3:
        return []
    span = (tl.last - tl.first).total_seconds()
    at = [tl.first.timestamp() + span * f for f in (0.4, 0.7)]
    first, second = posts[0], posts[1]
    return [
        {
            "at": datetime.fromtimestamp(at[0], tz=tl.first.tzinfo).isoformat(),
            "revise": first.post_id,
            "paragraph": len(first.paragraphs),
            "text": "Update: this post was edited after publication (a scripted demo edit).",
        },
        {
            "at": datetime.fromtimestamp(at[1], tz=tl.first.tzinfo).isoformat(),
            "withdraw": second.post_id,
        },
    ]


DEMO_CHANNELS = ("console", "mailbox")
"""The demo's alert channels (each is also its type)."""


def demo_alerts(mailbox: Path, *, group_wait: float) -> dict[str, Any]:
    """The `[alerts]` table of the demo: default rules, to the console and to the mbox `mailbox`."""
    return {
        "group_wait": group_wait,
        "retry_base": 0.5,
        "retry_cap": 5.0,
        "channels": {
            "console": {"type": "console"},
            "mailbox": {"type": "mailbox", "path": str(mailbox)},
        },
    }


def demo_settings(
    urls: dict[str, str], *, interval: float, alerts: dict[str, Any] | None = None
) -> Settings:
    """One source per simulator format, polled every `interval` seconds; `alerts` as in TOML."""
    schedule = Schedule(
        interval=interval,
        jitter=interval / 5,
        quiet_after=3600,
        misfire_grace=max(5.0, interval * 5),
        error_max=max(5.0, interval * 4),
    )
    sources = tuple(
        SourceConfig(
            name=name,
            kind=kind,
            url=urls[fmt],
            schedule=schedule,
            settings={"selectors": dict(PAGE_SELECTORS)} if kind == "html" else {},
        )
        for name, kind, fmt in DEMO_SOURCES
    )
    http = HttpConfig(user_agent="Parley-demo/0.1", contact="mailto:demo@localhost")
    return Settings(path="<demo>", sources=sources, http=http, alerts=alerts or {})


@dataclass(frozen=True, kw_only=True, slots=True)
class DemoResult:
    """What the demo did: per-source event counts, latencies, alerts per channel, whether it finished.

    `alerts[channel]` counts outbox messages by status (raised, delivered, failed, pending) and
    the alerts actually sent (`sent`: one per `AlertDelivered`, which may cover grouped messages).
    """

    done: bool
    expected_posts: int
    counts: dict[str, Counter[str]]
    latencies: list[float]
    head_position: int
    head_hash: str
    seconds: float
    alerts: dict[str, Counter[str]]


def _complete(app: App, expected: int) -> bool:
    service = app.service("monitor")
    if not isinstance(service, MonitorService) or service.daemon is None:
        return False
    health = service.daemon.health()
    return bool(health) and all(h.posts_seen == expected and h.failures == 0 for h in health)


async def _settled(app: App) -> bool:
    """True when the views hold every event in the log and no alert waits in the outbox."""
    views = app.service("views")
    if not isinstance(views, ViewsFollower) or await views.behind() > 0:
        return False
    w = app.wiring
    pending = await asyncio.get_running_loop().run_in_executor(
        w.executor, lambda: w.store.pending_outbox(1)
    )
    return not pending


def alert_counts(store: EventStore) -> dict[str, Counter[str]]:
    """Per channel: outbox messages raised, delivered, failed and pending, and alerts `sent`."""
    from alerts.events import AlertDelivered
    from alerts.trail import trail_rows
    from store.mapper import from_recorded

    types = ["AlertRaised", "AlertDelivered", "AlertFailed"]
    trail = [from_recorded(r) for r in store.read(event_types=types)]
    counts: dict[str, Counter[str]] = {name: Counter() for name in DEMO_CHANNELS}
    for row in trail_rows(trail, store.pending_outbox(100_000)):
        c = counts.setdefault(row.channel, Counter())
        c["raised"] += 1
        c[row.status] += 1
    for e in trail:
        if isinstance(e, AlertDelivered):
            counts.setdefault(e.channel, Counter())["sent"] += 1
    return counts


class _Gate:
    """The simulator's clock for the demo: holds the page at its first post until `open()`, so the
    page unfolds only once the daemon polls (start-up on a busy machine must not eat the page).
    After opening it runs `shift` seconds behind the real clock."""

    def __init__(self) -> None:
        self._t0 = time.time()
        self.shift: float | None = None

    def open(self) -> None:
        self.shift = time.time() - self._t0

    def __call__(self) -> float:
        return self._t0 if self.shift is None else time.time() - self.shift


def _summarise(
    store: EventStore, sim: Simulator, shift: float
) -> tuple[dict[str, Counter[str]], list[float]]:
    counts: dict[str, Counter[str]] = {name: Counter() for name, _, _ in DEMO_SOURCES}
    released = sim.status()["released_at"]
    by_title = {p.title: p.post_id for p in sim.timeline.posts}
    latencies: list[float] = []
    for r in store.read(event_types=["PostPublished", "PostRevised", "PostWithdrawn"]):
        source = str(r.data["source"])
        counts.setdefault(source, Counter())[r.event_type] += 1
        if r.event_type == "PostPublished":
            seed_id = by_title.get(str(r.data["post"].get("title", "")))
            at = released.get(seed_id) if seed_id else None
            if at is not None:
                latencies.append(max(0.0, r.recorded_at.timestamp() - float(at) - shift))
    return counts, latencies


async def run_demo(
    page: dict[str, Any],
    *,
    speed: float,
    until_done: bool,
    database_url: str,
    progress: Any,
    mailbox: Path,
    group_wait: float = 1.0,
) -> DemoResult:
    """Serve `page` at `speed`, run the daemon with views and alerts against it, return what it did.

    Alerts go to the console and to the mbox file `mailbox` as they are delivered. With
    `until_done`, returns once every post is in the log for every source, the views have caught
    up and the outbox is drained (or after a generous time limit, with `done=False`); otherwise
    runs until Ctrl-C (SIGINT).
    """
    script = parse_script(demo_script(page), first=Timeline(page).first)  # type: ignore[arg-type]
    gate = _Gate()
    sim = Simulator(page, speed=speed, script=script, clock=gate)
    tl = sim.timeline
    real_span = (tl.last - tl.first).total_seconds() / speed  # type: ignore[operator]
    interval = min(5.0, max(0.2, real_span / 60))
    started = time.monotonic()
    server = sim.serve("127.0.0.1", 0)
    app: App | None = None
    done = settled = False
    expected = 0
    try:
        settings = demo_settings(
            server.urls(),
            interval=interval,
            alerts=demo_alerts(mailbox, group_wait=group_wait),
        )
        app = await start_app(settings, database_url=database_url, environ={})
        gate.open()
        limit = real_span + 90 + interval * 10 + group_wait
        last_report = -1
        interrupted = asyncio.Event()  # Ctrl-C ends the demo with its summary, not a traceback
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, interrupted.set)
        while not interrupted.is_set():
            await asyncio.sleep(min(0.25, interval))
            status = sim.status()
            if status["published"] != last_report:
                last_report = status["published"]
                progress(
                    f"page time {status['page_time'][11:19]}: {status['published']}/{status['total']} posts published"
                )
            if status["done"]:
                expected = len(status["shown"])
                if not done and _complete(app, expected):
                    # One more round of polls so a last edit or withdrawal is seen by every source.
                    await asyncio.sleep(interval * 2.5)
                    done = _complete(app, expected)
                if done and until_done and await _settled(app):
                    settled = True
                    break
            if until_done and time.monotonic() - started > limit:
                break
    finally:
        asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)
        if app is not None:
            await app.stop()
        server.stop()
    return _result(
        database_url,
        sim,
        shift=gate.shift or 0.0,
        done=done and (settled or not until_done),
        expected=expected,
        seconds=time.monotonic() - started,
    )


def _result(
    database_url: str, sim: Simulator, *, shift: float, done: bool, expected: int, seconds: float
) -> DemoResult:
    from store import open_store

    store = open_store(database_url)
    try:
        counts, latencies = _summarise(store, sim, shift)
        alerts = alert_counts(store)
        head = store.head()
    finally:
        store.close()
    return DemoResult(
        done=done,
        expected_posts=expected,
        counts=counts,
        latencies=latencies,
        head_position=head.position,
        head_hash=head.hash,
        seconds=seconds,
        alerts=alerts,
    )


def latency_line(latencies: list[float]) -> str:
    if not latencies:
        return "publish-to-log latency: no samples"
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (
        f"publish-to-log latency: median {statistics.median(ordered):.2f} s, "
        f"p99 {p99:.2f} s ({len(ordered)} posts)"
    )


def build_views(
    database_url: str, alerts: dict[str, Any] | None = None
) -> tuple[dict[str, Any] | None, str]:
    """Read the views the demo's daemon kept, catching them up first if it stopped behind the log.

    With `alerts` (the demo's `[alerts]` table) a catch-up still writes its alerts to the outbox
    (they wait there; a catch-up without it would change views silently). Returns (views, "")
    or (None, reason) when the views cannot be built; the demo goes on.
    """
    from alerts.config import parse_alerts
    from alerts.hook import outbox_hook
    from monitor.bootstrap import post_link
    from monitor.claims import load_pack
    from monitor.errors import MonitorError
    from monitor.views import PROJECTION, build_projection, catch_up, read_views
    from store import open_store
    from store.errors import StoreError

    try:
        with open_store(database_url) as store:
            hook = None
            if alerts:
                config = parse_alerts(alerts)
                hook = outbox_hook(
                    store,
                    PROJECTION,
                    config.rules,
                    channels=config.channel_names,
                    link=post_link(store),
                )
            catch_up(store, build_projection(load_pack()), outbox_for=hook)
            return read_views(store), ""
    except (MonitorError, StoreError) as exc:
        return None, f"views could not be built: {exc}"
    except Exception as exc:  # the views are a bonus here: their failure must not hide the log
        return None, f"views could not be built: {type(exc).__name__}: {exc}"
