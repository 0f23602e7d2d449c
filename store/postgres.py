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
import structlog
from psycopg import errors as pg_errors

from store import schema
from store._projections import ProjectionStore
from store.errors import IntegrityError, StoreError, UnavailableError
from store.lease import PostgresLeases
from store.meta import MetaTable

# Both also written in the append function of migration 4 (store/schema.py).
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
# The append planned on a remembered head, in one statement (migration 4, `store/schema.py`):
# under the append lock, all rows or none, then NOTIFY; committed as the statement ends.
_APPEND_IF_HEAD = (
    "SELECT parley_append_if_head(%s::text, %b::text[], %b::bigint[], %b::text[], %b::bigint[], "
    "%b::text[], %b::integer[], %b::timestamptz[], %b::text[], %b::text[], %b::text[], %b::text[])"
)
# The same for one event, its values sent as scalars: psycopg dumps a scalar for less than a
# one-element list.
_APPEND_ONE_IF_HEAD = (
    "SELECT parley_append_if_head(%s::text, %b::text[], ARRAY[%b::bigint], ARRAY[%b::text], "
    "ARRAY[%b::bigint], ARRAY[%b::text], ARRAY[%b::integer], ARRAY[%b::timestamptz], "
    "ARRAY[%b::text], ARRAY[%b::text], ARRAY[%b::text], ARRAY[%b::text])"
)
_LOCK_SQL = "SELECT pg_advisory_xact_lock(%s)"


def _columns(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    return [list(column) for column in zip(*rows, strict=True)]


_WAIT_SLICE = 0.5
log = structlog.get_logger("store")


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
        return self._insert_if_head_and_new(rows, head_hash, ())

    _guesses_new_streams = True
    # The ordinary append mostly runs because another writer moved the head, and then what this
    # process remembers is stale: looking it up at once saves a round trip.
    _look_up_every_stream = True

    def _insert_if_head_and_new(
        self, rows: Sequence[Sequence[Any]], head_hash: str | None, new_streams: Sequence[str]
    ) -> bool:
        """Insert `rows` only if the head is still `head_hash`, no key is in the log and none of
        `new_streams` has an event yet; False, having written nothing, otherwise.

        One statement in autocommit mode, so one round trip: `parley_append_if_head` takes the
        append lock, checks, inserts and notifies inside the statement's own transaction, which
        commits (releasing the lock) as the statement ends.
        """
        conn = self._conn()
        if len(rows) == 1:
            sql, params = _APPEND_ONE_IF_HEAD, [head_hash, list(new_streams), *rows[0]]
        else:
            sql, params = _APPEND_IF_HEAD, [head_hash, list(new_streams), *_columns(rows)]
        with self._guard("append"):
            try:
                row = conn.execute(sql, params, prepare=True).fetchone()
            except psycopg.IntegrityError:
                return False  # rolled back as a whole; the ordinary append will decide
        return bool(row and row[0])

    def _insert_events(self, conn: Any, rows: Sequence[Sequence[Any]]) -> None:
        conn.execute(_INSERT_SQL, _columns(rows))

    @contextmanager
    def _transaction(self, conn: Any, *, append_lock: bool) -> Iterator[None]:
        if not append_lock:
            with conn.transaction():
                yield
            return
        # Pipeline mode, with BEGIN and COMMIT sent as statements (psycopg's own transaction
        # block would wait for BEGIN and again for COMMIT): BEGIN, the lock and whatever the body
        # sends before it first reads a result go in one round trip; what it sends after that,
        # with COMMIT, in a second. The server runs them in order, so every statement after the
        # lock sees what was committed before the lock was granted, and the lock is held until
        # the COMMIT. On any error the transaction is rolled back, nothing of it written.
        try:
            with conn.pipeline():
                conn.execute("BEGIN")
                conn.execute(_LOCK_SQL, [APPEND_LOCK], prepare=True)
                yield
                conn.execute("COMMIT")
        except BaseException:
            if conn.info.transaction_status in (
                psycopg.pq.TransactionStatus.INTRANS,
                psycopg.pq.TransactionStatus.INERROR,
            ):
                try:
                    conn.execute("ROLLBACK")
                except psycopg.Error as exc:  # the connection is gone: the server rolls back
                    log.debug("store_rollback_failed", error=_one_line(exc))
            raise

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
