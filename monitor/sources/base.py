"""The one interface every source kind implements, and what parsing a fetched page yields."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from monitor.posts import Post


@dataclass(frozen=True, kw_only=True, slots=True)
class ParsedPage:
    """The posts found on one fetched page.

    `next_pages` are further pages of the same live blog (`?page=2`...) to fetch in the same poll.
    `complete` is True when the page lists every post it covers (so a post missing from it, within
    the covered time range, has been withdrawn rather than scrolled away); `covers` is the
    (oldest, newest) publication time the page spans, None when it lists nothing.
    """

    posts: tuple[Post, ...]
    next_pages: tuple[str, ...] = ()
    complete: bool = False
    covers: tuple[datetime, datetime] | None = None


class SourceKind(Protocol):
    """Parses the bytes of one fetched page into posts. Pure: no I/O, no clock.

    Raises `monitor.errors.SourceError` with the reason when the page is malformed or lacks the
    expected markup.
    """

    kind: str

    def parse(
        self, body: bytes, *, url: str, content_type: str | None, settings: Mapping[str, Any]
    ) -> ParsedPage: ...
