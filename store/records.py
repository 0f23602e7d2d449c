"""The records the log stores and hands back: what an append takes, what a read returns.

The store knows nothing of news: an event is a type name, a schema version, a stream and a JSON
payload. Domain packages turn their own frozen dataclasses into these with `store.mapper`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JSONValue = Any  # JSON-serialisable: dict, list, str, int, float, bool, None


@dataclass(frozen=True, kw_only=True, slots=True)
class NewEvent:
    """An event to append.

    `idempotency_key` makes appends safe to repeat: appending an event whose key is already in the
    log appends nothing and returns the existing position. `expected_version`, when given, is the
    version the stream must be at before this event (0 for a new stream); a mismatch raises
    `store.errors.ConcurrencyError` and nothing of the batch is written.
    """

    stream_id: str
    event_type: str
    data: Mapping[str, JSONValue]
    idempotency_key: str
    schema_version: int = 1
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordedEvent:
    """An event as stored: a gap-free global `position`, its place in its stream, and its hash link."""

    position: int
    stream_id: str
    stream_version: int
    event_type: str
    schema_version: int
    recorded_at: datetime
    idempotency_key: str
    data: Mapping[str, JSONValue]
    prev_hash: str
    hash: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Head:
    """The newest event's position and hash: the digest an auditor writes down (0 and the genesis hash when empty)."""

    position: int
    hash: str


@dataclass(frozen=True, kw_only=True, slots=True)
class RowChange:
    """A projector's change to one row of one view: `row=None` deletes the row."""

    view: str
    key: str
    row: Mapping[str, JSONValue] | None


@dataclass(frozen=True, kw_only=True, slots=True)
class OutboxMessage:
    """A message to deliver later, written in the same transaction as the view change that caused it.

    `key` is deterministic (view, row, change, row version): writing the same key twice stores it once.
    """

    key: str
    topic: str
    payload: Mapping[str, JSONValue] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class OutboxEntry:
    """An outbox message as stored, with its delivery state.

    `status` is "pending" (to deliver when `next_attempt_at` is due; None means now), "delivered"
    or "failed" (given up). `attempts` counts delivery attempts so far.
    """

    key: str
    topic: str
    payload: Mapping[str, JSONValue]
    created_at: datetime
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    delivered_at: datetime | None
