"""Bad input and faults: clear errors naming what and where, and nothing partially written."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from store import (
    ConfigurationError,
    NewEvent,
    UnavailableError,
    UnknownEventTypeError,
    domain_event,
    from_recorded,
    open_store,
    to_new_event,
)
from store.url import mask_password, parse_url
from store.verify import verify
from tests.store._helpers import event, raw_sql

ROOT = Path(__file__).resolve().parents[2]


def test_sqlite_file_is_created_with_mode_0600(tmp_path: Path) -> None:
    """A new database file (and its folder) is private to its owner."""
    path = tmp_path / "new" / "dir" / "parley.db"
    with open_store(f"sqlite:///{path}") as store:
        store.append([event(1)])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_busy_timeout(sqlite_url: str) -> None:
    """Every SQLite connection uses WAL, enforces foreign keys and waits for a busy writer."""
    with open_store(sqlite_url) as store:
        conn = store._conn()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000


def test_migrations_are_idempotent_and_recorded(db_url: str) -> None:
    """Opening a store again applies nothing new and keeps the data; the version is recorded."""
    with open_store(db_url) as store:
        store.append([event(1)])
        version = store.schema_version()
        store.migrate()
        store.migrate()
    with open_store(db_url) as store:
        assert store.schema_version() == version >= 1
        assert store.head().position == 1
    rows = raw_sql(db_url, "SELECT version FROM schema_version ORDER BY version")
    assert [r[0] for r in rows] == list(range(1, version + 1))


@pytest.mark.parametrize(
    "url",
    ["mysql://u@h/db", "sqlite:///", "sqlite://relative.db", "sqlite:///:memory:", "nonsense"],
)
def test_unsupported_or_malformed_urls_raise_configuration_error(url: str) -> None:
    """A URL the store cannot use is refused with a message quoting it."""
    with pytest.raises(ConfigurationError, match="database URL"):
        open_store(url)


def test_password_never_appears_in_errors() -> None:
    """The URL shown in errors and on the store has its password masked."""
    assert mask_password("postgresql://me:s3cret@h:5432/db") == "postgresql://me:***@h:5432/db"
    assert (
        mask_password("postgresql://h/db?password=s3cret&x=1")
        == "postgresql://h/db?password=***&x=1"
    )
    with pytest.raises(ConfigurationError) as info:
        open_store("mysql://me:s3cret@h/db")
    assert "s3cret" not in str(info.value)
    assert parse_url("postgresql+psycopg://me:pw@h/db").conninfo == "postgresql://me:pw@h/db"


def test_unreachable_postgres_raises_unavailable_naming_the_masked_url() -> None:
    """Nothing listening on the port: UnavailableError naming host and port, without the password."""
    url = "postgresql://parley:s3cret@127.0.0.1:1/parley"
    with pytest.raises(UnavailableError) as info:
        open_store(url)
    message = str(info.value)
    assert "postgresql://parley:***@127.0.0.1:1/parley" in message
    assert "s3cret" not in message


@pytest.mark.postgres
def test_missing_postgres_database_raises_unavailable(pg_admin_url: str) -> None:
    """A server that answers but has no such database gives a clear error."""
    params = psycopg.conninfo.conninfo_to_dict(pg_admin_url)
    url = f"postgresql://{params.get('user', 'postgres')}@{params.get('host', '127.0.0.1')}:{params.get('port', '5432')}/no_such_db_parley"
    with pytest.raises(UnavailableError, match="no_such_db_parley"):
        open_store(url)


def test_corrupt_sqlite_file_raises_unavailable_naming_the_file(tmp_path: Path) -> None:
    """A file that is not a SQLite database is reported, and left as it was."""
    path = tmp_path / "parley.db"
    garbage = b"this is not a database, it is a shopping list\n" * 200
    path.write_bytes(garbage)
    with pytest.raises(UnavailableError, match=r"parley\.db.*not a SQLite database or is corrupt"):
        open_store(f"sqlite:///{path}")
    assert path.read_bytes() == garbage


def test_unwritable_path_raises_unavailable_naming_the_path(tmp_path: Path) -> None:
    """A database path under a regular file cannot be created: the error names the path."""
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(UnavailableError, match=r"a-file/parley\.db"):
        open_store(f"sqlite:///{blocker}/parley.db")


def test_read_only_sqlite_file_refuses_appends_clearly(tmp_path: Path) -> None:
    """A store whose file became read-only raises UnavailableError on append; the log is unchanged."""
    path = tmp_path / "parley.db"
    with open_store(f"sqlite:///{path}") as store:
        store.append([event(1)])
    with open_store(f"sqlite:///{path}") as store:
        store._conn().execute("PRAGMA query_only = ON")
        with pytest.raises(UnavailableError, match="append"):
            store.append([event(2)])
        assert store.head().position == 1


def test_full_disk_refuses_the_batch_clearly_and_keeps_the_log(tmp_path: Path) -> None:
    """When SQLite runs out of space mid-batch, the error says so and nothing of it is written."""
    path = tmp_path / "parley.db"
    with open_store(f"sqlite:///{path}") as store:
        store.append([event(1)])
        conn = store._conn()
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # the "disk" has two pages left
        big = [event(n, text="x" * 2000) for n in range(2, 200)]
        with pytest.raises(UnavailableError, match="disk is full"):
            store.append(big)
        assert store.head().position == 1
        assert verify(store).ok
        conn.execute("PRAGMA max_page_count = 1073741823")
        store.append([event(2)])
        assert store.head().position == 2


def test_unknown_event_type_on_read_names_type_and_position(db_url: str) -> None:
    """Mapping a stored event whose type nobody registered raises, naming type and position."""
    with open_store(db_url) as store:
        store.append([NewEvent(stream_id="s", event_type="Vanished", data={}, idempotency_key="v")])
        (recorded,) = store.read()
    with pytest.raises(UnknownEventTypeError, match=r"position 1 has unknown type 'Vanished'"):
        from_recorded(recorded)


@domain_event("StoreTestNoted", version=1)
@dataclass(frozen=True, kw_only=True, slots=True)
class _Noted:
    text: str


def test_registered_domain_event_round_trips_through_the_store(db_url: str) -> None:
    """A domain event written with to_new_event reads back equal through from_recorded."""
    original = _Noted(text="ceasefire talks resume")
    with open_store(db_url) as store:
        store.append([to_new_event(original, stream_id="n", idempotency_key="n1")])
        (recorded,) = store.read()
    assert from_recorded(recorded) == original


def _lock_held(url: str) -> bool:
    """Whether another process is inside an append transaction right now."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(parse_url(url).sqlite_path, timeout=0, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            conn.close()
    rows = raw_sql(
        url,
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND pid <> pg_backend_pid() "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    return bool(rows[0][0])


@pytest.mark.slow
def test_writer_killed_mid_batch_leaves_all_or_nothing(db_url: str) -> None:
    """SIGKILL during a large append leaves none of that batch (or all of it), and a valid chain."""
    with open_store(db_url) as store:
        store.append([event(1)])
    size = 60_000
    with subprocess.Popen(
        [sys.executable, "-m", "tests.store._writer", db_url, "victim", "1", str(size)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 60
        while not _lock_held(db_url):
            assert proc.poll() is None, "the writer finished before it could be killed"
            assert time.monotonic() < deadline, "the writer never began its append"
            time.sleep(0.005)
        time.sleep(0.05)  # well inside the insert of 60,000 rows
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    with open_store(db_url) as store:
        count = sum(1 for _ in store.read())
        print(f"events after the kill: {count}")
        assert count in (1, 1 + size)
        assert verify(store).ok
        store.append([event(2)])
        assert store.head().position == count + 1


def test_a_sql_ascii_postgresql_database_keeps_non_ascii_text(pg_admin_url: str) -> None:
    """A database created with ENCODING 'SQL_ASCII' (an old cluster's default) still stores and
    returns non-ASCII post text unchanged, and its chain verifies: the store asks for UTF-8 on the
    wire instead of letting psycopg hand it bytes."""
    from psycopg.conninfo import conninfo_to_dict

    name = f"parley_test_ascii_{os.getpid()}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE \"{name}\" ENCODING 'SQL_ASCII' TEMPLATE template0")
    params = conninfo_to_dict(pg_admin_url)
    url = f"postgresql://{params.get('user', 'postgres')}@{params.get('host', '127.0.0.1')}:{params.get('port', '5432')}/{name}"
    try:
        store = open_store(url)
        text = "Zelensky’s «offer» in Київ"
        store.append(
            [NewEvent(stream_id="a", event_type="T", data={"t": text}, idempotency_key="k")]
        )
        assert [e.data for e in store.read()] == [{"t": text}]
        assert verify(store).ok
        store.close()
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_store_reconnects_after_postgresql_drops_its_connections(
    pg_url: str, pg_admin_url: str
) -> None:
    """When the server terminates the store's connection (a restart, a failover, an operator),
    the call that finds it broken fails with UnavailableError, nothing is half-written, and the
    next call reconnects: a daemon recovers without a restart."""
    store = open_store(pg_url)
    store.append([event(1)])
    name = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
    with pytest.raises(UnavailableError, match=name):
        store.append([event(2)])
    assert store.append([event(2)]) == [2]
    assert [e.position for e in store.read()] == [1, 2]
    assert verify(store).ok
    store.close()
