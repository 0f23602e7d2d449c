"""The poller against the real simulator on 127.0.0.1 and a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from structlog.testing import capture_logs

from monitor.config import SourceConfig
from monitor.fetch import Fetcher, Validators
from monitor.poller import Poller, load_knowledge
from monitor.simulator import (
    ManualClock,
    RunningServer,
    Simulator,
    bundled_page_path,
    load_page,
    parse_script,
)
from monitor.simulator.timeline import Timeline
from monitor.sources import KINDS
from store import open_store
from store.ports import EventStore

SPEED = 600.0  # one clock second is ten page minutes


@pytest.fixture(scope="module")
def page() -> dict[str, Any]:
    return load_page(bundled_page_path())


@contextmanager
def simulator(
    page: dict[str, Any], script: list[dict[str, Any]] | None = None, per_page: int = 10
) -> Iterator[tuple[ManualClock, RunningServer]]:
    clock = ManualClock(1000.0)
    first = Timeline(page).first
    assert first is not None
    steps = parse_script(script or [], first=first)
    sim = Simulator(page, speed=SPEED, clock=clock, script=steps, per_page=per_page)
    with sim.serve("127.0.0.1", 0) as server:
        yield clock, server


def minutes(clock: ManualClock, page_minutes: float) -> None:
    """Move the simulator's page time on by `page_minutes`."""
    clock.advance(page_minutes * 60 / SPEED)


def source(server: RunningServer, fmt: str = "liveblog", name: str = "live") -> SourceConfig:
    kind = {"rss": "rss", "atom": "atom", "jsonfeed": "jsonfeed", "liveblog": "liveblog"}[fmt]
    return SourceConfig(name=name, kind=kind, url=server.urls()[fmt])


class Rig:
    """A poller with its own store connection, fetcher and store thread."""

    def __init__(self, db_url: str, *, max_pages: int = 10) -> None:
        self.store: EventStore = open_store(db_url)
        self.fetcher = Fetcher()
        self.executor = ThreadPoolExecutor(max_workers=1)
        self.poller = Poller(
            store=self.store,
            fetcher=self.fetcher,
            kinds=KINDS,
            executor=self.executor,
            knowledge=load_knowledge(self.store),
            max_pages=max_pages,
        )

    async def close(self) -> None:
        await self.fetcher.aclose()
        self.executor.shutdown(wait=True)
        self.store.close()


def run(db_url: str, scenario: Callable[[Rig], Awaitable[None]], **kw: Any) -> None:
    async def main() -> None:
        rig = Rig(db_url, **kw)
        try:
            await scenario(rig)
        finally:
            await rig.close()

    asyncio.run(main())


def events(db_url: str, *types: str) -> list[Any]:
    with open_store(db_url) as store:
        return list(store.read(event_types=list(types) or None))


def test_repoll_of_unchanged_page_appends_nothing(db_url: str, page: dict[str, Any]) -> None:
    """A 304, and a full re-fetch of the same content, both append nothing."""
    with simulator(page) as (clock, server):
        src = source(server)
        minutes(clock, 60)

        async def scenario(rig: Rig) -> None:
            first = await rig.poller.poll(src)
            assert first.ok
            assert first.new_posts == 9  # 14:15 to 15:03
            head = rig.store.head().position
            again = await rig.poller.poll(src)
            assert again.not_modified
            rig.fetcher.validators.put(src.url, Validators())  # force a full GET
            full = await rig.poller.poll(src)
            assert not full.not_modified
            assert (full.new_posts, full.revised, full.withdrawn) == (0, 0, 0)
            assert rig.store.head().position == head

        run(db_url, scenario)


def test_edit_is_one_post_revised(db_url: str, page: dict[str, Any]) -> None:
    """A scripted edit becomes exactly one PostRevised, carrying the new text and the old hash."""
    script = [{"at": "+30m", "revise": "post-20", "paragraph": 0, "text": "A new first paragraph."}]
    with simulator(page, script) as (clock, server):
        src = source(server)

        async def scenario(rig: Rig) -> None:
            minutes(clock, 20)
            await rig.poller.poll(src)
            minutes(clock, 20)
            outcome = await rig.poller.poll(src)
            assert outcome.revised == 1
            minutes(clock, 5)
            rig.fetcher.validators.put(src.url, Validators())
            assert (await rig.poller.poll(src)).revised == 0

        run(db_url, scenario)
    (revised,) = events(db_url, "PostRevised")
    published = {
        e.data["post"]["post_id"]: e.data["content_hash"] for e in events(db_url, "PostPublished")
    }
    post = revised.data["post"]
    assert post["paragraphs"][0] == "A new first paragraph."
    assert revised.data["previous_hash"] == published[post["post_id"]]


@pytest.mark.parametrize("fmt", ["liveblog", "rss"])
def test_whitespace_relative_time_and_tracking_edits_append_nothing(
    sqlite_url: str, page: dict[str, Any], fmt: str
) -> None:
    """Re-spacing, a new "N minutes ago" and new tracking parameters are not revisions."""
    script = [
        {
            "at": "+5m",
            "revise": "post-20",
            "paragraph": 0,
            "text": "Talks resumed. Updated 5 minutes ago. https://example.org/s?id=7&utm_source=live",
        },
        {
            "at": "+15m",
            "revise": "post-20",
            "paragraph": 0,
            "text": "Talks   resumed.  Updated 15 minutes ago. https://example.org/s?id=7&fbclid=abc",
        },
    ]
    with simulator(page, script) as (clock, server):
        src = source(server, fmt)

        async def scenario(rig: Rig) -> None:
            minutes(clock, 8)
            assert (await rig.poller.poll(src)).new_posts == 2
            minutes(clock, 10)
            outcome = await rig.poller.poll(src)
            assert outcome.ok
            assert not outcome.not_modified  # the page did change; the post did not, really
            assert outcome.revised == 0

        run(sqlite_url, scenario)
    assert events(sqlite_url, "PostRevised") == []


def test_withdrawal_within_range_is_withdrawn_but_post_scrolled_to_page_2_is_not(
    db_url: str, page: dict[str, Any]
) -> None:
    """Reading page 1 only, older posts scroll away unharmed; a removed post in range is withdrawn."""
    script = [{"at": "+30m", "withdraw": "post-19"}]
    with simulator(page, script, per_page=3) as (clock, server):
        src = source(server)

        async def page_one_only(rig: Rig) -> None:
            minutes(clock, 5)
            assert (await rig.poller.poll(src)).new_posts == 2  # 14:15 and 14:19
            minutes(clock, 20)  # six posts now: page 1 shows the newest three
            outcome = await rig.poller.poll(src)
            assert (outcome.new_posts, outcome.withdrawn) == (3, 0)

        run(db_url, page_one_only, max_pages=1)

        async def every_page(rig: Rig) -> None:
            minutes(clock, 10)  # post-19 is withdrawn at +30m
            outcome = await rig.poller.poll(src)
            assert outcome.withdrawn == 1

        run(db_url, every_page)
    (withdrawn,) = events(db_url, "PostWithdrawn")
    titles = {
        e.data["post"]["post_id"]: e.data["post"]["title"] for e in events(db_url, "PostPublished")
    }
    seed_title = next(p["title"] for p in page["posts"] if p["id"] == "post-19")
    assert titles[withdrawn.data["post_id"]] == seed_title


def test_two_pollers_on_one_source_never_double_append(db_url: str, page: dict[str, Any]) -> None:
    """Two pollers with their own connections polling the same page together record each fact once."""
    script = [
        {
            "at": "+30m",
            "revise": "post-20",
            "paragraph": 1,
            "text": "An edit seen by both pollers.",
        },
        {"at": "+50m", "withdraw": "post-18"},
    ]
    with simulator(page, script) as (clock, server):
        src = source(server)

        async def main() -> None:
            a, b = Rig(db_url), Rig(db_url)
            try:
                for _ in range(8):
                    minutes(clock, 10)
                    outcomes = await asyncio.gather(a.poller.poll(src), b.poller.poll(src))
                    assert all(o.ok for o in outcomes), outcomes
            finally:
                await a.close()
                await b.close()

        asyncio.run(main())
    recorded = events(db_url, "PostPublished", "PostRevised", "PostWithdrawn")
    counts = Counter(r.event_type for r in recorded)
    published = [r.data["post"]["post_id"] for r in recorded if r.event_type == "PostPublished"]
    assert len(published) == len(set(published))
    assert counts == {"PostPublished": len(published), "PostRevised": 1, "PostWithdrawn": 1}
    shown = sum(1 for p in page["posts"] if p["published"] <= "2025-06-02T15:35:00+01:00")
    assert len(published) == shown


@pytest.mark.parametrize(
    ("path", "kind", "reason"),
    [
        ("/fault/malformed", "rss", "malformed XML"),
        ("/fault/bomb", "rss", "unsafe XML"),
        ("/fault/bad-jsonld", "liveblog", "invalid JSON-LD"),
        ("/fault/no-markup", "liveblog", "no JSON-LD"),
        ("/fault/redirect-loop", "rss", "redirect loop"),
        ("/fault/500", "liveblog", "HTTP 500"),
        ("/fault/gzip-bomb", "rss", "too large"),
    ],
)
def test_garbage_source_logs_a_clear_error_and_appends_nothing(
    sqlite_url: str, page: dict[str, Any], path: str, kind: str, reason: str
) -> None:
    """A source serving garbage fails with a source_failed line naming it and the reason."""
    with simulator(page) as (_clock, server):
        src = SourceConfig(name="broken", kind=kind, url=server.url + path)

        async def scenario(rig: Rig) -> None:
            with capture_logs() as logs:
                outcome = await rig.poller.poll(src)
            assert not outcome.ok
            assert outcome.error
            assert reason.lower() in outcome.error.lower()
            failed = [entry for entry in logs if entry["event"] == "source_failed"]
            assert len(failed) == 1
            assert failed[0]["source"] == "broken"
            assert failed[0]["reason"] == outcome.error

        run(sqlite_url, scenario)
    assert events(sqlite_url) == []


def test_parsing_in_worker_processes_records_the_same_posts(
    sqlite_url: str, page: dict[str, Any]
) -> None:
    """With a parse pool, pages are parsed in other processes and the events are the same."""
    from monitor.poller import parse_pool

    with simulator(page) as (clock, server):
        minutes(clock, 60)
        sources = [source(server, fmt, name=fmt) for fmt in ("liveblog", "rss", "atom", "jsonfeed")]

        async def scenario(rig: Rig) -> None:
            pool = parse_pool(1)
            try:
                rig.poller._parse_pool = pool  # the pool a daemon gets from [daemon] parse_workers
                outcomes = await asyncio.gather(*(rig.poller.poll(s) for s in sources))
            finally:
                pool.shutdown()
            assert [o.new_posts for o in outcomes] == [9, 9, 9, 9]

        run(sqlite_url, scenario)
    published = events(sqlite_url, "PostPublished")
    assert Counter(e.data["source"] for e in published) == {
        "liveblog": 9,
        "rss": 9,
        "atom": 9,
        "jsonfeed": 9,
    }
