"""The base of both backends: connections per thread, closing, and appending to the log.

Both backends speak the same SQL here (written with `?` placeholders; the PostgreSQL backend
rewrites them). A backend supplies connections, the write transaction with its append lock,
the wake-up signal, and the conversion of timestamps. Reading lives in `store._reader`. The hot
paths use the raw DB-API driver: a few indexed lookups and one bulk insert per append.
"""

# SQL here is built only from constant column lists and "?" placeholders, never from values:
# ruff: noqa: S608

from __future__ import annotations

import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import structlog

from store._append import plan_append, serialise_batch
from store._reader import COLUMNS, LogReader
from store._versions import VersionCache, chunks
from store.canonical import GENESIS_HASH, utc_now_text
from store.errors import ConcurrencyError, UnavailableError
from store.records import NewEvent

log = structlog.get_logger("store")


class SQLEventStore(LogReader):
    """Shared implementation of the log: append, read, read_stream, follow, head.

    Subclasses implement the `_`-prefixed hooks below; the constructor does no I/O.
    """

    url_for_display: str
    expected_triggers: tuple[str, ...] = ()

    def __init__(self, *, url_for_display: str) -> None:
        self.url_for_display = url_for_display
        self._closed = threading.Event()
        self._local = threading.local()
        self._all_connections: list[tuple[threading.Thread, Any]] = []
        self._connections_lock = threading.Lock()
        self._checkpoints: dict[str, int] = {}
        self._versions = VersionCache()

    # Backend hooks -----------------------------------------------------------------------------
    def _connect(self) -> Any:
        """A new autocommit connection, configured."""
        raise NotImplementedError

    def _lost(self, conn: Any) -> bool:
        """True when `conn` can no longer be used (the server dropped it); it is then replaced."""
        return False

    def _transaction(self, conn: Any, *, append_lock: bool) -> AbstractContextManager[None]:
        """A write transaction on `conn`; with `append_lock`, holding the log's append lock."""
        raise NotImplementedError

    def _guard(self, action: str) -> AbstractContextManager[None]:
        """Turn driver errors raised inside into `StoreError`s naming the database and `action`."""
        raise NotImplementedError

    def _sql(self, sql: str) -> str:
        return sql

    def _executemany(self, conn: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        conn.executemany(self._sql(sql), rows)

    def _time_in(self, value: Any) -> datetime:
        raise NotImplementedError

    def _time_out(self, moment: datetime) -> Any:
        raise NotImplementedError

    def _insert_events(self, conn: Any, rows: Sequence[Sequence[Any]]) -> None:
        sql = self._sql(f"INSERT INTO events ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        if len(rows) == 1:
            conn.execute(sql, rows[0])  # a single append: skip executemany's iterator set-up
        else:
            conn.executemany(sql, rows)

    def _insert_if_head(self, rows: Sequence[Sequence[Any]], head_hash: str | None) -> bool:
        """Insert `rows` in one transaction only if the log's head still has `head_hash` (None: empty).

        Returns False, having written nothing, when the head moved or a key is already in the log.
        Backends that have no such fast path keep this default, which always declines.
        """
        return False

    _guesses_new_streams = False
    """True when the backend implements `_insert_if_head_and_new`."""

    _look_up_every_stream = False
    """True: the ordinary append looks up every stream's version in the same round trip as the
    head, instead of trusting the remembered versions when the head proves them current and
    looking them up again when it does not."""

    def _insert_if_head_and_new(
        self, rows: Sequence[Sequence[Any]], head_hash: str | None, new_streams: Sequence[str]
    ) -> bool:
        """`_insert_if_head`, also declining when any of `new_streams` already has an event.

        Lets the fast path plan streams this process has not seen as new (version 0).
        """
        return False

    def _signal_appended(self, conn: Any) -> None:
        """Called inside the append transaction once rows were inserted."""

    def _after_commit(self) -> None:
        """Called after an append that inserted rows has committed."""

    def wait(self, after_position: int, timeout: float) -> bool:
        raise NotImplementedError

    def migrate(self) -> None:
        raise NotImplementedError

    def triggers(self) -> set[str]:
        """The names of the tamper-guard triggers present on the events table."""
        raise NotImplementedError

    def schema_version(self) -> int:
        """The newest migration applied to this database."""
        raise NotImplementedError

    # Connections -------------------------------------------------------------------------------
    # One connection per thread. A connection is only ever closed by its own thread, or by
    # close() once that thread has ended: closing a connection under a running query is unsafe.
    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if self._closed.is_set():
            self._release_thread()
            raise UnavailableError(f"{self.url_for_display}: the store is closed")
        if conn is not None and self._lost(conn):
            # The call that found it broken failed with UnavailableError; this one reconnects,
            # so a daemon recovers by itself when the database comes back.
            log.warning("store_reconnecting", url=self.url_for_display)
            self._local.conn = None
            self._close_quietly(conn)
            conn = None
        if conn is None:
            with self._guard("connect"):
                conn = self._connect()
            self._local.conn = conn
            self._own(conn)
        return conn

    def _release_thread(self) -> None:
        """Close the current thread's connections (after close() was called elsewhere)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            self._close_quietly(conn)
        self._close_thread_extras()

    def _close_thread_extras(self) -> None:
        """Close other connections the current thread holds (a backend's listener), once closed."""

    def _own(self, conn: Any) -> None:
        """Track `conn` as opened by the current thread, for close()."""
        with self._connections_lock:
            self._all_connections.append((threading.current_thread(), conn))

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._guard("read"):
            rows: list[Any] = self._conn().execute(self._sql(sql), params).fetchall()
            return rows

    def close(self) -> None:
        """Close this store's connections and make every `follow()` and `wait()` return.

        Connections of other threads still running are closed by those threads on their next
        use of the store (a follower notices within half a second).
        """
        self._closed.set()
        me = threading.current_thread()
        with self._connections_lock:
            owned, self._all_connections = self._all_connections, []
        for thread, conn in owned:
            if thread is me or not thread.is_alive():
                self._close_quietly(conn)
        if getattr(self._local, "conn", None) is not None:
            self._local.conn = None

    @staticmethod
    def _close_quietly(conn: Any) -> None:
        try:
            conn.close()
        except Exception as exc:
            log.debug("store_close_failed", error=str(exc))

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # Writing -----------------------------------------------------------------------------------
    def append(self, events: Sequence[NewEvent]) -> list[int]:
        """Append a batch, all or nothing; return each event's position (see `EventStore.append`).

        Every event is checked and its payload serialised first, before any I/O. Then, when this
        process wrote the current head itself (one daemon writing: the common case), the batch
        is planned from what it already knows and the backend inserts it only if the head is
        still that one (`_insert_if_head`). If anything differs (another writer appended, a key
        is already in the log), nothing is written and the append runs the ordinary way, which
        looks the head, the keys and the stream versions up under the append lock.
        """
        if not events:
            return []
        payloads = serialise_batch(events)
        positions = self._append_on_known_head(events, payloads)
        if positions is None:
            positions = self._append_looked_up(events, payloads)
        return positions

    def _append_looked_up(self, events: Sequence[NewEvent], payloads: list[str]) -> list[int]:
        """The ordinary append: under the append lock, look everything up, then insert."""
        keys = list(dict.fromkeys(e.idempotency_key for e in events))
        streams = list(dict.fromkeys(e.stream_id for e in events))
        conn = self._conn()
        with self._guard("append"), self._transaction(conn, append_lock=True):
            head, existing, versions = self._lookups(conn, keys, streams)
            head_key = (head[0], head[1]) if head else (0, GENESIS_HASH)
            # Fixed-width ISO 8601 in UTC sorts like time itself, so strings compare directly.
            recorded_at = utc_now_text()
            if head is not None:  # recorded_at never goes backwards along the log
                recorded_at = max(recorded_at, self._time_text(head[2]))
            rows, positions = plan_append(
                events,
                payloads,
                head_position=head_key[0],
                head_hash=head_key[1],
                existing_keys=existing,
                stream_versions=versions,
                recorded_at=recorded_at,
            )
            if rows:
                self._insert_events(conn, rows)
                self._signal_appended(conn)
        for row in rows:
            versions[row[1]] = row[2]
        self._versions.remember(
            head_key,
            (rows[-1][0], rows[-1][9]) if rows else head_key,
            versions,
            head_time=rows[-1][5] if rows else (self._time_text(head[2]) if head else None),
        )
        if rows:
            self._after_commit()
        return positions

    def _append_on_known_head(
        self, events: Sequence[NewEvent], payloads: list[str]
    ) -> list[int] | None:
        """The fast path: plan the batch from what this process already knows of the head and the
        streams, and let the backend insert it only if the head is unchanged. None when this
        process does not know the head, the plan conflicts, or the backend declined: the caller
        then runs the ordinary append, which looks everything up under the append lock.
        """
        if len(events) == 1:
            streams = [events[0].stream_id]
        else:
            streams = list(dict.fromkeys(e.stream_id for e in events))
        known = self._versions.snapshot(streams)
        new_streams: list[str] = []
        if known is None and self._guesses_new_streams:
            # Streams this process has not seen are planned as new; the backend declines if any
            # of them has an event after all. (New streams are common: one per post.)
            cached = self._versions.known(streams)
            new_streams = [s for s in streams if s not in cached]
            known = self._versions.snapshot([s for s in streams if s in cached])
            if known is not None:
                known[2].update(dict.fromkeys(new_streams, 0))
        if known is None:
            return None
        (head_position, head_hash), head_time, versions = known
        recorded_at = utc_now_text()
        if head_time is not None and head_time > recorded_at:
            recorded_at = head_time  # never earlier than the head (the clock may step back)
        try:
            rows, positions = plan_append(
                events,
                payloads,
                head_position=head_position,
                head_hash=head_hash,
                existing_keys={},
                stream_versions=versions,
                recorded_at=recorded_at,
            )
        except ConcurrencyError:
            return None  # what we know may be stale: let the ordinary path decide
        expected_hash = head_hash if head_position else None
        if new_streams:
            inserted = self._insert_if_head_and_new(rows, expected_hash, new_streams)
        else:
            inserted = self._insert_if_head(rows, expected_hash)
        if not inserted:
            return None
        for row in rows:
            versions[row[1]] = row[2]
        self._versions.remember(
            (head_position, head_hash), (rows[-1][0], rows[-1][9]), versions, head_time=recorded_at
        )
        self._after_commit()
        return positions

    def _lookups(
        self, conn: Any, keys: list[str], streams: list[str]
    ) -> tuple[Any, dict[str, int], dict[str, int]]:
        """Under the append lock: the head row, the known keys' positions, the streams' versions.

        Every statement is sent before any result is read, so PostgreSQL's pipeline mode makes
        them one round trip together with BEGIN and the lock.
        """
        # The head and the first keys in one statement (the row tagged 0 is the head).
        key_chunks = list(chunks(keys))
        head_cursor = conn.execute(
            self._sql(
                "SELECT position, hash, recorded_at, 0 FROM (SELECT position, hash, "
                "recorded_at FROM events ORDER BY position DESC LIMIT 1) AS head UNION ALL "
                "SELECT position, idempotency_key, NULL, 1 FROM events "
                f"WHERE idempotency_key IN ({', '.join('?' * len(key_chunks[0]))})"
            ),
            key_chunks[0],
        )
        key_cursors = [
            conn.execute(
                self._sql(
                    "SELECT idempotency_key, position FROM events "
                    f"WHERE idempotency_key IN ({', '.join('?' * len(chunk))})"
                ),
                chunk,
            )
            for chunk in key_chunks[1:]
        ]
        # A backend where another round trip costs more than an index seek per stream looks
        # every stream up with the rest; the others trust what they remember when it holds.
        cached = set() if self._look_up_every_stream else self._versions.known(streams)
        stream_cursors = self._version_lookups(conn, [s for s in streams if s not in cached])
        head = None
        existing: dict[str, int] = {}
        for row in head_cursor.fetchall():
            if row[3] == 0:
                head = row
            else:
                existing[row[1]] = row[0]
        for cursor in key_cursors:
            existing.update(cursor.fetchall())
        versions = dict.fromkeys(streams, 0)
        for cursor in stream_cursors:
            versions.update((sid, v) for sid, v in cursor.fetchall() if v)
        valid = self._versions.valid_at((head[0], head[1]) if head else (0, GENESIS_HASH), cached)
        if valid is None:  # another writer appended since we last did: ask the log
            for cursor in self._version_lookups(conn, list(cached)):
                versions.update((sid, v) for sid, v in cursor.fetchall() if v)
        else:
            versions.update(valid)
        return head, existing, versions

    def _version_lookups(self, conn: Any, streams: list[str]) -> list[Any]:
        # One index seek per stream (a GROUP BY over an IN list scans every version).
        return [
            conn.execute(
                self._sql(
                    f"WITH wanted (id) AS (VALUES {', '.join(['(?)'] * len(chunk))}) "
                    "SELECT id, (SELECT MAX(stream_version) FROM events "
                    "WHERE stream_id = wanted.id) FROM wanted"
                ),
                chunk,
            )
            for chunk in chunks(streams)
        ]
