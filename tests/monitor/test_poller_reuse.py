"""The poller reuses its last parse of a page whose body comes back byte for byte (on a 200)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from monitor.config import SourceConfig
from monitor.fetch import Fetcher, Validators
from monitor.poller import Poller
from monitor.simulator import ManualClock, Simulator, bundled_page_path, load_page
from monitor.sources import get_kind
from monitor.sources.base import ParsedPage
from store import open_store

SPEED = 600.0


class CountingKind:
    """The real JSON Feed kind, counting the pages it is given."""

    kind = "jsonfeed"

    def __init__(self) -> None:
        self.calls = 0
        self._inner = get_kind("jsonfeed")

    def parse(
        self, body: bytes, *, url: str, content_type: str | None, settings: Mapping[str, Any]
    ) -> ParsedPage:
        self.calls += 1
        return self._inner.parse(body, url=url, content_type=content_type, settings=settings)


def test_identical_body_on_a_200_is_not_parsed_again_but_a_changed_one_is(sqlite_url: str) -> None:
    """A full re-fetch of the same bytes skips the parse; the next post's page is parsed."""
    clock = ManualClock(1000.0)
    sim = Simulator(load_page(bundled_page_path()), speed=SPEED, clock=clock)
    kind = CountingKind()
    with sim.serve("127.0.0.1", 0) as server:
        src = SourceConfig(name="feed", kind="jsonfeed", url=server.urls()["jsonfeed"])
        clock.advance(60 * 60 / SPEED)

        async def scenario() -> None:
            store = open_store(sqlite_url)
            executor = ThreadPoolExecutor(max_workers=1)
            fetcher = Fetcher()
            poller = Poller(
                store=store, fetcher=fetcher, kinds={"jsonfeed": kind}, executor=executor
            )
            try:
                first = await poller.poll(src)
                assert first.ok
                assert first.new_posts > 0
                fetcher.validators.put(src.url, Validators())  # force a 200 with the same body
                again = await poller.poll(src)
                assert again.ok
                assert not again.not_modified
                assert (again.new_posts, again.revised, again.withdrawn) == (0, 0, 0)
                assert kind.calls == 1
                clock.advance(60 * 60 / SPEED)  # new posts: a different body
                later = await poller.poll(src)
                assert later.ok
                assert later.new_posts > 0
                assert kind.calls == 2
            finally:
                await fetcher.aclose()
                executor.shutdown(wait=True)
                store.close()

        asyncio.run(scenario())
