"""The two ways an append is written, on both backends, and the time every append stamps.

When this process wrote the head itself, an append is planned from what it remembers and inserted
only if the head is unchanged (one statement on SQLite for a single event, one round trip on
PostgreSQL); otherwise, or when that insert declines, the ordinary path looks everything up
under the append lock. These tests drive both paths into each other and check that the log
stays exactly what one writer alone would have written.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from store import ConcurrencyError, open_store
from store import canonical as canonical_module
from store._projections import ProjectionStore
from store.canonical import format_time, utc_now_text
from store.sqlite import SQLiteEventStore
from store.verify import verify
from tests.store._helpers import event


def test_single_appends_from_two_writers_alternating_keep_the_log_exact(
    store: ProjectionStore, db_url: str
) -> None:
    """Each writer's remembered head goes stale at every turn; nothing is lost or doubled."""
    with open_store(db_url) as other:
        for n in range(1, 21):
            writer = store if n % 3 else other
            assert writer.append([event(n, stream="a" if n % 2 else "b")]) == [n]
        with pytest.raises(ConcurrencyError, match="stream 'a': expected version 3, actual"):
            store.append([event(21, stream="a", expected=3)])
        assert other.append([event(21, stream="a", expected=10)]) == [21]
        assert store.append([event(22, stream="a", expected=11)]) == [22]
    read = list(store.read())
    assert [e.position for e in read] == list(range(1, 23))
    assert [e.stream_version for e in read if e.stream_id == "a"] == list(range(1, 13))
    assert [e.stream_version for e in read if e.stream_id == "b"] == list(range(1, 11))
    report = verify(store)
    assert report.ok, report.problems
    assert report.events_checked == 22


def test_single_append_of_a_known_key_on_a_known_head_writes_nothing(
    store: ProjectionStore,
) -> None:
    """A repeat of one event while this process holds the head returns the old position."""
    store.append([event(1), event(2)])
    head = store.head()
    assert store.append([event(1)]) == [1]
    assert store.append([event(2, expected=0)]) == [2]  # a repeat skips the version check
    assert store.append([event(1), event(2)]) == [1, 2]
    assert store.head() == head
    assert store.append([event(3)]) == [3]  # and the fast path still works afterwards
    assert [e.idempotency_key for e in store.read()] == ["k1", "k2", "k3"]


def test_batch_with_one_known_key_on_a_known_head_is_still_written_once(
    store: ProjectionStore,
) -> None:
    """A batch mixing a known key with new ones: new ones written once, the known one skipped."""
    store.append([event(1), event(2)])
    assert store.append([event(3), event(2), event(4)]) == [3, 2, 4]
    assert [e.idempotency_key for e in store.read()] == ["k1", "k2", "k3", "k4"]
    assert verify(store).ok


def test_recorded_at_does_not_go_back_when_the_clock_does(
    store: ProjectionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event appended after the system clock stepped back is stamped with the head's time."""
    store.append([event(1)])
    (first,) = store.read()
    hour_ago = time.time_ns() - 3600 * 10**9
    fake = SimpleNamespace(time_ns=lambda: hour_ago, strftime=time.strftime, gmtime=time.gmtime)
    monkeypatch.setattr(canonical_module, "time", fake)
    store.append([event(2)])  # this process's remembered head
    store.append([event(3), event(4)])
    times = [e.recorded_at for e in store.read()]
    assert times == [first.recorded_at] * 4


def test_utc_now_text_is_the_chain_format_of_now() -> None:
    """The cached formatting gives exactly format_time(datetime.now(UTC)), between two reads."""
    for _ in range(200):
        before = format_time(datetime.now(UTC))
        now = utc_now_text()
        after = format_time(datetime.now(UTC))
        assert before <= now <= after
        assert datetime.fromisoformat(now).utcoffset() is not None


def test_utc_now_text_formats_any_instant_like_format_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Across second, day and year boundaries, the text is format_time's for that instant."""
    instants_us = [
        1_767_225_599_999_999,  # 2025-12-31T23:59:59.999999Z
        1_767_225_600_000_000,  # the next microsecond: a new second, day and year
        1_767_225_600_000_001,
        1_767_225_600_500_000,
        1_000_000,  # the cache goes back too
        1_767_225_599_999_999,
    ]
    for micros in instants_us:
        value = micros * 1000 + 999  # nanoseconds are truncated, as datetime.now() does
        fake = SimpleNamespace(
            time_ns=lambda v=value: v, strftime=time.strftime, gmtime=time.gmtime
        )
        monkeypatch.setattr(canonical_module, "time", fake)
        expected = format_time(
            datetime.fromtimestamp(micros // 10**6, UTC).replace(microsecond=micros % 10**6)
        )
        assert utc_now_text() == expected


def test_sqlite_single_append_on_a_known_head_is_one_statement(sqlite_url: str) -> None:
    """On SQLite one event on a head this process wrote is a single autocommit INSERT."""
    with open_store(sqlite_url) as store:
        assert isinstance(store, SQLiteEventStore)
        store.append([event(1)])
        statements: list[str] = []
        conn: sqlite3.Connection = store._conn()
        conn.set_trace_callback(statements.append)
        try:
            assert store.append([event(2)]) == [2]
        finally:
            conn.set_trace_callback(None)
        assert len(statements) == 1, statements
        assert statements[0].startswith("INSERT OR IGNORE INTO events")
        assert not conn.in_transaction
        assert [e.position for e in store.read()] == [1, 2]


def test_sqlite_single_append_waits_for_another_writers_lock(sqlite_url: str) -> None:
    """The one-statement append takes the write lock like BEGIN IMMEDIATE: it waits, then
    notices the other writer's event and appends after it."""
    with open_store(sqlite_url) as store, open_store(sqlite_url) as other:
        assert isinstance(store, SQLiteEventStore)
        store.append([event(1)])
        blocker = sqlite3.connect(store.path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        done = threading.Event()
        result: list[int] = []

        def append() -> None:
            result.extend(store.append([event(3)]))
            done.set()

        thread = threading.Thread(target=append)
        thread.start()
        assert not done.wait(timeout=0.5)  # held back by the open write transaction
        blocker.execute("ROLLBACK")
        blocker.close()
        other.append([event(2)])  # may land before or after the waiting append
        thread.join(timeout=60)
        assert not thread.is_alive()
    with open_store(sqlite_url) as reopened:
        keys = [e.idempotency_key for e in reopened.read()]
        assert sorted(keys) == ["k1", "k2", "k3"]
        assert verify(reopened).ok
        assert result == [keys.index("k3") + 1]


def test_wait_wakes_when_another_thread_appends(store: ProjectionStore) -> None:
    """A waiter sleeping on the log is woken by an append from another thread."""
    store.append([event(1)])
    woke: list[bool] = []
    thread = threading.Thread(target=lambda: woke.append(store.wait(1, timeout=60)))
    thread.start()
    store.append([event(2)])
    thread.join(timeout=90)
    assert not thread.is_alive()
    assert woke == [True]
