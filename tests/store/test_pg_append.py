"""PostgreSQL's append path: round trips, the one-statement append function, its checks, the lock.

An append on a head this process wrote is one statement (`parley_append_if_head`, migration 4)
and so one round trip; the ordinary append (head unknown or moved) is two, BEGIN + lock + lookups,
then insert + NOTIFY + COMMIT. These tests count the round trips on the wire, drive the
function's every refusal, hold the append lock from another session to show both paths wait for
it and see what was committed under it, and run both paths as a role granted only SELECT and
INSERT on the log.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from store import ConcurrencyError, NewEvent, open_store
from store._append import plan_append, serialise_batch
from store.errors import UnavailableError
from store.postgres import _APPEND_IF_HEAD, APPEND_LOCK, CHANNEL, PostgresEventStore, _columns
from store.schema import POSTGRES
from store.url import parse_url
from store.verify import verify
from tests.store._helpers import event

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[PostgresEventStore]:
    opened = open_store(pg_url)
    assert isinstance(opened, PostgresEventStore)
    yield opened
    opened.close()


def _conninfo(url: str) -> str:
    conninfo = parse_url(url).conninfo
    assert conninfo is not None
    return conninfo


def _value(cursor: Any) -> Any:
    """The first column of the one row a statement returned."""
    row = cursor.fetchone()
    assert row is not None
    return row[0]


def _round_trips(conn: psycopg.Connection[Any], action: Callable[[], object], tmp: Path) -> int:
    """How many times `action` waited for the server: turns from client messages to server ones
    in libpq's trace of the connection."""
    path = tmp / f"trace-{uuid.uuid4().hex}.txt"
    with path.open("w") as out:
        conn.pgconn.trace(out.fileno())
        conn.pgconn.set_trace_flags(
            psycopg.pq.Trace.SUPPRESS_TIMESTAMPS | psycopg.pq.Trace.REGRESS_MODE
        )
        try:
            action()
        finally:
            conn.pgconn.untrace()
    turns, previous = 0, ""
    for line in path.read_text().splitlines():
        direction = line.split("\t", 1)[0]
        if direction == "B" and previous == "F":
            turns += 1
        previous = direction
    return turns


def test_round_trips_of_each_append_path(pg_store: PostgresEventStore, tmp_path: Path) -> None:
    conn = pg_store._conn()
    # The first append of a process does not know the head: the ordinary path, two round trips.
    assert _round_trips(conn, lambda: pg_store.append([event(1, stream="a")]), tmp_path) == 2
    for n in range(2, 12):  # past psycopg's preparing of each statement shape
        pg_store.append([event(n, stream="a" if n % 2 else f"new{n}")])
        pg_store.append([event(100 + n, stream="a"), event(200 + n, stream=f"b{n}")])
    assert _round_trips(conn, lambda: pg_store.append([event(20, stream="a")]), tmp_path) == 1
    assert _round_trips(conn, lambda: pg_store.append([event(21, stream="fresh")]), tmp_path) == 1
    batch = [event(30 + i, stream="a" if i % 2 else f"c{i}") for i in range(10)]
    assert _round_trips(conn, lambda: pg_store.append(batch), tmp_path) == 1
    with open_store(pg_store._conninfo) as other:
        other.append([event(50, stream="a")])
    # The head moved: the function declines (1), then the ordinary path (2), which looks up
    # every stream's version with the head rather than trusting what this process remembers.
    assert _round_trips(conn, lambda: pg_store.append([event(51, stream="a")]), tmp_path) == 3
    assert _round_trips(conn, lambda: pg_store.append([event(52, stream="a")]), tmp_path) == 1
    versions = [e.stream_version for e in pg_store.read() if e.stream_id == "a"]
    assert versions == list(range(1, len(versions) + 1))
    assert verify(pg_store).ok


def _function_args(
    store: PostgresEventStore, events: list[NewEvent], *, head: tuple[int, str], versions: Any
) -> list[Any]:
    rows, _ = plan_append(
        events,
        serialise_batch(events),
        head_position=head[0],
        head_hash=head[1],
        existing_keys={},
        stream_versions=versions,
        recorded_at="2026-01-01T00:00:00.000000+00:00",
    )
    return _columns(rows)


def test_the_append_function_refuses_a_moved_head_a_known_key_and_a_stream_that_is_not_new(
    pg_store: PostgresEventStore,
) -> None:
    pg_store.append([event(1, stream="x"), event(2, stream="y")])
    head = pg_store.head()
    conn = pg_store._conn()

    def call(events: list[NewEvent], head_hash: str | None, new: list[str], versions: Any) -> Any:
        columns = _function_args(
            pg_store, events, head=(head.position, head.hash), versions=versions
        )
        return _value(conn.execute(_APPEND_IF_HEAD, [head_hash, new, *columns]))

    assert call([event(3, stream="x")], "0" * 64, [], {"x": 1}) is False  # not the head
    assert call([event(3, stream="x")], None, [], {"x": 1}) is False  # the log is not empty
    assert call([event(1, stream="z")], head.hash, ["z"], {"z": 0}) is False  # k1 is in the log
    assert call([event(3, stream="y")], head.hash, ["y"], {"y": 0}) is False  # y has events
    assert pg_store.head() == head  # nothing was written
    assert call([event(3, stream="z")], head.hash, ["z"], {"z": 0}) is True
    assert [(e.position, e.stream_id, e.stream_version) for e in pg_store.read(3)] == [(3, "z", 1)]
    assert verify(pg_store).ok


def test_a_stream_this_process_never_saw_is_appended_after_its_events(pg_url: str) -> None:
    """Planned as new on the fast path, refused by the function, appended the ordinary way."""
    with open_store(pg_url) as first:
        first.append([event(1, stream="z"), event(2, stream="z")])
    with open_store(pg_url) as second:
        second.append([event(3, stream="other")])  # the head is now this process's own
        with pytest.raises(ConcurrencyError, match="stream 'z': expected version 0, actual"):
            second.append([event(4, stream="z", expected=0)])
        assert second.append([event(4, stream="z")]) == [4]
        assert second.append([event(5, stream="brand-new", expected=0)]) == [5]
        assert second.append([event(6, stream="z", expected=3)]) == [6]
        read = [(e.position, e.stream_id, e.stream_version) for e in second.read()]
        assert read == [
            (1, "z", 1),
            (2, "z", 2),
            (3, "other", 1),
            (4, "z", 3),
            (5, "brand-new", 1),
            (6, "z", 4),
        ]
        assert verify(second).ok


def _wait_for_lock_wait(admin: psycopg.Connection[Any], pids: list[int]) -> None:
    """Until the backend in `pids` (once there) waits for the append lock; fails after 2 minutes."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if pids:
            waiting = admin.execute(
                "SELECT locktype, objid FROM pg_locks WHERE pid = %s AND NOT granted", [pids[0]]
            ).fetchall()
            # An advisory lock on a bigint key shows its low 32 bits as objid.
            if waiting == [("advisory", APPEND_LOCK & 0xFFFFFFFF)]:
                return
        time.sleep(0.01)
    pytest.fail("the append never waited for the append lock")


@pytest.mark.parametrize("path", ["known head", "head unknown"])
def test_appends_wait_for_the_append_lock_and_see_what_was_committed_under_it(
    pg_url: str, path: str
) -> None:
    """Another session holds the append lock and appends under it; the store's append waits,
    then puts its event after that one, whichever path it takes."""
    with open_store(pg_url) as setup:
        setup.append([event(1, stream="s")])
    store = open_store(pg_url)
    assert isinstance(store, PostgresEventStore)
    if path == "known head":
        store.append([event(2, stream="s")])
    head = store.head()
    conninfo = _conninfo(pg_url)
    with (
        psycopg.connect(conninfo, autocommit=True) as admin,
        psycopg.connect(conninfo, autocommit=True) as blocker,
    ):
        blocker.execute("BEGIN")
        blocker.execute("SELECT pg_advisory_xact_lock(%s)", [APPEND_LOCK])
        result: list[list[int]] = []
        pids: list[int] = []

        def append() -> None:
            pids.append(store._conn().info.backend_pid)  # the thread's own connection
            result.append(store.append([event(9)]))

        thread = threading.Thread(target=append)
        thread.start()
        _wait_for_lock_wait(admin, pids)
        # Under the lock, the other session appends (through the same function, which takes
        # the lock again in its own transaction: a no-op while it holds it).
        columns = _function_args(
            store,
            [event(3, stream="s")],
            head=(head.position, head.hash),
            versions={"s": head.position},
        )
        assert _value(blocker.execute(_APPEND_IF_HEAD, [head.hash, [], *columns])) is True
        assert not result  # still waiting
        blocker.execute("COMMIT")
        thread.join(timeout=120)
        assert not thread.is_alive()
    assert result == [[head.position + 2]]
    keys = [e.idempotency_key for e in store.read()]
    assert keys[-2:] == ["k3", "k9"]
    assert verify(store).ok
    store.close()


def test_a_failed_ordinary_append_rolls_back_and_releases_the_lock(
    pg_store: PostgresEventStore, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pg_store.append([event(1)])
    with open_store(pg_url) as other:
        other.append([event(2)])  # so the next append takes the ordinary path

    def failing_insert(conn: Any, rows: Any) -> None:
        conn.execute("SELECT 1 / 0")

    monkeypatch.setattr(pg_store, "_insert_events", failing_insert)
    with pytest.raises(UnavailableError, match="division by zero"):
        pg_store.append([event(3)])
    conn = pg_store._conn()
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    with psycopg.connect(_conninfo(pg_url), autocommit=True) as probe:
        assert _value(probe.execute("SELECT pg_try_advisory_lock(%s)", [APPEND_LOCK]))
        probe.execute("SELECT pg_advisory_unlock(%s)", [APPEND_LOCK])
    monkeypatch.undo()
    assert pg_store.head().position == 2
    assert pg_store.append([event(3)]) == [3]
    assert verify(pg_store).ok


def test_the_function_notifies_followers_only_when_it_inserts(pg_store: PostgresEventStore) -> None:
    pg_store.append([event(1)])
    listener = psycopg.connect(pg_store._conninfo, autocommit=True)
    try:
        listener.execute(f"LISTEN {CHANNEL}")
        pg_store.append([event(1)])  # a repeat: declined, nothing written
        assert list(listener.notifies(timeout=0.2, stop_after=1)) == []
        pg_store.append([event(2)])
        assert len(list(listener.notifies(timeout=30, stop_after=1))) == 1
    finally:
        listener.close()


def test_the_function_takes_the_stores_lock_and_channel() -> None:
    """The function's SQL spells out the lock key and the channel: they must be the store's."""
    (function,) = dict(POSTGRES)[4]
    assert f"pg_advisory_xact_lock({APPEND_LOCK})" in function
    assert f"pg_notify('{CHANNEL}', '')" in function


def test_both_paths_work_for_a_role_granted_only_select_and_insert_on_the_log(
    pg_url: str,
) -> None:
    """The role of docs/store.md (SELECT and INSERT on events, nothing more) appends both ways."""
    with open_store(pg_url) as owner:
        owner.append([event(1, stream="a")])
    role = f"parley_daemon_{uuid.uuid4().hex[:8]}"
    conninfo = _conninfo(pg_url)
    dbname = psycopg.conninfo.conninfo_to_dict(conninfo)["dbname"]
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN")
        for grant in (
            f'GRANT CONNECT ON DATABASE "{dbname}" TO {role}',
            f"GRANT USAGE ON SCHEMA public TO {role}",
            f"GRANT SELECT ON schema_version TO {role}",
            f"GRANT SELECT, INSERT ON events TO {role}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON projection_checkpoints, view_rows, outbox, "
            f"meta TO {role}",
            f"GRANT USAGE ON SEQUENCE outbox_id_seq TO {role}",
        ):
            admin.execute(grant)
        try:
            url = pg_url.replace("postgres@", f"{role}@", 1)
            with open_store(url) as daemon:
                assert daemon.append([event(2, stream="a")]) == [2]  # head unknown: ordinary
                assert daemon.append([event(3, stream="a")]) == [3]  # known head
                assert daemon.append([event(4, stream="b"), event(5, stream="a")]) == [4, 5]
                with open_store(pg_url) as owner:
                    owner.append([event(6, stream="a")])
                assert daemon.append([event(7, stream="a")]) == [7]  # head moved: ordinary
                with pytest.raises(UnavailableError, match="permission denied"):
                    daemon._query("UPDATE events SET data = '{}' WHERE position = 1")
                versions = [e.stream_version for e in daemon.read() if e.stream_id == "a"]
                assert versions == [1, 2, 3, 4, 5, 6]
                assert verify(daemon).ok
        finally:
            admin.execute(f"DROP OWNED BY {role}")
            admin.execute(f"DROP ROLE {role}")


def test_writers_racing_on_shared_and_new_streams_keep_every_stream_exact(pg_url: str) -> None:
    """Four store objects (four connections, four caches of what they wrote) append single
    events and pairs to shared streams and to streams none has seen, all at once: every stream's
    versions are 1..n, every event is there once, the chain verifies."""
    stores = [open_store(pg_url) for _ in range(4)]
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(60):
                shared = f"shared{i % 3}"
                if i % 4 == 0:
                    batch = [
                        event(n * 1000 + i, stream=shared),
                        event(n * 1000 + 500 + i, stream=f"new{n}-{i}"),
                    ]
                else:
                    batch = [event(n * 1000 + i, stream=shared if i % 2 else f"new{n}-{i}")]
                stores[n].append(batch)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    read = list(stores[0].read())
    assert [e.position for e in read] == list(range(1, len(read) + 1))
    assert len({e.idempotency_key for e in read}) == len(read) == 4 * (60 + 15)
    by_stream: dict[str, list[int]] = {}
    for e in read:
        by_stream.setdefault(e.stream_id, []).append(e.stream_version)
    for stream, versions in by_stream.items():
        assert versions == list(range(1, len(versions) + 1)), stream
    assert verify(stores[0]).ok
    for store in stores:
        store.close()
