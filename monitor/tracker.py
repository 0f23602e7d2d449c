"""From a fresh poll to events: which posts are new, which really changed, which were withdrawn. Pure.

What the log knows about one source is a `Knowledge`: post id → `KnownPost` (its revision hash,
its publication time, whether it is withdrawn, and its stream version). `decide()` compares it with
the pages of a fresh poll and returns the events to append, each with a deterministic idempotency
key and the stream version it expects, so a re-poll or a second daemon with the same knowledge
proposes exactly the same appends and the log stores them once.

Rules:
- `PostPublished` the first time a post id is seen (key `PostPublished:<source>:<post id>`).
- `PostRevised` when the *revision hash* changes. The revision hash is `Post.content_hash()` of
  the post after `normalise()`: whitespace runs, relative times ("5 minutes ago", "just now") and
  tracking parameters in URLs (utm_*, fbclid, ...) do not count. Key
  `PostRevised:<source>:<post id>:v<version>:<hash>` (the version makes a revert to an earlier text a
  revision of its own).
- `PostWithdrawn` when a known post is missing from every fetched page while a page that is
  `complete` covers its publication time (when every fetched page is complete, the consecutive
  pages together cover the gaps between them too). A post that scrolled to a page that was not fetched, a
  post whose time no complete page covers, and a post without a publication time are never
  withdrawn. Key `PostWithdrawn:<source>:<post id>:v<version>`.
- A withdrawn post that comes back is published again (`PostPublished:<source>:<post id>:v<version>`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from monitor.events import PostPublished, PostRevised, PostWithdrawn, post_stream
from monitor.posts import Post
from monitor.sources.base import ParsedPage
from store.mapper import from_recorded, to_new_event
from store.records import NewEvent, RecordedEvent

_RELATIVE = re.compile(
    r"\b(?:(?:updated|posted|published)\s+)?"
    r"(?:(?:\d+|an?|one|a\s+few|few)\s*"
    r"(?:seconds?|secs?|s|minutes?|mins?|m|hours?|hrs?|h|days?|d|weeks?|wks?|w)\s+ago"
    r"|just\s+now|moments?\s+ago)\b",
    re.IGNORECASE,
)
_URL = re.compile(r"https?://[^\s<>\"')\]]+", re.IGNORECASE)
_TRACKING = re.compile(
    r"^(?:utm_\w*|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|ocid|cmpid|at_\w+|ns_\w+|"
    r"_ga|_gl|yclid|s_cid|icid|xtor|ito|__twitter_impression)$",
    re.IGNORECASE,
)


def clean_url(url: str) -> str:
    """`url` without tracking query parameters (utm_*, fbclid, gclid, at_*, ns_* ...)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.query:
        return url
    kept = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)
    ]
    return urlunsplit(parts._replace(query=urlencode(kept)))


def _clean_text(text: str) -> str:
    text = _URL.sub(lambda m: clean_url(m.group(0)), text)
    return _RELATIVE.sub(" ", text)


def normalise(post: Post) -> Post:
    """The post as the revision hash sees it: no relative times, no tracking parameters."""
    return replace(
        post,
        title=_clean_text(post.title),
        paragraphs=tuple(_clean_text(p) for p in post.paragraphs),
        captions=tuple(_clean_text(c) for c in post.captions),
        url=clean_url(post.url),
    )


@lru_cache(maxsize=1 << 16)
def revision_hash(post: Post) -> str:
    """The hash that decides revisions: `Post.content_hash()` of `normalise(post)`.

    Cached: a live blog shows the same posts poll after poll, and comparing a post with one seen
    before is much cheaper than normalising and hashing it again.
    """
    return normalise(post).content_hash()


@dataclass(frozen=True, kw_only=True, slots=True)
class KnownPost:
    """What the log says about one post: its latest hash, time, withdrawal, and stream version."""

    content_hash: str
    published: datetime | None = None
    withdrawn: bool = False
    version: int = 1


Knowledge = Mapping[str, KnownPost]


@dataclass(frozen=True, kw_only=True, slots=True)
class PlannedEvent:
    """One event to append: the domain event, its stream, its key and the version it expects."""

    event: PostPublished | PostRevised | PostWithdrawn
    stream_id: str
    idempotency_key: str
    expected_version: int

    def to_new_event(self) -> NewEvent:
        """The record `EventStore.append` takes."""
        return to_new_event(
            self.event,
            stream_id=self.stream_id,
            idempotency_key=self.idempotency_key,
            expected_version=self.expected_version,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Decision:
    """The events one poll produces and the knowledge once they are in the log."""

    events: tuple[PlannedEvent, ...]
    knowledge: dict[str, KnownPost]

    def count(self, event_type: type) -> int:
        return sum(1 for e in self.events if isinstance(e.event, event_type))


def _spans(pages: Sequence[ParsedPage]) -> list[tuple[datetime, datetime]]:
    """The time ranges the poll covers completely.

    Each complete page covers its own range. When every fetched page is complete, they are
    consecutive pages of one blog (page 1, 2, ... as linked), so together they also cover the gaps
    between them: a post between page 2's oldest and page 3's newest would have been on one of them.
    """
    spans = [p.covers for p in pages if p.complete and p.covers is not None]
    if spans and all(p.complete for p in pages):
        spans.append((min(s[0] for s in spans), max(s[1] for s in spans)))
    return spans


def _covered(when: datetime | None, spans: Sequence[tuple[datetime, datetime]]) -> bool:
    if when is None:
        return False
    for oldest, newest in spans:
        try:
            if oldest <= when <= newest:
                return True
        except TypeError:  # a naive time cannot be placed in an aware range
            continue
    return False


def decide(
    source: str, known: Knowledge, pages: Sequence[ParsedPage], *, seen_at: datetime
) -> Decision:
    """The events a fresh poll of `source` (its fetched `pages`, in order) implies, given `known`.

    Pure and deterministic: the same inputs give the same events with the same keys.
    """
    seen_iso = seen_at.isoformat()
    fresh: dict[str, Post] = {}
    for page in pages:
        for post in page.posts:
            fresh.setdefault(post.post_id, post)  # a post repeated across pages counts once
    out: list[PlannedEvent] = []
    after = dict(known)
    for post_id, raw in fresh.items():
        url = clean_url(raw.url)
        post = raw if url == raw.url else replace(raw, url=url)  # most URLs have nothing to drop
        new_hash = revision_hash(post)
        stream = post_stream(source, post_id)
        before = known.get(post_id)
        if before is None or before.withdrawn:
            version = 0 if before is None else before.version
            key = f"PostPublished:{source}:{post_id}" + (f":v{version}" if version else "")
            event: Any = PostPublished(
                source=source, post=post, content_hash=new_hash, seen_at=seen_iso
            )
        elif before.content_hash != new_hash:
            version = before.version
            key = f"PostRevised:{source}:{post_id}:v{version}:{new_hash}"
            event = PostRevised(
                source=source,
                post=post,
                content_hash=new_hash,
                previous_hash=before.content_hash,
                seen_at=seen_iso,
            )
        else:
            continue
        out.append(
            PlannedEvent(
                event=event, stream_id=stream, idempotency_key=key, expected_version=version
            )
        )
        after[post_id] = KnownPost(
            content_hash=new_hash, published=post.published, version=version + 1
        )
    spans = _spans(pages)
    for post_id, was in sorted(known.items()):
        if was.withdrawn or post_id in fresh or not _covered(was.published, spans):
            continue
        event = PostWithdrawn(
            source=source, post_id=post_id, last_hash=was.content_hash, seen_at=seen_iso
        )
        out.append(
            PlannedEvent(
                event=event,
                stream_id=post_stream(source, post_id),
                idempotency_key=f"PostWithdrawn:{source}:{post_id}:v{was.version}",
                expected_version=was.version,
            )
        )
        after[post_id] = replace(was, withdrawn=True, version=was.version + 1)
    return Decision(events=tuple(out), knowledge=after)


def learn(known: dict[str, KnownPost], event: object, *, version: int | None = None) -> None:
    """Fold one post event from the log into `known` (in place); other events are ignored.

    `version` is the event's stream version when known (from the record); otherwise it is counted.
    """
    if isinstance(event, PostPublished | PostRevised):
        before = known.get(event.post.post_id)
        known[event.post.post_id] = KnownPost(
            content_hash=event.content_hash,
            published=event.post.published,
            version=version or ((before.version + 1) if before else 1),
        )
    elif isinstance(event, PostWithdrawn):
        before = known.get(event.post_id)
        if before is not None:
            known[event.post_id] = replace(
                before, withdrawn=True, version=version or before.version + 1
            )


POST_EVENT_TYPES = ("PostPublished", "PostRevised", "PostWithdrawn")


def knowledge_from(records: Iterable[RecordedEvent]) -> dict[str, dict[str, KnownPost]]:
    """Every source's knowledge, folded from the post events among `records` (log order)."""
    by_source: dict[str, dict[str, KnownPost]] = {}
    for record in records:
        if record.event_type not in POST_EVENT_TYPES:
            continue
        event = from_recorded(record)
        learn(by_source.setdefault(event.source, {}), event, version=record.stream_version)
    return by_source
