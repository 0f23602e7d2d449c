"""Assembling a ParsedPage and raising parse errors the same way in every kind."""

from __future__ import annotations

from collections.abc import Iterable

from monitor.errors import SourceError
from monitor.posts import Post
from monitor.sources.base import ParsedPage


def parse_error(url: str, reason: str) -> SourceError:
    """A SourceError whose message names the page and the reason: `<url>: <reason>`."""
    return SourceError(f"{url}: {reason}")


def build_page(posts: Iterable[Post], next_pages: Iterable[str] = ()) -> ParsedPage:
    """A page of posts, duplicates of one id dropped (the first kept), with the span it covers.

    Every kind lists all the posts of the time range it shows, so `complete` is True whenever at
    least one post carries a time; `covers` is (oldest, newest) published time.
    """
    seen: set[str] = set()
    unique: list[Post] = []
    for post in posts:
        if post.post_id not in seen:
            seen.add(post.post_id)
            unique.append(post)
    times = [p.published for p in unique if p.published is not None]
    covers = (min(times), max(times)) if times else None
    return ParsedPage(
        posts=tuple(unique),
        next_pages=tuple(dict.fromkeys(next_pages)),
        complete=covers is not None,
        covers=covers,
    )
