"""Source kinds: each parses one fetched page into posts. Public: `KINDS`, `get_kind`, `ParsedPage`.

    from monitor.sources import get_kind
    page = get_kind("feed").parse(body, url=url, content_type=ctype, settings={"timezone": "UTC"})
    for post in page.posts: ...
    for next_url in page.next_pages: ...   # fetch and parse these too (live-blog pagination)

Parsing is pure (no I/O, no clock) and raises `monitor.errors.SourceError` naming the URL and the
reason, or `monitor.errors.ConfigError` for bad settings. Adding a kind: one module with a class
that has `kind` and `parse` (the `SourceKind` protocol), and one line in `KINDS` below.
"""

from __future__ import annotations

from monitor.errors import ConfigError
from monitor.sources.base import ParsedPage, SourceKind
from monitor.sources.feed import FeedKind
from monitor.sources.html import HtmlKind
from monitor.sources.jsonfeed import JsonFeedKind
from monitor.sources.liveblog import LiveBlogKind

# The kinds are stateless: one shared instance of each is safe.
KINDS: dict[str, SourceKind] = {
    "feed": FeedKind(),
    "liveblog": LiveBlogKind(),
    "html": HtmlKind(),
    "jsonfeed": JsonFeedKind(),
}


def get_kind(name: str) -> SourceKind:
    """The source kind registered as `name`. Raises ConfigError naming the known kinds."""
    try:
        return KINDS[name]
    except KeyError:
        known = ", ".join(sorted(KINDS))
        raise ConfigError(f"unknown source kind {name!r} (known: {known})") from None


__all__ = ["KINDS", "ParsedPage", "SourceKind", "get_kind"]
