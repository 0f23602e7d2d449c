"""The delivery trail read back: one line per outbox message, folded from the alert events. Pure.

`trail_rows(events, pending)` takes the decoded `AlertRaised`/`AlertDelivered`/`AlertFailed`
events in log order and the outbox's pending entries, and says for each message where it stands:
`pending` (not yet sent, or waiting for a retry), `delivered` (with the channel's answer) or
`failed` (with the last error). `parley alerts list` prints these.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from alerts import events
from alerts.errors import AlertError
from alerts.model import Alert
from store.records import OutboxEntry


@dataclass(frozen=True, kw_only=True, slots=True)
class TrailRow:
    """Where one outbox message (an alert on a channel) stands."""

    id: str  # the outbox message key: what `parley alerts retry` takes
    channel: str
    title: str
    status: str  # pending, delivered or failed
    attempts: int = 0
    at: str = ""  # when it was raised, delivered or failed (ISO 8601)
    detail: str = ""  # the channel's answer, or the last error

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "channel": self.channel,
            "title": self.title,
            "status": self.status,
            "attempts": self.attempts,
            "at": self.at,
            "detail": self.detail,
        }


def _title(payload: Any) -> str:
    try:
        return Alert.from_payload(payload).headline
    except AlertError:  # an old or odd payload still lists, by key
        return ""


def trail_rows(trail: Iterable[object], pending: Iterable[OutboxEntry] = ()) -> list[TrailRow]:
    """Every message the trail or the outbox knows, sorted by id, latest state winning."""
    rows: dict[str, TrailRow] = {}
    for e in trail:
        if isinstance(e, events.AlertRaised):
            rows[e.message_key] = TrailRow(
                id=e.message_key,
                channel=e.channel,
                title=_title(e.alert),
                status="pending",
                at=e.raised_at,
                detail=f"grouped into {e.grouped_into}" if e.grouped_into else "",
            )
        elif isinstance(e, events.AlertDelivered | events.AlertFailed):
            base = rows.get(e.message_key) or TrailRow(
                id=e.message_key, channel=e.channel, title="", status=""
            )
            if isinstance(e, events.AlertDelivered):
                rows[e.message_key] = replace(
                    base,
                    title=_title(e.alert) or base.title,
                    status="delivered",
                    attempts=e.attempts,
                    at=e.delivered_at,
                    detail=f"{e.status} {e.answer}".strip(),
                )
                for covered in e.covers:
                    if covered in rows:
                        rows[covered] = replace(
                            rows[covered],
                            status="delivered",
                            detail=f"grouped into {e.message_key}",
                        )
            else:
                rows[e.message_key] = replace(
                    base, status="failed", attempts=e.attempts, at=e.failed_at, detail=e.error
                )
                for covered in e.covers:
                    if covered in rows:
                        rows[covered] = replace(
                            rows[covered], status="failed", detail=f"grouped into {e.message_key}"
                        )
    for entry in pending:
        payload = entry.payload
        known = rows.get(entry.key)
        rows[entry.key] = TrailRow(
            id=entry.key,
            channel=str(payload.get("channel", "")),
            title=known.title if known and known.title else _title(payload.get("alert", {})),
            status="pending",
            attempts=entry.attempts,
            at=(entry.next_attempt_at or entry.created_at).isoformat(),
            detail=entry.last_error or "",
        )
    return [rows[k] for k in sorted(rows)]
