"""Every source kind, end to end over real HTTP: the simulator's output parses into the seed's posts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from monitor.fetch import Fetcher
from monitor.posts import Post
from monitor.simulator import (
    PAGE_SELECTORS,
    ManualClock,
    RunningServer,
    Simulator,
    bundled_page_path,
    load_page,
    parse_script,
    seed_post,
)
from monitor.sources import get_kind

SPEED = 600.0
FORMATS = {  # simulator format -> (source kind, settings)
    "rss": ("feed", {}),
    "atom": ("feed", {}),
    "jsonfeed": ("jsonfeed", {}),
    "liveblog": ("liveblog", {}),
    "html": ("html", {"selectors": dict(PAGE_SELECTORS)}),
}


@pytest.fixture(scope="module")
def page() -> dict[str, Any]:
    return load_page(bundled_page_path())


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1000.0)


@pytest.fixture
def served(page: dict[str, Any], clock: ManualClock) -> Iterator[tuple[Simulator, RunningServer]]:
    sim = Simulator(page, speed=SPEED, clock=clock, per_page=7)
    with sim.serve("127.0.0.1", 0) as server:
        yield sim, server


def _poll(url: str, fmt: str) -> list[Post]:
    """Fetch `url` and every next page, and parse them with the format's kind."""
    kind_name, settings = FORMATS[fmt]
    kind = get_kind(kind_name)

    async def run() -> list[Post]:
        posts: list[Post] = []
        async with Fetcher() as fetcher:
            queue = [url]
            while queue:
                result = await fetcher.fetch(queue.pop(0))
                parsed = kind.parse(
                    result.body, url=result.url, content_type=result.content_type, settings=settings
                )
                posts.extend(parsed.posts)
                queue.extend(parsed.next_pages)
        return posts

    return asyncio.run(run())


def _essentials(post: Post) -> tuple[Any, ...]:
    return (post.post_id, post.title, post.paragraphs, post.captions, post.published, post.byline)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_each_format_parses_into_exactly_the_seed_posts(
    fmt: str, page: dict[str, Any], served: tuple[Simulator, RunningServer], clock: ManualClock
) -> None:
    """Once the page is done, every kind reads the seed's posts: ids, titles, paragraphs, captions, times, bylines."""
    sim, server = served
    clock.advance(10**6)
    assert sim.status()["done"]
    got = sorted(_essentials(p) for p in _poll(server.urls()[fmt], fmt))
    want = sorted(_essentials(seed_post(p)) for p in page["posts"])
    assert got == want


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_each_format_shows_only_the_posts_published_so_far(
    fmt: str, page: dict[str, Any], served: tuple[Simulator, RunningServer], clock: ManualClock
) -> None:
    """Half-way through the timeline a poll sees exactly the posts whose time has come, with times tz-aware."""
    times = sorted(datetime.fromisoformat(p["published"]) for p in page["posts"])
    cut = times[9]
    clock.advance((cut - times[0]).total_seconds() / SPEED)
    posts = _poll(served[1].urls()[fmt], fmt)
    expected = {p["id"] for p in page["posts"] if datetime.fromisoformat(p["published"]) <= cut}
    assert {p.post_id for p in posts} == expected
    assert all(p.published is not None and p.published.tzinfo is not None for p in posts)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_scripted_revision_and_withdrawal_show_in_each_format(
    fmt: str, page: dict[str, Any]
) -> None:
    """A scripted paragraph edit shows as new text (with a modified time); a withdrawn post disappears."""
    first = min(datetime.fromisoformat(p["published"]) for p in page["posts"])
    steps = parse_script(
        {
            "steps": [
                {
                    "at": "+3h",
                    "revise": "post-20",
                    "paragraph": 0,
                    "text": "Revised <first> & only.",
                },
                {"at": "+3h", "withdraw": "post-19"},
            ]
        },
        first=first,
    )
    clock = ManualClock()
    sim = Simulator(page, speed=SPEED, clock=clock, script=steps)
    with sim.serve("127.0.0.1", 0) as server:
        clock.advance(10**6)
        posts = {p.post_id: p for p in _poll(server.urls()[fmt], fmt)}
    assert "post-19" not in posts
    assert posts["post-20"].paragraphs[0] == "Revised <first> & only."
    if fmt != "rss":  # RSS 2.0 has no per-item modified time
        assert posts["post-20"].modified == first + timedelta(hours=3)
