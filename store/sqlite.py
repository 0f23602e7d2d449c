"""The event store on a SQLite file: WAL, a busy timeout, foreign keys on, a file of mode 0600.

Writers serialise on SQLite's own write lock (`BEGIN IMMEDIATE`), so positions are assigned and
committed in order and a reader can never see a later position before an earlier one. Followers in
this process are woken by a condition variable the moment an append commits; followers in other
processes notice within a short poll (`poll_interval`, 0.1 s by default).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from store import schema
from store._projections import ProjectionStore
from store._reader import COLUMNS
from store.canonical import format_time
from store.errors import IntegrityError, StoreError, UnavailableError
from store.lease import SQLiteLeases
from store.meta import MetaTable
from store.records import RecordedEvent

# Constant SQL (column names and "?" placeholders only): ruff's S608 does not apply.
_INSERT_OR_IGNORE = f"INSERT OR IGNORE INTO events ({COLUMNS}) VALUES ({', '.join('?' * 10)})"  # noqa: S608
# Inserts the row only if the newest event's hash is the last parameter (NULL: an empty log).
_INSERT_FIRST_IF_HEAD = (
    f"INSERT OR IGNORE INTO events ({COLUMNS}) SELECT {', '.join('?' * 10)} "  # noqa: S608
    "WHERE (SELECT hash FROM events ORDER BY position DESC LIMIT 1) IS ?"
)


class _StaleHeadError(Exception):
    """What this process knew about the head no longer holds."""


_SIGNALS: dict[str, _Signal] = {}
_SIGNALS_LOCK = threading.Lock()


class _Signal:
    """A counter and a condition shared by every store object on one file in this process."""

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.generation = 0
        self.waiting = 0  # threads inside wait(); changed only under the condition's lock

    def bump(self) -> None:
        with self.condition:
            self.generation += 1
            if self.waiting:  # notify_all costs microseconds even with nobody to wake
                self.condition.notify_all()

    def wait(self, generation: int, timeout: float) -> None:
        """Sleep until the generation moves past `generation`, or `timeout` seconds."""
        with self.condition:
            if self.generation == generation:
                self.waiting += 1
                try:
                    self.condition.wait(timeout)
                finally:
                    self.waiting -= 1


def _signal_for(path: Path) -> _Signal:
    key = str(path.resolve())
    with _SIGNALS_LOCK:
        signal = _SIGNALS.get(key)
        if signal is None:
            signal = _SIGNALS[key] = _Signal()
        return signal


class SQLiteEventStore(ProjectionStore, MetaTable, SQLiteLeases):
    """`EventStore` on one SQLite file. Build it with `store.open_store("sqlite:///PATH")`."""

    expected_triggers = schema.SQLITE_TRIGGERS

    def __init__(
        self,
        path: Path,
        *,
        url_for_display: str | None = None,
        busy_timeout: float = 30.0,
        poll_interval: float = 0.1,
        synchronous: str = "FULL",
    ) -> None:
        super().__init__(url_for_display=url_for_display or f"sqlite:///{path}")
        self.path = path
        self._busy_timeout = busy_timeout
        self._poll_interval = poll_interval
        self._synchronous = synchronous
        self._signal = _signal_for(path)

    # Hooks ---------------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        _create_private_file(self.path, self.url_for_display)
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout,
            isolation_level=None,  # autocommit; writes use explicit BEGIN IMMEDIATE
            check_same_thread=False,  # one connection per thread, but close() may come from another
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            mode = _switch_to_wal(conn, self._busy_timeout)
            if str(mode).lower() != "wal":
                raise UnavailableError(
                    f"{self.url_for_display}: cannot switch to WAL mode ({mode})"
                )
            conn.execute(f"PRAGMA synchronous = {self._synchronous}")
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def _transaction(self, conn: Any, *, append_lock: bool) -> Iterator[None]:
        conn.execute("BEGIN IMMEDIATE")  # SQLite's one write lock serialises every writer
        try:
            yield
        except BaseException:
            if conn.in_transaction:  # SQLite rolls back by itself after some errors (disk full)
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        try:
            yield
        except StoreError:
            raise
        except (sqlite3.Error, OSError) as exc:
            raise self._store_error(exc, action) from exc

    def _store_error(self, exc: sqlite3.Error | OSError, action: str) -> StoreError:
        """The `StoreError` that reports a driver error raised while doing `action`."""
        if isinstance(exc, sqlite3.IntegrityError):
            return IntegrityError(f"{self.url_for_display}: {action}: {exc}")
        return UnavailableError(f"{self.url_for_display}: {action}: {_explain(exc)}")

    def _read_page(self, sql: str, params: Sequence[Any]) -> list[RecordedEvent]:
        # Records straight from the cursor: each driver row dies once its record is built.
        with self._guard("read"):
            return self._records(self._conn().execute(sql, params))

    def _time_in(self, value: Any) -> datetime:
        return datetime.fromisoformat(value)

    def _time_out(self, moment: datetime) -> Any:
        return format_time(moment)

    def _time_text(self, value: Any) -> str:
        return str(value)  # exactly the stored text: a reformatted timestamp must not pass

    def _after_commit(self) -> None:
        self._signal.bump()

    # Appending -----------------------------------------------------------------------------------
    def _insert_if_head(self, rows: Sequence[Sequence[Any]], head_hash: str | None) -> bool:
        """Insert the first row only if the head is still `head_hash`, the others skipping known
        keys; if any row was not inserted (another writer appended, a key is already in the
        log), roll back and return False, having written nothing.
        """
        conn = self._conn()
        if len(rows) == 1:
            # One statement on an autocommit connection is a transaction of its own: SQLite
            # takes the write lock as the statement starts, before it reads the head in the
            # WHERE clause (waiting up to busy_timeout, as BEGIN IMMEDIATE does), and commits,
            # with the same fsync, as it ends. The BEGIN IMMEDIATE and COMMIT calls that a batch
            # needs would only add two round trips through the driver.
            try:
                inserted: int = conn.execute(_INSERT_FIRST_IF_HEAD, (*rows[0], head_hash)).rowcount
            except (sqlite3.Error, OSError) as exc:
                raise self._store_error(exc, "append") from exc
            return inserted == 1
        try:
            with self._guard("append"), self._transaction(conn, append_lock=True):
                inserted = conn.execute(_INSERT_FIRST_IF_HEAD, [*rows[0], head_hash]).rowcount
                if inserted == 1 and len(rows) > 1:
                    inserted += conn.executemany(_INSERT_OR_IGNORE, rows[1:]).rowcount
                if inserted != len(rows):
                    raise _StaleHeadError
        except _StaleHeadError:
            return False  # rolled back: nothing was written
        return True

    # Public --------------------------------------------------------------------------------------
    def migrate(self) -> None:
        """Create or upgrade the schema; idempotent and safe from several processes at once."""
        conn = self._conn()
        with self._guard("migrate"):
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version "
                "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
            )
            if not schema.pending(schema.SQLITE, self._schema_version(conn)):
                return
            with self._transaction(conn, append_lock=True):
                for version, statements in schema.pending(
                    schema.SQLITE, self._schema_version(conn)
                ):
                    for statement in statements:
                        conn.execute(statement)
                    conn.execute(
                        "INSERT INTO schema_version (version, applied_at) VALUES (?, datetime('now'))",
                        [version],
                    )

    def schema_version(self) -> int:
        """The newest migration applied to this database."""
        with self._guard("read schema version"):
            return self._schema_version(self._conn())

    @staticmethod
    def _schema_version(conn: sqlite3.Connection) -> int:
        value = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        return int(value or 0)

    def triggers(self) -> set[str]:
        """The names of the triggers on the events table."""
        rows = self._query(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'"
        )
        return {r[0] for r in rows}

    def wait(self, after_position: int, timeout: float) -> bool:
        """Block until an event after `after_position` exists (True), or `timeout`/`close()` (False)."""
        deadline = time.monotonic() + timeout
        while True:
            generation = self._signal.generation
            if self.head().position > after_position:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closed.is_set():
                return False
            self._signal.wait(generation, min(remaining, self._poll_interval))

    def close(self) -> None:
        """Close every connection and wake followers so they return."""
        super().close()
        self._signal.bump()


def _switch_to_wal(conn: sqlite3.Connection, timeout: float) -> str:
    """`PRAGMA journal_mode = WAL`, retried while the database is locked, for up to `timeout` s.

    SQLite does not call the busy handler for this pragma: on a new file (still in rollback
    mode) that another connection is writing, say creating the schema as it opens the same file
    at the same moment, it fails at once with "database is locked". So it is retried here, as the
    busy timeout would, with short sleeps.
    """
    deadline = time.monotonic() + timeout
    pause = 0.001
    while True:
        try:
            return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            busy = exc.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
            if not busy or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _create_private_file(path: Path, display: str) -> None:
    """Create the database file with mode 0600 (and its folder with 0700) if it does not exist.

    Never opens an existing file: closing any descriptor of a SQLite file drops every POSIX lock
    this process holds on it, which would let another process overwrite pages a reader is using.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
    except FileExistsError:
        return
    except OSError as exc:
        raise UnavailableError(f"{display}: cannot create or open {path}: {exc.strerror}") from exc


def _explain(exc: BaseException) -> str:
    text = str(exc)
    if "not a database" in text or "malformed" in text:
        return f"the file is not a SQLite database or is corrupt ({text})"
    if "disk is full" in text or "database or disk is full" in text:
        return f"the disk is full ({text}); nothing of this write was recorded"
    if "locked" in text:
        return f"the database stayed locked by another writer ({text})"
    if "readonly" in text:
        return f"the database file is read-only ({text})"
    return text
