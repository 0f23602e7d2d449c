"""Group commit: polls that finish together append in one store call; a conflict stays with its source."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from monitor.config import SourceConfig
from monitor.fetch import Fetcher
from monitor.poller import Poller
from monitor.simulator import ManualClock, Simulator, bundled_page_path, load_page
from monitor.sources import KINDS
from store import open_store
from store.ports import EventStore
from store.records import NewEvent

SPEED = 600.0


class CountingStore:
    """A real store that notes how many sources each append call carried."""

    def __init__(self, inner: EventStore) -> None:
        self.inner = inner
        self.sources_per_call: list[int] = []

    def append(self, events: Sequence[NewEvent]) -> list[int]:
        self.sources_per_call.append(len({e.stream_id.split(":")[1] for e in events}))
        return self.inner.append(events)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_concurrent_polls_share_appends_and_a_rival_writer_costs_no_source_its_posts(
    sqlite_url: str,
) -> None:
    """Twelve sources polled at once by two pollers: appends are grouped, each post recorded once."""
    clock = ManualClock(1000.0)
    sim = Simulator(load_page(bundled_page_path()), speed=SPEED, clock=clock)
    with sim.serve("127.0.0.1", 0) as server:
        urls = server.urls()
        sources = [
            SourceConfig(name=f"s{i:02d}", kind=kind, url=f"{urls[kind]}?n={i}")
            for i, kind in enumerate(["rss", "jsonfeed", "liveblog"] * 4)
        ]

        async def main() -> None:
            stores = [CountingStore(open_store(sqlite_url)) for _ in range(2)]
            fetchers = [Fetcher(), Fetcher()]
            executors = [ThreadPoolExecutor(max_workers=1) for _ in range(2)]
            a, b = (
                Poller(store=s, fetcher=f, kinds=KINDS, executor=x)  # type: ignore[arg-type]
                for s, f, x in zip(stores, fetchers, executors, strict=True)
            )
            try:
                for _ in range(4):
                    clock.advance(20 * 60 / SPEED)
                    outcomes = await asyncio.gather(
                        *(a.poll(s) for s in sources), *(b.poll(s) for s in sources[::2])
                    )
                    assert all(o.ok for o in outcomes), [o.error for o in outcomes if not o.ok]
                assert max(stores[0].sources_per_call) > 1
            finally:
                for f in fetchers:
                    await f.aclose()
                for x in executors:
                    x.shutdown(wait=True)
                for s in stores:
                    s.inner.close()

        asyncio.run(main())
    with open_store(sqlite_url) as store:
        published = [
            (r.stream_id.split(":")[1], r.data["post"]["post_id"])
            for r in store.read(event_types=["PostPublished"])
        ]
    per_source = Counter(src for src, _ in published)
    assert len(published) == len(set(published))
    assert set(per_source) == {s.name for s in sources}
    assert len(set(per_source.values())) == 1  # every source holds the same posts
