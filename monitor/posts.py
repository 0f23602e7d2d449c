"""A post as every source kind yields it, and the content hash that decides what is a real revision."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

_SPACE = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


@dataclass(frozen=True, kw_only=True, slots=True)
class Post:
    """One live-blog update or feed entry.

    `post_id` is stable across polls: the publisher's id or URL fragment when there is one,
    otherwise a derivation documented by the source kind. Times are time-zone aware.
    """

    post_id: str
    title: str = ""
    paragraphs: tuple[str, ...] = ()
    captions: tuple[str, ...] = ()
    published: datetime | None = None
    modified: datetime | None = None
    byline: tuple[str, ...] = ()
    url: str = ""

    def text(self) -> str:
        """The post's text as the extractor joins it: title, paragraphs, captions, one per line.

        Claim `span`s are offsets into exactly this string.
        """
        parts = [self.title, *self.paragraphs, *self.captions]
        return "\n".join(p for p in parts if p)

    def content_hash(self) -> str:
        """SHA-256 of the normalised content; whitespace-only changes give the same hash."""
        content = {
            "title": _norm(self.title),
            "paragraphs": [_norm(p) for p in self.paragraphs if _norm(p)],
            "captions": [_norm(c) for c in self.captions if _norm(c)],
        }
        raw = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()

    def to_payload(self) -> dict[str, Any]:
        """The post as a JSON-ready dict (the body of PostPublished and PostRevised)."""
        return {
            "post_id": self.post_id,
            "title": self.title,
            "paragraphs": list(self.paragraphs),
            "captions": list(self.captions),
            "published": self.published.isoformat() if self.published else None,
            "modified": self.modified.isoformat() if self.modified else None,
            "byline": list(self.byline),
            "url": self.url,
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Post:
        """Rebuild a post from `to_payload`'s dict (unknown keys are ignored)."""
        pub = data.get("published")
        mod = data.get("modified")
        return cls(
            post_id=str(data["post_id"]),
            title=str(data.get("title") or ""),
            paragraphs=tuple(data.get("paragraphs") or ()),
            captions=tuple(data.get("captions") or ()),
            published=datetime.fromisoformat(pub) if pub else None,
            modified=datetime.fromisoformat(mod) if mod else None,
            byline=tuple(data.get("byline") or ()),
            url=str(data.get("url") or ""),
        )
