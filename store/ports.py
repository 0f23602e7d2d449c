"""The store's ports: the narrow interfaces the rest of Parley codes against.

`store.sqlite.SQLiteEventStore` and `store.postgres.PostgresEventStore` implement `EventStore`;
`store.open_store(url)` picks one from a database URL.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from store.records import (
    Head,
    JSONValue,
    NewEvent,
    OutboxEntry,
    OutboxMessage,
    RecordedEvent,
    RowChange,
)

if TYPE_CHECKING:
    from store.lease import LeaseInfo

S = TypeVar("S")


class EventStore(Protocol):
    """An append-only, hash-chained event log with projection checkpoints and view rows."""

    url_for_display: str  # the database URL with any password masked

    def migrate(self) -> None:
        """Create or upgrade the schema (idempotent). Called by `open_store`."""

    def append(self, events: Sequence[NewEvent]) -> list[int]:
        """Append a batch, all or nothing; return each event's position (existing one for a repeated key)."""

    def read(
        self,
        from_position: int = 1,
        *,
        to_position: int | None = None,
        batch_size: int = 1000,
        event_types: Sequence[str] | None = None,
    ) -> Iterator[RecordedEvent]:
        """Stream events in position order from `from_position`, in batches (constant memory)."""

    def read_stream(self, stream_id: str) -> list[RecordedEvent]:
        """Every event of one stream, in stream-version order."""

    def follow(
        self, from_position: int = 1, *, idle_timeout: float | None = None
    ) -> Iterator[RecordedEvent]:
        """Yield events from `from_position`, then wait for new ones; never skips a position.

        Stops after `idle_timeout` seconds without a new event, or when `close()` is called.
        """

    def head(self) -> Head:
        """The newest event's position and hash."""

    def close(self) -> None:
        """Release connections; wakes any `follow()` so it returns."""

    # Projections -----------------------------------------------------------------------------
    def checkpoint(self, projection: str) -> tuple[int, JSONValue | None]:
        """The projection's last applied position and its saved state (0 and None when new)."""

    def commit_projection(
        self,
        projection: str,
        *,
        position: int,
        state: JSONValue | None,
        changes: Sequence[RowChange],
        outbox: Sequence[OutboxMessage] = (),
        expected_position: int | None = None,
    ) -> None:
        """Write row changes, outbox messages, the state and the checkpoint in one transaction.

        `expected_position` is the checkpoint the caller started from; when omitted, the one this
        store object last read or wrote for `projection`. Raises `store.errors.ConcurrencyError`
        if the checkpoint moved since it was read, or if `position` is not ahead of it.
        """

    def view_rows(self, projection: str, view: str) -> list[Mapping[str, JSONValue]]:
        """The current rows of one view, sorted by key."""

    def reset_projection(self, projection: str) -> None:
        """Forget a projection's rows, state and checkpoint (for a replay); keeps its outbox."""

    def wait(self, after_position: int, timeout: float) -> bool:
        """Block until an event after `after_position` exists (True), `timeout` passes or `close()` (False)."""

    # Meta: small operational state beside the log (not events) ------------------------------
    def put_meta(self, namespace: str, key: str, value: JSONValue) -> None:
        """Store `value` (JSON) under (`namespace`, `key`), replacing any earlier value."""

    def get_meta(self, namespace: str) -> dict[str, JSONValue]:
        """Every key of `namespace` and its value ({} when there is none)."""

    # Outbox ----------------------------------------------------------------------------------
    def pending_outbox(self, limit: int = 100, *, now: datetime | None = None) -> list[OutboxEntry]:
        """Pending messages, oldest first, whose next attempt is due at `now` (all pending if None)."""

    def mark_outbox(
        self,
        key: str,
        *,
        status: str,
        attempts: int,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
    ) -> None:
        """Record a delivery attempt: status "pending" (retry at `next_attempt_at`), "delivered" or "failed".

        Raises `store.errors.NotFoundError` for an unknown key, `ValueError` for an unknown status.
        """


class LeaseStore(Protocol):
    """Leases (`store.lease`): which process runs a piece of work until when, by compare-and-set.

    Both backends implement it; `store.lease.lease_store(store)` gives it for an open store.
    """

    def claim_leases(
        self, names: Sequence[str], holder: str, ttl: float, *, replacing: Collection[str] = ()
    ) -> list[LeaseInfo]:
        """Take or renew `names` for `holder` for `ttl` seconds where each is missing, expired,
        already `holder`'s or held by one of `replacing`; return those `holder` now holds."""

    def release_leases(self, names: Sequence[str], holder: str, *, forget: bool = False) -> int:
        """End `holder`'s leases among `names` now (`forget`: delete the rows); return how many."""

    def leases(self, prefix: str = "") -> list[LeaseInfo]:
        """Every lease whose name starts with `prefix`, as the database sees it now."""


class Projection(Protocol[S]):
    """A pure fold over the log: `(state, event) -> (state, changes)`, with its state as JSON."""

    name: str

    def initial_state(self) -> S: ...

    def apply(self, state: S, event: RecordedEvent) -> tuple[S, list[RowChange]]: ...

    def dump_state(self, state: S) -> JSONValue: ...

    def load_state(self, data: Any) -> S: ...
