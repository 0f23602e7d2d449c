"""A stand-in extractor for unit tests: each line of a post's text is one claim, written as
`KIND ACTOR TOPIC [parties=A,B] [key=value ...]` (values that look like integers become ints).

It is a pure function of the post's text, like the real extractor, so revisions and repeats act
exactly as they would with it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.claims.model import Claim
from monitor.posts import Post
from monitor.views import NegotiationProjection
from monitor.views.state import ViewState
from store.records import RecordedEvent

T0 = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


def script_extract(post: Post) -> list[Claim]:
    claims = []
    text = post.text()
    offset = 0
    for line in text.split("\n"):
        words = line.split()
        if len(words) >= 3 and words[0] in {
            "demand",
            "proposal",
            "rejection",
            "agreement",
            "fulfilment",
        }:
            attrs: dict[str, Any] = {}
            parties: tuple[str, ...] = ()
            for word in words[3:]:
                key, _, value = word.partition("=")
                if key == "parties":
                    parties = tuple(value.split(","))
                else:
                    attrs[key] = int(value) if value.isdigit() else value
            claims.append(
                Claim(
                    post_id=post.post_id,
                    kind=words[0],  # type: ignore[arg-type]
                    actor=words[1],
                    topic=words[2],
                    parties=parties,
                    attrs=attrs,
                    quote=line,
                    span=(offset, offset + len(line)),
                    rule="script",
                )
            )
        offset += len(line) + 1
    return claims


def post(post_id: str, *lines: str, title: str = "", minutes: int = 0) -> Post:
    """A post whose paragraphs are claim lines, published `minutes` after T0."""
    return Post(
        post_id=post_id,
        title=title,
        paragraphs=tuple(lines),
        published=T0 + timedelta(minutes=minutes),
    )


def projection(**options: Any) -> NegotiationProjection:
    return NegotiationProjection(script_extract, **options)


def fold(
    proj: NegotiationProjection, events: list[RecordedEvent], state: ViewState | None = None
) -> tuple[ViewState, dict[str, dict[str, dict[str, Any]]]]:
    """Apply events; return the state and the rows the changes built, as view -> key -> row."""
    state = proj.initial_state() if state is None else state
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    for event in events:
        state, changes = proj.apply(state, event)
        for change in changes:
            table = rows.setdefault(change.view, {})
            if change.row is None:
                table.pop(change.key, None)
            else:
                table[change.key] = dict(change.row)
    return state, {v: t for v, t in rows.items() if t}
