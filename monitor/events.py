"""The monitor's events: facts about sources and posts, in the past tense, one class per fact.

Streams: `source:<source name>` for source events, `post:<source name>:<post id>` for post events.
Payloads carry a post as `Post.to_payload()`; `from_payload` rebuilds the event from the stored dict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.posts import Post
from store.mapper import domain_event


def source_stream(source: str) -> str:
    return f"source:{source}"


def post_stream(source: str, post_id: str) -> str:
    return f"post:{source}:{post_id}"


@domain_event("SourceAdded", version=1)
@dataclass(frozen=True, kw_only=True, slots=True)
class SourceAdded:
    source: str
    kind: str
    url: str
    settings: dict[str, Any]


@domain_event("SourceChanged", version=1)
@dataclass(frozen=True, kw_only=True, slots=True)
class SourceChanged:
    source: str
    kind: str
    url: str
    settings: dict[str, Any]


@domain_event("PostPublished", version=1)
@dataclass(frozen=True, kw_only=True, slots=True)
class PostPublished:
    source: str
    post: Post
    content_hash: str
    seen_at: str  # ISO 8601, when the monitor first saw it

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> PostPublished:
        return cls(
            source=data["source"],
            post=Post.from_payload(data["post"]),
            content_hash=data["content_hash"],
            seen_at=data["seen_at"],
        )


@domain_event("PostRevised", version=1)
@dataclass(frozen=True, kw_only=True, slots=True)
class PostRevised:
    source: str
    post: Post
    content_hash: str
    previous_hash: str
    seen_at: str

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> PostRevised:
        return cls(
            source=data["source"],
            post=Post.from_payload(data["post"]),
            content_hash=data["content_hash"],
            previous_hash=data["previous_hash"],
            seen_at=data["seen_at"],
        )


@domain_event("PostWithdrawn", version=1)
@dataclass(frozen=True, kw_only=True, slots=True)
class PostWithdrawn:
    source: str
    post_id: str
    last_hash: str
    seen_at: str
