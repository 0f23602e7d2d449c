"""Test material: the seed page as post events, hand-made gold-shaped claims, and the gold views."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from monitor.claims.model import Claim
from monitor.events import PostPublished, PostRevised, PostWithdrawn, post_stream
from monitor.posts import Post
from store.mapper import to_new_event, to_payload
from store.records import NewEvent, RecordedEvent

SOURCE = "bbc-istanbul"
SEED = "seed/istanbul-talks-2025-06-02.json"
GOLD = "gold/istanbul-talks-2025-06-02.gold.yaml"


def seed_posts(shared_dir: Path) -> list[Post]:
    """The seed page's posts, oldest first (as the monitor would first see them)."""
    doc = json.loads((shared_dir / SEED).read_text())
    posts = [
        Post(
            post_id=p["id"],
            title=p.get("title") or "",
            paragraphs=tuple(p.get("paragraphs") or ()),
            captions=tuple(i["caption"] for i in p.get("images") or () if i.get("caption")),
            published=datetime.fromisoformat(p["published"]),
        )
        for p in doc["posts"]
    ]
    return sorted(posts, key=lambda p: (p.published, p.post_id))


def published(post: Post, source: str = SOURCE) -> PostPublished:
    return PostPublished(
        source=source, post=post, content_hash=post.content_hash(), seen_at=_seen(post)
    )


def revised(post: Post, previous: Post, source: str = SOURCE) -> PostRevised:
    return PostRevised(
        source=source,
        post=post,
        content_hash=post.content_hash(),
        previous_hash=previous.content_hash(),
        seen_at=_seen(post),
    )


def withdrawn(post: Post, source: str = SOURCE) -> PostWithdrawn:
    return PostWithdrawn(
        source=source, post_id=post.post_id, last_hash=post.content_hash(), seen_at=_seen(post)
    )


def _seen(post: Post) -> str:
    return (post.published or datetime(2025, 6, 2, tzinfo=UTC)).isoformat()


def new_events(events: Iterable[PostPublished | PostRevised | PostWithdrawn]) -> list[NewEvent]:
    """Domain events wrapped for `EventStore.append`, one stream per post."""
    out = []
    for i, ev in enumerate(events):
        post_id = ev.post_id if isinstance(ev, PostWithdrawn) else ev.post.post_id
        out.append(
            to_new_event(
                ev,
                stream_id=post_stream(ev.source, post_id),
                idempotency_key=f"{type(ev).__name__}:{ev.source}:{post_id}:{i}",
            )
        )
    return out


def recorded(events: Sequence[Any], start: int = 1) -> list[RecordedEvent]:
    """Domain events as the store would hand them back, at positions from `start` (no I/O)."""
    out = []
    for offset, ev in enumerate(events):
        out.append(
            RecordedEvent(
                position=start + offset,
                stream_id="s",
                stream_version=1,
                event_type=type(ev).event_type,
                schema_version=1,
                recorded_at=datetime(2025, 6, 2, 18, 0, tzinfo=UTC),
                idempotency_key=f"k{start + offset}",
                data=to_payload(ev),
                prev_hash="0" * 64,
                hash="0" * 64,
            )
        )
    return out


def claim(post_id: str, kind: str, actor: str, topic: str, quote: str = "", **attrs: Any) -> Claim:
    """A hand-made claim; `parties=` goes to parties, every other keyword to attrs."""
    parties = tuple(attrs.pop("parties", ()))
    return Claim(
        post_id=post_id,
        kind=kind,  # type: ignore[arg-type]
        actor=actor,
        topic=topic,
        parties=parties,
        attrs=attrs,
        quote=quote or f"{actor} {kind} {topic}",
        span=(0, len(quote)),
    )


RU_UA = ("RUS", "UKR")

# The gold's required claims, as a good extractor would give them (with the attributes the views
# need); the gold's optional claims with a "*" topic are in too, to show they make no rows.
GOLD_CLAIMS: dict[str, list[Claim]] = {
    "post-01": [
        claim(
            "post-01",
            "agreement",
            "RUS",
            "prisoner_exchange",
            "prisoners exchanged",
            parties=RU_UA,
            categories=["sick", "seriously wounded", "under 25"],
        ),
        claim(
            "post-01",
            "rejection",
            "RUS",
            "ceasefire",
            "Russia again rejected an unconditional ceasefire",
        ),
        claim("post-01", "demand", "UKR", "ceasefire", "a key demand by Kyiv", unconditional=True),
        claim(
            "post-01",
            "proposal",
            "RUS",
            "ceasefire",
            "proposed a two-to-three day truce",
            duration="P2D/P3D",
            scope="partial",
        ),
        claim(
            "post-01",
            "agreement",
            "RUS",
            "bodies_return",
            "Russia would hand over the bodies of 6,000",
            parties=RU_UA,
            count=6000,
            due="next week",
        ),
        claim(
            "post-01",
            "proposal",
            "RUS",
            "peace_terms",
            "a memorandum from Russia",
            document="memorandum",
        ),
        claim(
            "post-01",
            "demand",
            "UKR",
            "sanctions",
            "called for further sanctions",
            direction="impose",
        ),
    ],
    "post-02": [
        claim(
            "post-02",
            "demand",
            "UKR",
            "ceasefire",
            "Ukraine's demand to cease fire for 30 days",
            duration="P30D",
        ),
        claim("post-02", "rejection", "RUS", "ceasefire", "Russia is still refusing"),
        claim(
            "post-02",
            "proposal",
            "RUS",
            "peace_terms",
            "the memorandum handed to the Ukrainians",
            document="memorandum",
        ),
        claim("post-02", "demand", "UKR", "leaders_meeting", "Kyiv's demand for a meeting"),
    ],
    "post-03": [
        claim(
            "post-03",
            "agreement",
            "RUS",
            "bodies_return",
            "agreed to return the remains of 6,000",
            parties=RU_UA,
            count=6000,
        ),
        claim(
            "post-03",
            "proposal",
            "RUS",
            "ceasefire",
            "offered a two to three day ceasefire",
            duration="P2D/P3D",
        ),
    ],
    "post-04": [
        claim("post-04", "rejection", "RUS", "ceasefire", "Russia, again, rejected"),
        claim(
            "post-04",
            "demand",
            "UKR",
            "ceasefire",
            "Ukraine's key demands, of an unconditional ceasefire",
        ),
        claim(
            "post-04",
            "demand",
            "UKR",
            "leaders_meeting",
            "by the end of the month",
            due="2025-06-30",
        ),
        claim("post-04", "demand", "UKR", "sanctions", "called for further sanctions"),
        claim("post-04", "demand", "RUS", "*", "Russian officials continue to voice demands"),
    ],
    "post-05": [
        claim(
            "post-05",
            "proposal",
            "TUR",
            "leaders_meeting",
            "meet in Istanbul or Ankara",
            place=["Istanbul", "Ankara"],
        ),
    ],
    "post-06": [
        claim(
            "post-06",
            "proposal",
            "RUS",
            "ceasefire",
            "Russia offered a two to three day ceasefire",
            duration="P2D/P3D",
        ),
        claim("post-06", "proposal", "RUS", "peace_terms", "passed on a memorandum"),
        claim(
            "post-06",
            "demand",
            "UKR",
            "ceasefire",
            "called for a 30-day ceasefire",
            duration="P30D",
        ),
    ],
    "post-07": [
        claim(
            "post-07",
            "agreement",
            "RUS",
            "bodies_return",
            "Russia to hand remains of 6,000 soldiers to Ukraine",
            parties=RU_UA,
            count=6000,
        ),
        claim(
            "post-07",
            "agreement",
            "RUS",
            "bodies_return",
            "Russia has agreed to hand over the remains of 6,000 soldiers",
            parties=RU_UA,
            count=6000,
            due="next week",
        ),
    ],
    "post-09": [
        claim(
            "post-09",
            "demand",
            "UKR",
            "children_return",
            "children to be returned",
            count="hundreds",
        ),
        claim(
            "post-09",
            "demand",
            "UKR",
            "children_return",
            "Ukraine asks for children to be returned",
        ),
    ],
    "post-10": [claim("post-10", "rejection", "RUS", "ceasefire", "Russia rejected a ceasefire")],
    "post-11": [
        claim("post-11", "rejection", "RUS", "ceasefire", "Russia refused a ceasefire"),
        claim(
            "post-11",
            "demand",
            "UKR",
            "mediation",
            "the US to take part and monitor",
            mediator="USA",
        ),
        claim("post-11", "demand", "UKR", "ceasefire", "a ceasefire is the base"),
    ],
    "post-12": [
        claim(
            "post-12",
            "agreement",
            "UKR",
            "prisoner_exchange",
            "exchange of seriously wounded or ill, aged 18-25",
            parties=RU_UA,
            categories=["seriously wounded", "ill", "aged 18-25"],
        ),
        claim("post-12", "agreement", "UKR", "bodies_return", "return of bodies", parties=RU_UA),
        claim("post-12", "demand", "UKR", "ceasefire", "demand a ceasefire"),
        claim("post-12", "demand", "UKR", "leaders_meeting", "a leaders' meeting"),
        claim("post-12", "demand", "UKR", "sanctions", "more sanctions"),
    ],
    "post-19": [claim("post-19", "demand", "UKR", "sanctions", "sanctions at G7 level")],
}


def gold_extractor(post: Post) -> list[Claim]:
    """Stands in for the extractor with the gold's claims, by post id."""
    return list(GOLD_CLAIMS.get(post.post_id, []))


def gold_views(shared_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """The `views:` section of the seed gold."""
    data = yaml.safe_load((shared_dir / GOLD).read_text())
    return dict(data["views"])


def view_mismatches(views: dict[str, Any], gold: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Every difference between the rows and the gold rows: a missing or spurious row, two rows
    for one gold row, a demand's `rejected_by` and status, an exchange's status, count and due."""
    problems: list[str] = []
    identity: dict[str, Callable[[dict[str, Any]], tuple[Any, ...]]] = {
        "open_demands": lambda r: (r["actor"], r["topic"]),
        "agreed_exchanges": lambda r: (r["topic"], tuple(r["parties"])),
        "proposals": lambda r: (r["actor"], r["topic"]),
    }
    for view, ident in identity.items():
        rows = {ident(r): r for r in views[view]["rows"]}
        if len(rows) != len(views[view]["rows"]):
            problems.append(f"{view}: two rows share an identity")
        wanted = {ident(g): g for g in gold[view]}
        for key in sorted(set(rows) - set(wanted)):
            problems.append(f"{view}: spurious row {key}")
        for key in sorted(set(wanted) - set(rows)):
            problems.append(f"{view}: missing row {key}")
        for key in sorted(set(rows) & set(wanted)):
            row, want = rows[key], wanted[key]
            if view == "open_demands":
                expect = sorted(want.get("rejected_by", []))
                if row["rejected_by"] != expect:
                    problems.append(f"{view} {key}: rejected_by {row['rejected_by']} != {expect}")
                status = "rejected" if expect else "open"
                if row["status"] != status:
                    problems.append(f"{view} {key}: status {row['status']} != {status}")
            if view == "agreed_exchanges":
                for field in ("status", "count", "due"):
                    found_values = [row[field]] + ([row.get("due_text")] if field == "due" else [])
                    if field in want and want[field] not in found_values:
                        problems.append(f"{view} {key}: {field} {row[field]!r} != {want[field]!r}")
    return problems
