"""Provenance from the log alone: the history of one view row, and what changed between two moments.

    history = row_history(store, extract, view="open_demands", key="UKR|ceasefire|*")
    changes = views_diff(store, projection, from_position=10, to_position=22)

Both fold the log in memory from position 1 with the same projection the daemon runs (nothing is
written). `row_history` wraps the extractor so it also sees the claims each post was read into:
every event that changed the row is listed with its position, recorded time, source, post id and
URL, and the claims of that post on the row's topic (kind, actor, quote and the rule that read it).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.audit.replay import BATCH_SIZE, field_differences
from monitor.claims.model import Claim
from monitor.events import post_stream
from monitor.posts import Post
from monitor.views.projection import NegotiationProjection
from monitor.views.state import VIEWS
from store.ports import EventStore
from store.records import RecordedEvent

Extractor = Callable[[Post], Sequence[Claim]]
EVENTS_PER_ROW = 50
"""How many of the events that changed a row `views_diff` lists (the count is always given)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Touch:
    """One event that changed the row: where it is in the log, which post, what it said."""

    position: int
    recorded_at: str
    event_type: str
    source: str
    post_id: str
    url: str
    change: str  # new, changed, removed
    status: str | None  # the row's status after the event (None once removed)
    fields: list[str]  # the row's fields this event changed
    claims: list[dict[str, str]]  # the post's claims on the row's topic: kind, actor, quote, rule

    def to_json(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "recorded_at": self.recorded_at,
            "event_type": self.event_type,
            "source": self.source,
            "post_id": self.post_id,
            "url": self.url,
            "change": self.change,
            "status": self.status,
            "fields": self.fields,
            "claims": self.claims,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class RowHistory:
    """A row's whole life in the log, and the row as it stands at the end."""

    view: str
    key: str
    touches: list[Touch]
    row: dict[str, Any] | None

    def to_json(self) -> dict[str, Any]:
        return {
            "view": self.view,
            "key": self.key,
            "row": self.row,
            "events": [t.to_json() for t in self.touches],
            "status_over_time": [
                {"position": t.position, "recorded_at": t.recorded_at, "status": t.status}
                for t in self.touches
            ],
        }


@dataclass(slots=True)
class _Capture:
    extract: Extractor
    claims: list[Claim] = field(default_factory=list)

    def __call__(self, post: Post) -> Sequence[Claim]:
        found = list(self.extract(post))
        self.claims.extend(found)
        return found


def _options(projection_options: dict[str, Any] | None) -> dict[str, Any]:
    return dict(projection_options or {})


def find_views(
    store: EventStore, extract: Extractor, key: str, *, options: dict[str, Any] | None = None
) -> list[str]:
    """The views that have (or once had) a row `key`: a fold of the whole log."""
    projection = NegotiationProjection(extract, **_options(options))
    state = projection.initial_state()
    seen: set[str] = set()
    for event in store.read(1, batch_size=BATCH_SIZE):
        state, changes = projection.apply(state, event)
        seen.update(c.view for c in changes if c.key == key)
    return [v for v in VIEWS if v in seen]


def row_history(
    store: EventStore,
    extract: Extractor,
    *,
    view: str,
    key: str,
    to_position: int | None = None,
    options: dict[str, Any] | None = None,
) -> RowHistory:
    """Every event up to `to_position` (default: the head) that changed row `key` of `view`."""
    capture = _Capture(extract)
    projection = NegotiationProjection(capture, **_options(options))
    state = projection.initial_state()
    touches: list[Touch] = []
    row: dict[str, Any] | None = None
    for event in store.read(1, to_position=to_position, batch_size=BATCH_SIZE):
        capture.claims = []
        state, changes = projection.apply(state, event)
        for change in changes:
            if change.view != view or change.key != key:
                continue
            after = None if change.row is None else dict(change.row)
            touches.append(_touch(store, event, row, after, capture.claims))
            row = after
    return RowHistory(view=view, key=key, touches=touches, row=row)


def _touch(
    store: EventStore,
    event: RecordedEvent,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    claims: list[Claim],
) -> Touch:
    data = event.data
    post = data.get("post") if isinstance(data.get("post"), dict) else None
    source = str(data.get("source", ""))
    post_id = str(post.get("post_id", "")) if post else str(data.get("post_id", ""))
    url = str(post.get("url", "")) if post else _last_url(store, source, post_id)
    topic = str((after or before or {}).get("topic", ""))
    change = "new" if before is None else "removed" if after is None else "changed"
    moved = sorted(
        {
            path.split(".")[0]
            for path, _, _ in field_differences(before or {}, after or {})
            if not path.startswith(("provenance", "key"))
        }
    )
    return Touch(
        position=event.position,
        recorded_at=event.recorded_at.isoformat(),
        event_type=event.event_type,
        source=source,
        post_id=post_id,
        url=url,
        change=change,
        status=None if after is None else after.get("status"),
        fields=moved,
        claims=[
            {"kind": c.kind, "actor": c.actor, "quote": c.quote, "rule": c.rule}
            for c in claims
            if c.topic == topic
        ],
    )


def _last_url(store: EventStore, source: str, post_id: str) -> str:
    """A withdrawn post's URL, from the last version of it the log holds."""
    url = ""
    for e in store.read_stream(post_stream(source, post_id)):
        post = e.data.get("post")
        if isinstance(post, dict) and post.get("url"):
            url = str(post["url"])
    return url


# Diff between two moments ----------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True, slots=True)
class RowDiff:
    """One row that differs between two moments, and the events in between that changed it."""

    view: str
    key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    positions: list[int]  # the first EVENTS_PER_ROW events that changed it
    events: int  # how many did

    @property
    def change(self) -> str:
        return "new" if self.before is None else "removed" if self.after is None else "changed"

    def fields(self) -> list[tuple[str, Any, Any]]:
        """(path, before, after) of every differing leaf, provenance left out."""
        return [
            d
            for d in field_differences(self.before or {}, self.after or {})
            if not d[0].startswith("provenance")
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "view": self.view,
            "key": self.key,
            "change": self.change,
            "fields": [{"field": p, "from": a, "to": b} for p, a, b in self.fields()],
            "events": self.events,
            "positions": self.positions,
            "before": self.before,
            "after": self.after,
        }


def views_diff(
    store: EventStore,
    projection: NegotiationProjection,
    *,
    from_position: int,
    to_position: int,
) -> list[RowDiff]:
    """Rows that differ between just after `from_position` and just after `to_position`.

    Raises `ValueError` when `from_position` is after `to_position`.
    """
    if from_position > to_position:
        raise ValueError(f"--from ({from_position}) is after --to ({to_position})")
    state = projection.initial_state()
    for event in store.read(1, to_position=from_position, batch_size=BATCH_SIZE):
        state, _ = projection.apply(state, event)
    before = copy.deepcopy(state.emitted)  # the fold goes on from this state
    touched: dict[tuple[str, str], list[int]] = {}
    counts: dict[tuple[str, str], int] = {}
    after: dict[tuple[str, str], Any] = {}  # each touched row's last change: the row at the end
    if to_position > from_position:
        for event in store.read(from_position + 1, to_position=to_position, batch_size=BATCH_SIZE):
            state, changes = projection.apply(state, event)
            for change in changes:
                ident = (change.view, change.key)
                after[ident] = change.row
                counts[ident] = counts.get(ident, 0) + 1
                listed = touched.setdefault(ident, [])
                if len(listed) < EVENTS_PER_ROW and (not listed or listed[-1] != event.position):
                    listed.append(event.position)
    out: list[RowDiff] = []
    for ident in sorted(touched):
        # from the change, not the state: a row that can no longer change leaves the state
        old, new = before.get(ident), after[ident]
        if old == new:
            continue
        out.append(
            RowDiff(
                view=ident[0],
                key=ident[1],
                before=None if old is None else dict(old),
                after=None if new is None else dict(new),
                positions=touched[ident],
                events=counts[ident],
            )
        )
    return out
