"""The simulator's pure core: which posts a live page shows at a given moment of its own timeline.

A page is a dict shaped like `shared/seed/*.json` (`{"page": {...}, "posts": [{"id", "published",
"title", "paragraphs", "byline", "images": [{"alt", "caption"?, "credit"}]}]}`). The timeline starts
at the first (earliest) post; a clock second is `speed` seconds of page time. A script (see
`monitor.simulator.script`) revises or withdraws posts at given page times.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.errors import InputError
from monitor.posts import Post
from monitor.simulator.script import Step


def load_page(path: str | Path) -> dict[str, Any]:
    """Read a live-blog document. Raises InputError naming the file and what is wrong."""
    path = Path(path)
    try:
        page = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read the page: {exc.strerror or exc}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a JSON live-blog document: {exc}") from exc
    check_page(page, str(path))
    return dict(page)


def check_page(page: object, where: str) -> None:
    """Raise InputError unless `page` has posts with unique ids and aware ISO 8601 times."""
    if not isinstance(page, dict) or not isinstance(page.get("posts"), list) or not page["posts"]:
        raise InputError(f"{where}: expected {{'page': {{...}}, 'posts': [...]}} with posts")
    seen: set[str] = set()
    for number, post in enumerate(page["posts"], start=1):
        if not isinstance(post, dict) or not post.get("id") or not post.get("published"):
            raise InputError(f"{where}: post {number} needs an 'id' and a 'published' time")
        if post["id"] in seen:
            raise InputError(f"{where}: post {number}: duplicate id {post['id']!r}")
        seen.add(post["id"])
        try:
            when = datetime.fromisoformat(str(post["published"]))
        except ValueError as exc:
            raise InputError(f"{where}: post {post['id']}: bad 'published' time: {exc}") from exc
        if when.tzinfo is None:
            raise InputError(f"{where}: post {post['id']}: 'published' needs a time zone offset")


def bundled_page_path() -> Path:
    """The seed page shipped with the package (used by `parley demo` without ../shared)."""
    return Path(__file__).parent / "pages" / "istanbul-talks-2025-06-02.json"


def seed_post(data: Mapping[str, Any]) -> Post:
    """A page post as the parsers should read it back: captions are the images' `caption`s."""
    captions = tuple(
        img["caption"]
        for img in data.get("images") or ()
        if isinstance(img, dict) and img.get("caption")
    )
    return Post(
        post_id=str(data["id"]),
        title=str(data.get("title") or ""),
        paragraphs=tuple(data.get("paragraphs") or ()),
        captions=captions,
        published=datetime.fromisoformat(str(data["published"])),
        byline=tuple(data.get("byline") or ()),
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class Snapshot:
    """The page as shown at `at` (page time): posts newest first, with what changed last."""

    at: datetime
    posts: tuple[Post, ...]
    last_change: datetime
    published: int
    total: int
    done: bool
    version: str  # changes whenever anything shown changes


class ManualClock:
    """A clock for tests: stands still until `advance` is called."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Timeline:
    """Maps clock time to page time and computes the page's snapshot. No I/O."""

    def __init__(
        self,
        page: Mapping[str, Any],
        *,
        speed: float = 1.0,
        clock: Callable[[], float] = time.time,
        script: Sequence[Step] = (),
    ) -> None:
        check_page(page, "page")
        if speed <= 0:
            raise InputError(f"speed must be positive, not {speed}")
        self.page = page
        self.speed = speed
        self.clock = clock
        self.script = tuple(sorted(script, key=lambda s: s.at))
        raw = sorted(page["posts"], key=lambda p: datetime.fromisoformat(str(p["published"])))
        self.raw_posts: tuple[Mapping[str, Any], ...] = tuple(raw)
        self.posts = tuple(seed_post(p) for p in raw)
        self.images: dict[str, tuple[Mapping[str, Any], ...]] = {
            str(p["id"]): tuple(i for i in p.get("images") or () if isinstance(i, dict))
            for p in raw
        }
        self.title = str((page.get("page") or {}).get("title") or "Live page")
        self.first = self.posts[0].published
        assert self.first is not None
        self.last = max(
            [p.published for p in self.posts if p.published] + [s.at for s in self.script]
        )
        self.started: float | None = None

    def start(self) -> None:
        """Start the timeline now (idempotent): the first post appears at once."""
        if self.started is None:
            self.started = self.clock()

    def page_time(self) -> datetime:
        """The page's own time now (the first post's time until started)."""
        assert self.first is not None
        if self.started is None:
            return self.first
        elapsed = max(0.0, self.clock() - self.started) * self.speed
        return self.first + timedelta(seconds=elapsed)

    def clock_time_of(self, at: datetime) -> float | None:
        """The clock reading at which page time `at` is reached (None before start)."""
        if self.started is None or self.first is None:
            return None
        return self.started + (at - self.first).total_seconds() / self.speed

    def snapshot(self, at: datetime | None = None) -> Snapshot:
        """What the page shows at page time `at` (default: now)."""
        at = at or self.page_time()
        shown = {p.post_id: p for p in self.posts if p.published and p.published <= at}
        last_change = max((p.published for p in shown.values() if p.published), default=self.first)
        for step in self.script:
            if step.at > at or step.post not in shown:
                continue
            shown = step.apply(shown)
            last_change = max(last_change or step.at, step.at)
        ordered = sorted(shown.values(), key=lambda p: (p.published, p.post_id), reverse=True)
        published = sum(1 for p in self.posts if p.published and p.published <= at)
        digest = hashlib.sha256(
            json.dumps([p.to_payload() for p in ordered], sort_keys=True).encode()
        ).hexdigest()
        assert last_change is not None
        return Snapshot(
            at=at,
            posts=tuple(ordered),
            last_change=last_change,
            published=published,
            total=len(self.posts),
            done=at >= self.last,
            version=digest[:16],
        )
