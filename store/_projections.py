"""The projection half of `EventStore`: checkpoints, view rows and the outbox, shared by both backends.

A projection's rows, its outbox messages, its saved state and its checkpoint are written in one
transaction, after locking the checkpoint row, so a crash never applies an event twice or skips one
and two runners of the same projection cannot both commit from the same checkpoint.
"""

# SQL here is built only from constant column lists and "?" placeholders, never from values:
# ruff: noqa: S608

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from store._sqlstore import SQLEventStore
from store.canonical import canonical_json
from store.errors import ConcurrencyError, IntegrityError, NotFoundError
from store.meta import MetaTable
from store.records import JSONValue, OutboxEntry, OutboxMessage, RowChange

OUTBOX_STATUSES = ("pending", "delivered", "failed")
_OUTBOX_COLUMNS = (
    "message_key, topic, payload, created_at, status, attempts, next_attempt_at, last_error, "
    "delivered_at"
)


def _state_json(state: JSONValue, *, where: str) -> str:
    """A projection's saved state as JSON text, keys sorted.

    The state is the projection's own data, read back only by `checkpoint`, and it is large (the
    views' is megabytes, saved with every batch), so it is encoded with orjson: five times faster
    than `canonical_json`, and it refuses a non-string key the same way. What orjson cannot
    encode (an integer beyond 64 bits, a lone surrogate) goes through `canonical_json`, which
    raises `SerializationError` for what JSON cannot carry. One difference: a float NaN or
    infinity is written as null, not refused (view rows keep `canonical_json`, which refuses it).
    """
    try:
        return orjson.dumps(state, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:
        return canonical_json(state, where=where)


class ProjectionStore(SQLEventStore, MetaTable):
    """Adds checkpoints, view rows and the outbox to the shared log implementation."""

    _for_update = ""  # PostgreSQL locks the checkpoint row with " FOR UPDATE"

    def checkpoint(self, projection: str) -> tuple[int, JSONValue | None]:
        """The projection's last applied position and its saved state (0 and None when new)."""
        rows = self._query(
            "SELECT position, state FROM projection_checkpoints WHERE projection = ?", [projection]
        )
        if not rows:
            self._checkpoints[projection] = 0
            return 0, None
        position, state = rows[0]
        self._checkpoints[projection] = position
        return position, None if state is None else orjson.loads(state)

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
        """Write row changes, outbox messages, state and checkpoint in one transaction.

        Changes to the same (view, key) are coalesced, the last one winning. Raises
        `ConcurrencyError` when the stored checkpoint is not `expected_position` (by default the
        one this object last read or wrote) or `position` is behind it, `IntegrityError` when
        `position` is beyond the head of the log, `SerializationError` for a row, state or
        message that is not JSON.
        """
        where = f"projection {projection!r}"
        expected = expected_position
        if expected is None:
            expected = self._checkpoints.get(projection)
        state_text = None if state is None else _state_json(state, where=f"{where} state")
        final: dict[tuple[str, str], Mapping[str, JSONValue] | None] = {}
        for change in changes:
            final[(change.view, change.key)] = change.row
        upserts: list[tuple[str, str, str, str]] = []
        deletes: list[tuple[str, str, str]] = []
        for (view, key), row in final.items():
            if row is None:
                deletes.append((projection, view, key))
            else:
                text = canonical_json(row, where=f"{where} view {view!r} row {key!r}")
                upserts.append((projection, view, key, text))
        now = self._time_out(datetime.now(UTC))
        messages = [
            (
                m.key,
                m.topic,
                canonical_json(m.payload, where=f"{where} outbox message {m.key!r}"),
                projection,
                now,
            )
            for m in outbox
        ]
        conn = self._conn()
        with self._guard(f"commit {where}"), self._transaction(conn, append_lock=False):
            conn.execute(
                self._sql(
                    "INSERT INTO projection_checkpoints (projection, position, state, updated_at) "
                    "VALUES (?, 0, NULL, ?) ON CONFLICT (projection) DO NOTHING"
                ),
                [projection, now],
            )
            current = conn.execute(
                self._sql(
                    "SELECT position FROM projection_checkpoints WHERE projection = ?"
                    + self._for_update
                ),
                [projection],
            ).fetchone()[0]
            if expected is not None and current != expected:
                raise ConcurrencyError(
                    f"{where}: checkpoint expected at {expected}, actual {current} "
                    "(another runner committed); nothing was written"
                )
            if position < current or (expected is None and position == current and current > 0):
                raise ConcurrencyError(
                    f"{where}: cannot move the checkpoint from {current} back to {position}"
                )
            head = conn.execute(self._sql("SELECT MAX(position) FROM events")).fetchone()[0] or 0
            if position > head:
                raise IntegrityError(
                    f"{where}: checkpoint {position} is beyond the head of the log ({head})"
                )
            if deletes:
                self._executemany(
                    conn,
                    "DELETE FROM view_rows WHERE projection = ? AND view_name = ? AND row_key = ?",
                    deletes,
                )
            if upserts:
                self._executemany(
                    conn,
                    "INSERT INTO view_rows (projection, view_name, row_key, row_json) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (projection, view_name, row_key) "
                    "DO UPDATE SET row_json = excluded.row_json",
                    upserts,
                )
            if messages:
                self._executemany(
                    conn,
                    "INSERT INTO outbox (message_key, topic, payload, projection, created_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (message_key) DO NOTHING",
                    messages,
                )
            conn.execute(
                self._sql(
                    "UPDATE projection_checkpoints SET position = ?, state = ?, updated_at = ? "
                    "WHERE projection = ?"
                ),
                [position, state_text, now, projection],
            )
        self._checkpoints[projection] = position

    def view_rows(self, projection: str, view: str) -> list[Mapping[str, JSONValue]]:
        """The current rows of one view, sorted by key."""
        rows = self._query(
            "SELECT row_json FROM view_rows WHERE projection = ? AND view_name = ? ORDER BY row_key",
            [projection, view],
        )
        return [json.loads(r[0]) for r in rows]

    def reset_projection(self, projection: str) -> None:
        """Delete the projection's rows, state and checkpoint in one transaction; keeps its outbox."""
        conn = self._conn()
        with (
            self._guard(f"reset projection {projection!r}"),
            self._transaction(conn, append_lock=False),
        ):
            conn.execute(self._sql("DELETE FROM view_rows WHERE projection = ?"), [projection])
            conn.execute(
                self._sql("DELETE FROM projection_checkpoints WHERE projection = ?"), [projection]
            )
        self._checkpoints[projection] = 0

    def checkpoints(self) -> dict[str, int]:
        """Every projection's checkpoint position (used by `verify`)."""
        rows = self._query("SELECT projection, position FROM projection_checkpoints")
        return dict(rows)

    # Outbox ------------------------------------------------------------------------------------
    def pending_outbox(self, limit: int = 100, *, now: datetime | None = None) -> list[OutboxEntry]:
        """Pending messages, oldest first, due at `now` (every pending one when `now` is None)."""
        sql = f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE status = 'pending'"
        params: list[Any] = []
        if now is not None:
            sql += " AND (next_attempt_at IS NULL OR next_attempt_at <= ?)"
            params.append(self._time_out(now))
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)
        return [self._outbox_entry(row) for row in self._query(sql, params)]

    def outbox_entry(self, key: str) -> OutboxEntry:
        """One outbox message by key, whatever its status; `NotFoundError` when unknown."""
        rows = self._query(f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE message_key = ?", [key])
        if not rows:
            raise NotFoundError(f"{self.url_for_display}: no outbox message with key {key!r}")
        return self._outbox_entry(rows[0])

    def mark_outbox(
        self,
        key: str,
        *,
        status: str,
        attempts: int,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
    ) -> None:
        """Record a delivery attempt on message `key` (see `EventStore.mark_outbox`)."""
        if status not in OUTBOX_STATUSES:
            raise ValueError(f"outbox status must be one of {OUTBOX_STATUSES}, not {status!r}")
        now = self._time_out(datetime.now(UTC))
        conn = self._conn()
        with (
            self._guard(f"mark outbox message {key!r}"),
            self._transaction(conn, append_lock=False),
        ):
            cursor = conn.execute(
                self._sql(
                    "UPDATE outbox SET status = ?, attempts = ?, next_attempt_at = ?, "
                    "last_error = ?, delivered_at = CASE WHEN ? = 'delivered' THEN ? "
                    "ELSE delivered_at END WHERE message_key = ?"
                ),
                [
                    status,
                    attempts,
                    None if next_attempt_at is None else self._time_out(next_attempt_at),
                    error,
                    status,
                    now,
                    key,
                ],
            )
            if cursor.rowcount == 0:
                raise NotFoundError(f"{self.url_for_display}: no outbox message with key {key!r}")

    def _outbox_entry(self, row: Sequence[Any]) -> OutboxEntry:
        return OutboxEntry(
            key=row[0],
            topic=row[1],
            payload=json.loads(row[2]),
            created_at=self._time_in(row[3]),
            status=row[4],
            attempts=row[5],
            next_attempt_at=None if row[6] is None else self._time_in(row[6]),
            last_error=row[7],
            delivered_at=None if row[8] is None else self._time_in(row[8]),
        )
