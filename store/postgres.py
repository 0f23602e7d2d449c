"""The event store on PostgreSQL (psycopg 3).

**No reader ever misses an event.** Every append runs in one transaction that first takes a
transaction-scoped advisory lock (`pg_advisory_xact_lock(APPEND_LOCK)`), then reads the head and
inserts at head + 1, head + 2, ... So appends are serialised: the next writer can only take the
lock, and so only choose positions, after the previous writer's transaction has committed (or
rolled back, using no positions), because PostgreSQL releases transaction locks after the commit
is visible. Positions therefore become visible strictly in order and without holes; a follower
that has read up to N can never later find a committed event below N. (This is the mechanism of
the `eventsourcing` library's PostgreSQL recorder and of Message DB.) Positions come from the log
itself, not a sequence, so a rolled-back append leaves no gap either.

Followers LISTEN on the `parley_events` channel; each append NOTIFYs it inside its transaction,
so the notification arrives exactly when the rows are visible. A follower re-reads the log after
every notification and at least every half second, so a lost notification delays it, never skips.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from store import schema
from store._projections import ProjectionStore
from store.errors import IntegrityError, StoreError, UnavailableError
from store.lease import PostgresLeases
from store.meta import MetaTable

APPEND_LOCK = 0x7061726C6579  # "parley": the advisory lock that serialises appends
MIGRATE_LOCK = 0x7061726C6580  # serialises migrations across processes
CHANNEL = "parley_events"
# One statement for a whole batch, its columns sent as binary arrays (%b): far less protocol
# traffic than one INSERT per row, and no text escaping of every element.
_INSERT_SQL = (
    "INSERT INTO events (position, stream_id, stream_version, event_type, schema_version, "
    "recorded_at, idempotency_key, data, prev_hash, hash) "
    "SELECT * FROM unnest(%b::bigint[], %b::text[], %b::bigint[], %b::text[], "
    "%b::integer[], %b::timestamptz[], %b::text[], %b::text[], %b::text[], %b::text[])"
)

# All rows or none: nothing unless the head is still the one we know and none of the keys is in
# the log. (Nothing else can conflict then: positions follow the head under the lock, and the
# stream versions we planned from are exact while the head is unchanged. If something did, the
# insert would fail as a whole.) So the COMMIT can go in the same round trip as the INSERT.
_INSERT_IF_HEAD = (
    _INSERT_SQL  # noqa: S608  (constant SQL; values go in as parameters)
    + " WHERE (SELECT hash FROM events ORDER BY position DESC LIMIT 1) "
    "IS NOT DISTINCT FROM %s::text "
    "AND NOT EXISTS (SELECT FROM events WHERE idempotency_key = ANY(%b::text[]))"
)
# Wakes followers only if the rows above went in (the last planned position exists).
_NOTIFY_IF_INSERTED = (
    f"SELECT pg_notify('{CHANNEL}', '') WHERE EXISTS (SELECT FROM events WHERE position = %s)"  # noqa: S608
)


def _columns(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    return [list(column) for column in zip(*rows, strict=True)]


_WAIT_SLICE = 0.5


class PostgresEventStore(ProjectionStore, MetaTable, PostgresLeases):
    """`EventStore` on PostgreSQL. Build it with `store.open_store("postgresql://...")`."""

    _for_update = " FOR UPDATE"
    expected_triggers = schema.POSTGRES_TRIGGERS

    def __init__(
        self, conninfo: str, *, url_for_display: str | None = None, connect_timeout: int = 5
    ) -> None:
        super().__init__(url_for_display=url_for_display or "postgresql://...")
        self._conninfo = conninfo
        self._connect_timeout = connect_timeout
        self._sql_cache: dict[str, str] = {}
        self._listen_local = threading.local()

    # Hooks ---------------------------------------------------------------------------------------
    def _connect(self) -> psycopg.Connection[Any]:
        # UTF-8 on the wire whatever the database's encoding (a SQL_ASCII database would
        # otherwise hand psycopg bytes where the chain needs text).
        conn = psycopg.connect(
            self._conninfo,
            autocommit=True,
            connect_timeout=self._connect_timeout,
            client_encoding="UTF8",
        )
        conn.execute("SET TIME ZONE 'UTC'")
        return conn

    def _lost(self, conn: Any) -> bool:
        lost: bool = conn.closed  # psycopg marks a connection the server dropped as closed
        return lost

    def _sql(self, sql: str) -> str:
        converted = self._sql_cache.get(sql)
        if converted is None:
            converted = self._sql_cache[sql] = sql.replace("?", "%s")
        return converted

    def _executemany(self, conn: Any, sql: str, rows: Any) -> None:
        with conn.cursor() as cursor:
            cursor.executemany(self._sql(sql), rows)

    def _insert_if_head(self, rows: Sequence[Sequence[Any]], head_hash: str | None) -> bool:
        """Insert `rows` only if the head is still `head_hash` and no key is in the log.

        BEGIN, the append lock, the conditional insert, the notification and COMMIT go to the
        server in one round trip (pipeline mode); the server runs them in order, so the head is
        checked under the lock. Returns False when nothing was inserted.
        """
        conn = self._conn()
        columns = _columns(rows)
        with self._guard("append"):
            try:
                with conn.pipeline(), conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", [APPEND_LOCK])
                    inserted = conn.execute(_INSERT_IF_HEAD, [*columns, head_hash, columns[6]])
                    conn.execute(_NOTIFY_IF_INSERTED, [rows[-1][0]])
            except psycopg.IntegrityError:
                return False  # rolled back as a whole; the ordinary append will decide
        return bool(inserted.rowcount == len(rows))

    def _insert_events(self, conn: Any, rows: Sequence[Sequence[Any]]) -> None:
        conn.execute(_INSERT_SQL, _columns(rows))

    @contextmanager
    def _transaction(self, conn: Any, *, append_lock: bool) -> Iterator[None]:
        if not append_lock:
            with conn.transaction():
                yield
            return
        # Pipeline mode: BEGIN, the lock and the append's lookups go in one round trip. The
        # server still runs them in order, so every lookup's snapshot is taken after the lock.
        with conn.pipeline(), conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [APPEND_LOCK])
            yield

    def _query(self, sql: str, params: Any = ()) -> list[Any]:
        with self._guard("read"), self._conn().cursor(binary=True) as cursor:
            # Binary results: integers and timestamps arrive without text parsing.
            rows: list[Any] = cursor.execute(self._sql(sql), params).fetchall()
            return rows

    def _signal_appended(self, conn: Any) -> None:
        conn.execute(f"NOTIFY {CHANNEL}")  # delivered at commit, when the rows become visible

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        try:
            yield
        except StoreError:
            raise
        except psycopg.IntegrityError as exc:
            raise IntegrityError(f"{self.url_for_display}: {action}: {_one_line(exc)}") from exc
        except pg_errors.DiskFull as exc:
            raise UnavailableError(
                f"{self.url_for_display}: {action}: the disk is full; nothing of this write was "
                f"recorded ({_one_line(exc)})"
            ) from exc
        except psycopg.Error as exc:
            raise UnavailableError(f"{self.url_for_display}: {action}: {_one_line(exc)}") from exc

    def _time_in(self, value: Any) -> datetime:
        moment: datetime = value
        # The session's time zone is UTC, so psycopg already hands back UTC datetimes.
        return moment if moment.tzinfo is UTC else moment.astimezone(UTC)

    def _time_out(self, moment: datetime) -> Any:
        return moment

    # Public --------------------------------------------------------------------------------------
    def migrate(self) -> None:
        """Create or upgrade the schema; idempotent, serialised across processes by an advisory lock.

        When the schema is current, nothing is written, so a role with only SELECT and INSERT on
        the log can open the store.
        """
        conn = self._conn()
        with self._guard("migrate"):
            if not schema.pending(schema.POSTGRES, self._schema_version(conn)):
                return
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATE_LOCK])
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version "
                    "(version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                )
                for version, statements in schema.pending(
                    schema.POSTGRES, self._schema_version(conn)
                ):
                    for statement in statements:
                        conn.execute(statement)
                    conn.execute("INSERT INTO schema_version (version) VALUES (%s)", [version])

    def schema_version(self) -> int:
        """The newest migration applied to this database (0 when none)."""
        with self._guard("read schema version"):
            return self._schema_version(self._conn())

    @staticmethod
    def _schema_version(conn: psycopg.Connection[Any]) -> int:
        exists = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
        if not exists or not exists[0]:
            return 0
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0) if row else 0

    def triggers(self) -> set[str]:
        """The names of the enabled triggers on the events table."""
        rows = self._query(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'events'::regclass "
            "AND NOT tgisinternal AND tgenabled <> 'D'"
        )
        return {r[0] for r in rows}

    def _listener(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] | None = getattr(self._listen_local, "conn", None)
        if conn is None or conn.closed:
            if self._closed.is_set():
                raise UnavailableError(f"{self.url_for_display}: the store is closed")
            with self._guard("listen"):
                conn = self._connect()
                conn.execute(f"LISTEN {CHANNEL}")
            self._listen_local.conn = conn
            self._own(conn)
        return conn

    def _close_thread_extras(self) -> None:
        listener = getattr(self._listen_local, "conn", None)
        if listener is not None:
            self._listen_local.conn = None
            self._close_quietly(listener)

    def wait(self, after_position: int, timeout: float) -> bool:
        """Block until an event after `after_position` exists (True), or `timeout`/`close()` (False)."""
        listener = self._listener()  # LISTEN before looking, so no commit falls in between
        deadline = time.monotonic() + timeout
        while True:
            if self.head().position > after_position:
                return True
            remaining = deadline - time.monotonic()
            if self._closed.is_set():
                self._release_thread()
                return False
            if remaining <= 0:
                return False
            with self._guard("wait for events"):
                for _ in listener.notifies(timeout=min(remaining, _WAIT_SLICE), stop_after=1):
                    pass


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
