"""The alerts audit: which alerts the rules call for, recomputed by replay, against the delivery trail.

    checks = check_alerts(store, projection, rules, channels, since=moment)
    mismatches = [c for c in checks if c.mismatch]

The replay folds the log from an empty state (nothing written, nothing sent) and asks
`alerts.rules.alerts_for` what each event's row changes call for, with the rows as they were just
before that event: the daemon's views hand the alerts hook every event's changes, whatever their
batch size (`monitor.views.changelog`), so its outbox holds exactly these messages. Each expected
message (`<alert key>@<channel>`) is then looked up in the trail
(`AlertRaised`/`AlertDelivered`/`AlertFailed`) and the pending outbox:

- `delivered`, `failed`, `pending`: the message is there, in that state;
- `coalesced`: not there, and need not be: a trail written by an older version, whose views
  alerted on each batch's coalesced rows, never alerted on a state a later event of the same
  batch moved on from. Not a mismatch;
- `missing`: the rules call for an alert on the row's *final* state (the last alert the rules
  call for on that row, whose row version is the row's version at the end of the log) and the
  trail has no message on that row with that version. A mismatch;
- `unexpected`: the trail holds a message no rule calls for, on a row version the row never had
  (rules changed since, or the trail does not come from this log). A mismatch. A trail message
  whose key differs from every expected one but whose row version the row did have is the
  batched form of a change (a runner that committed finer or coarser batches than the appends):
  it keeps its delivery status, with a note.

So the audit proves that every row's latest alert-worthy state was alerted and that no alert
describes a state the log never produced; it cannot prove that an intermediate alert was not lost
when the same row alerted again later (the later alert is there).

`since` limits both sides to alerts arising from events recorded at or after it (and trail entries
at or after it), for logs that ran without alerts for a while.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alerts import events as trail_events
from alerts.rules import Rule, alerts_for, row_version
from alerts.trail import TrailRow, trail_rows
from monitor.audit.replay import BATCH_SIZE
from monitor.views.projection import NegotiationProjection
from store.mapper import from_recorded
from store.ports import EventStore

MISMATCHES = ("missing", "unexpected")


@dataclass(frozen=True, kw_only=True, slots=True)
class AlertCheck:
    """One alert message and where it stands against the rules."""

    id: str  # the message key, `<view>:<row key>:<change>:<row version>@<channel>`
    view: str
    row_key: str
    change: str
    channel: str
    status: str  # delivered, failed, pending, coalesced, missing, unexpected
    position: int | None = None  # the event that called for it (None: unexpected)
    detail: str = ""

    @property
    def mismatch(self) -> bool:
        return self.status in MISMATCHES

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "view": self.view,
            "row_key": self.row_key,
            "change": self.change,
            "channel": self.channel,
            "status": self.status,
            "position": self.position,
            "detail": self.detail,
        }


def parse_message_key(key: str) -> tuple[str, str, str, str, str]:
    """(view, row key, change, row version, channel) of a message key (row keys may hold ':')."""
    alert_key, _, channel = key.rpartition("@")
    view, _, rest = alert_key.partition(":")
    row_key, change, version = [*rest.rsplit(":", 2), "", ""][:3]
    return view, row_key, change, version, channel


class _Recording(dict[Any, Any]):
    """The projection's emitted rows, remembering each key's value before the current event."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.old: dict[Any, Any] = {}

    def __setitem__(self, key: Any, value: Any) -> None:
        if key not in self.old:
            self.old[key] = self.get(key)
        super().__setitem__(key, value)

    def __delitem__(self, key: Any) -> None:
        if key not in self.old:
            self.old[key] = self.get(key)
        super().__delitem__(key)


@dataclass(frozen=True, kw_only=True, slots=True)
class Expected:
    """What the rules call for, append by append: the messages, each row's versions and final version."""

    messages: list[tuple[int, str]]  # (position, message key), in log order
    versions: dict[tuple[str, str], set[str]]  # (view, row key) -> every row version it had
    final: dict[tuple[str, str], str]  # (view, row key) -> its row version at the end


def expected_messages(
    store: EventStore,
    projection: NegotiationProjection,
    rules: Sequence[Rule],
    channels: Sequence[str],
    *,
    since: datetime | None = None,
) -> Expected:
    """Replay the log in memory, one event at a time, and collect what the rules call for, as the
    daemon's views do whatever their batch size: each event's changes against the rows just before it.
    """
    state = projection.initial_state()
    emitted = _Recording(state.emitted)
    state.emitted = emitted
    out: list[tuple[int, str]] = []
    seen: set[str] = set()
    versions: dict[tuple[str, str], set[str]] = {}
    final: dict[tuple[str, str], str] = {}
    for event in store.read(1, batch_size=BATCH_SIZE):
        emitted.old = {}
        state, changes = projection.apply(state, event)
        for change in changes:
            version = row_version(change.view, change.row)
            versions.setdefault((change.view, change.key), set()).add(version)
            final[(change.view, change.key)] = version
        if not changes or not channels or (since is not None and event.recorded_at < since):
            continue
        before = {k: v for k, v in emitted.old.items() if v is not None}
        for message in alerts_for(changes, rules, channels=channels, before=before):
            if message.key not in seen:
                seen.add(message.key)
                out.append((event.position, message.key))
    return Expected(messages=out, versions=versions, final=final)


def trail(store: EventStore) -> list[TrailRow]:
    """Every alert message the trail and the pending outbox know, with its state."""
    recorded = store.read(event_types=list(trail_events.TRAIL_TYPES), batch_size=BATCH_SIZE)
    return trail_rows((from_recorded(r) for r in recorded), store.pending_outbox(100_000))


def check_alerts(
    store: EventStore,
    projection: NegotiationProjection,
    rules: Sequence[Rule],
    channels: Sequence[str],
    *,
    since: datetime | None = None,
    known: Iterable[TrailRow] | None = None,
) -> list[AlertCheck]:
    """Every expected and every recorded alert message, classified (see the module docstring)."""
    rows = {
        r.id: r
        for r in (trail(store) if known is None else known)
        if since is None or not r.at or datetime.fromisoformat(r.at) >= since
    }
    expected = expected_messages(store, projection, rules, channels, since=since)
    expected_ids = {key for _, key in expected.messages}
    alerted: dict[tuple[str, str, str], set[str]] = {}  # (view, row, channel) -> versions alerted
    for key in rows:
        view, row_key, _, version, channel = parse_message_key(key)
        alerted.setdefault((view, row_key, channel), set()).add(version)
    last: dict[tuple[str, str, str], str] = {}
    for _, key in expected.messages:
        view, row_key, _, _, channel = parse_message_key(key)
        last[(view, row_key, channel)] = key
    checks: list[AlertCheck] = []
    for position, key in expected.messages:
        view, row_key, change, version, channel = parse_message_key(key)
        ident = (view, row_key, channel)
        row = rows.get(key)
        if row is not None:
            status, detail = row.status, row.detail
        elif (
            last[ident] == key
            and expected.final.get((view, row_key)) == version
            and version not in alerted.get(ident, set())
        ):
            status, detail = (
                "missing",
                "the rules call for it and the trail has no alert on this state",
            )
        else:
            status, detail = (
                "coalesced",
                "superseded by a later state of the row (one batch may hold both)",
            )
        checks.append(
            AlertCheck(
                id=key,
                view=view,
                row_key=row_key,
                change=change,
                channel=channel,
                status=status,
                position=position,
                detail=detail,
            )
        )
    for key in sorted(set(rows) - expected_ids):
        view, row_key, change, version, channel = parse_message_key(key)
        if view in ("test", "digest") or change in ("test", "digest"):
            continue  # `parley alerts test` and digests are not rule alerts
        if version in expected.versions.get((view, row_key), set()):
            status, detail = rows[key].status, "batched form: a state the row did have"
        else:
            status, detail = (
                "unexpected",
                f"{rows[key].status} in the trail; the row never had this state",
            )
        checks.append(
            AlertCheck(
                id=key,
                view=view,
                row_key=row_key,
                change=change,
                channel=channel,
                status=status,
                detail=detail,
            )
        )
    return checks
