"""The daemon saves each source's health off the polls' path (one writer task, coalesced): once it
has stopped, the meta table holds exactly the newest health of every source, and the HTTP
validators the fetcher has now."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from monitor.bootstrap import MonitorService, start_app
from monitor.config import Schedule, Settings, SourceConfig
from monitor.daemon import HEALTH, VALIDATORS
from monitor.simulator import RunningServer, Simulator, bundled_page_path, load_page
from store import open_store


@pytest.fixture
def live_server() -> Iterator[RunningServer]:
    """The seed page at high speed on the real clock: the whole page is out in about 4 s."""
    sim = Simulator(load_page(bundled_page_path()), speed=3000)
    with sim.serve("127.0.0.1", 0) as server:
        yield server


def test_the_newest_health_of_every_source_is_saved_by_the_time_the_daemon_stops(
    db_url: str, live_server: RunningServer
) -> None:
    """Four sources polled every 0.1 s while the page unfolds (many polls each, their health
    handed to the writer task as they end): after stop, the meta table's health equals the
    daemon's own, source by source, and the saved validators equal the fetcher's."""
    urls = live_server.urls()
    fast = Schedule(interval=0.1, jitter=0.02, error_factor=2, error_max=0.5, misfire_grace=5)
    sources = tuple(
        SourceConfig(name=f"s-{fmt}", kind=fmt, url=urls[fmt], schedule=fast)
        for fmt in ("rss", "atom", "jsonfeed", "liveblog")
    )

    async def main() -> tuple[dict[str, Any], dict[str, Any], int]:
        app = await start_app(Settings(path="t", sources=sources), database_url=db_url)
        service = app.service("monitor")
        assert isinstance(service, MonitorService)
        daemon = service.daemon
        assert daemon is not None
        deadline = time.monotonic() + 120  # a hang guard, not a speed requirement
        try:
            while time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                if all(h.posts_seen == 20 for h in daemon.health()) and daemon.polls >= 40:
                    break
        finally:
            await app.stop()
        health = {h.source: h.to_json() for h in daemon.health()}
        fetched = {
            s.url: daemon._fetcher.validators.get(s.url)  # what the daemon polls with now
            for s in sources
        }
        validators = {
            url: {"etag": v.etag, "last_modified": v.last_modified} for url, v in fetched.items()
        }
        return health, validators, daemon.polls

    health, validators, polls = asyncio.run(main())
    assert polls >= 40
    with open_store(db_url) as store:
        saved_health = store.get_meta(HEALTH)
        saved_validators = store.get_meta(VALIDATORS)
    assert saved_health == health
    assert all(h["posts_seen"] == 20 for h in health.values())
    assert {url: saved_validators[url] for url in validators} == validators
