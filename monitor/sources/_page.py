"""Assembling a ParsedPage and raising parse errors the same way in every kind."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import datetime

from monitor.errors import SourceError
from monitor.posts import Post
from monitor.sources.base import ParsedPage


def parse_error(url: str, reason: str) -> SourceError:
    """A SourceError whose message names the page and the reason: `<url>: <reason>`."""
    return SourceError(f"{url}: {reason}")


def _longest_ordered_run(values: Sequence[float]) -> list[float]:
    """The longest non-decreasing subsequence of `values` (patience sorting, O(n log n))."""
    tails: list[float] = []  # smallest tail value of a run of each length
    tail_index: list[int] = []
    parent = [-1] * len(values)
    for i, value in enumerate(values):
        slot = bisect_right(tails, value)
        if slot == len(tails):
            tails.append(value)
            tail_index.append(i)
        else:
            tails[slot] = value
            tail_index[slot] = i
        parent[i] = tail_index[slot - 1] if slot else -1
    run: list[float] = []
    i = tail_index[-1] if tail_index else -1
    while i >= 0:
        run.append(values[i])
        i = parent[i]
    return run


def covered_range(times: Sequence[datetime]) -> tuple[datetime, datetime] | None:
    """The (oldest, newest) publication time a page really spans, in page order.

    Pages list posts newest first (or oldest first). A post out of that order (pinned to the top,
    or bumped up a feed by an edit) says nothing about the neighbouring time range, so only the
    longest run of posts in order counts: otherwise a pinned morning summary would make the page
    seem to cover the whole day, and every post that scrolled to page 2 would look withdrawn.
    """
    if not times:
        return None
    stamps = [t.timestamp() for t in times]
    ascending = _longest_ordered_run(stamps)
    descending = _longest_ordered_run([-s for s in stamps])
    run = ascending if len(ascending) >= len(descending) else [-s for s in descending]
    low, high = min(run), max(run)
    inside = [t for t in times if low <= t.timestamp() <= high]
    return min(inside), max(inside)


def build_page(posts: Iterable[Post], next_pages: Iterable[str] = ()) -> ParsedPage:
    """A page of posts, duplicates of one id dropped (the first kept), with the span it covers.

    Every kind lists all the posts of the time range it shows, so `complete` is True whenever at
    least one post carries a time; `covers` is `covered_range` of the published times.
    """
    seen: set[str] = set()
    unique: list[Post] = []
    for post in posts:
        if post.post_id not in seen:
            seen.add(post.post_id)
            unique.append(post)
    covers = covered_range([p.published for p in unique if p.published is not None])
    return ParsedPage(
        posts=tuple(unique),
        next_pages=tuple(dict.fromkeys(next_pages)),
        complete=covers is not None,
        covers=covers,
    )
