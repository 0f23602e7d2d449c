"""The behavioural suite of the EventStore port, run unchanged on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from store import (
    GENESIS_HASH,
    ConcurrencyError,
    IntegrityError,
    NewEvent,
    NotFoundError,
    OutboxMessage,
    RowChange,
    SerializationError,
)
from store._projections import ProjectionStore
from tests.store._helpers import event


def test_empty_log_has_genesis_head_and_reads_nothing(store: ProjectionStore) -> None:
    """A new log's head is position 0 with the genesis hash, and reading yields nothing."""
    assert store.head().position == 0
    assert store.head().hash == GENESIS_HASH
    assert list(store.read()) == []


def test_append_assigns_gap_free_positions_and_stream_versions(store: ProjectionStore) -> None:
    """Positions run 1, 2, 3... across batches; each stream counts its own versions."""
    assert store.append([event(1, stream="a"), event(2, stream="b")]) == [1, 2]
    assert store.append([event(3, stream="a")]) == [3]
    read = list(store.read())
    assert [e.position for e in read] == [1, 2, 3]
    assert [(e.stream_id, e.stream_version) for e in read] == [("a", 1), ("b", 1), ("a", 2)]
    assert [dict(e.data) for e in read] == [{"n": 1}, {"n": 2}, {"n": 3}]


def test_each_event_links_to_the_previous_hash(store: ProjectionStore) -> None:
    """prev_hash of each event is the hash of the one before; the first links to genesis."""
    store.append([event(i) for i in range(1, 5)])
    read = list(store.read())
    assert read[0].prev_hash == GENESIS_HASH
    for before, after in pairwise(read):
        assert after.prev_hash == before.hash
    assert store.head().hash == read[-1].hash


def test_repeated_idempotency_key_appends_nothing_and_returns_existing_position(
    store: ProjectionStore,
) -> None:
    """Appending a known key again returns its old position and writes nothing."""
    store.append([event(1), event(2)])
    assert store.append([event(2), event(3)]) == [2, 3]
    assert store.append([event(3, expected=0)]) == [3]  # a repeat skips the version check too
    assert [e.idempotency_key for e in store.read()] == ["k1", "k2", "k3"]


def test_duplicate_key_within_one_batch_is_stored_once(store: ProjectionStore) -> None:
    """Two events with the same key in one batch: the first is stored, both get its position."""
    assert store.append([event(1), event(1, stream="other")]) == [1, 1]
    assert store.head().position == 1


def test_wrong_expected_version_raises_and_writes_nothing_of_the_batch(
    store: ProjectionStore,
) -> None:
    """A conflict on one event rejects the whole batch, naming stream, expected and actual."""
    store.append([event(1, stream="a")])
    with pytest.raises(ConcurrencyError, match=r"stream 'a': expected version 0, actual version 1"):
        store.append([event(2, stream="b"), event(3, stream="a", expected=0)])
    assert store.head().position == 1
    assert store.append([event(2, stream="a", expected=1)]) == [2]


def test_stream_versions_stay_exact_when_two_writers_alternate(
    store: ProjectionStore, db_url: str
) -> None:
    """Appends from another store object in between are seen: versions and expectations hold."""
    from store import open_store

    with open_store(db_url) as other:
        store.append([event(1, stream="a")])
        other.append([event(2, stream="a", expected=1)])
        with pytest.raises(ConcurrencyError, match="expected version 1, actual version 2"):
            store.append([event(3, stream="a", expected=1)])
        store.append([event(3, stream="a", expected=2)])
        other.append([event(4, stream="a")])
        store.append([event(5, stream="a"), event(6, stream="b")])
    assert [e.stream_version for e in store.read_stream("a")] == [1, 2, 3, 4, 5]


def test_expected_version_counts_events_earlier_in_the_same_batch(store: ProjectionStore) -> None:
    """Within a batch, the expected version follows the events appended before it."""
    store.append([event(1, stream="a", expected=0), event(2, stream="a", expected=1)])
    assert [e.stream_version for e in store.read_stream("a")] == [1, 2]


def test_unserialisable_payload_names_the_event_and_writes_nothing(store: ProjectionStore) -> None:
    """A payload JSON cannot carry is refused before anything is written."""
    bad = NewEvent(stream_id="a", event_type="Bad", data={"when": {1, 2}}, idempotency_key="x")
    with pytest.raises(SerializationError, match=r"event 1 of the batch \('Bad' in stream 'a'\)"):
        store.append([event(1), bad])
    nan = NewEvent(stream_id="a", event_type="Bad", data={"v": float("nan")}, idempotency_key="y")
    with pytest.raises(SerializationError):
        store.append([nan])
    assert store.head().position == 0


@pytest.mark.parametrize(
    "data",
    [{1: "x"}, {"a": {1: "x"}}, {"a": [{"b": {None: 1}}]}, {"a": [[{2.5: 1}]]}],
    ids=["top", "nested", "in-a-list", "deep"],
)
def test_a_non_string_key_at_any_depth_is_refused(
    store: ProjectionStore, data: dict[str, object]
) -> None:
    """JSON would turn `{1: "x"}` into `{"1": "x"}`: the event read back would differ from the one
    appended, so a non-string key anywhere in the payload is refused and nothing is written."""
    bad = NewEvent(stream_id="a", event_type="Bad", data=data, idempotency_key="k")  # type: ignore[arg-type]
    with pytest.raises(SerializationError, match="is not a string"):
        store.append([bad])
    assert store.head().position == 0


def test_empty_stream_id_is_refused(store: ProjectionStore) -> None:
    """A stream id must be a non-empty string without NUL characters."""
    with pytest.raises(SerializationError, match="stream_id"):
        store.append([NewEvent(stream_id="", event_type="T", data={}, idempotency_key="k")])
    with pytest.raises(SerializationError, match="NUL"):
        store.append([NewEvent(stream_id="a\x00b", event_type="T", data={}, idempotency_key="k")])


def test_read_streams_in_batches_from_a_position_with_filters(store: ProjectionStore) -> None:
    """read() honours from/to positions, batch size and event-type filters, in order."""
    store.append([event(i) for i in range(1, 26)])
    store.append([NewEvent(stream_id="z", event_type="Other", data={}, idempotency_key="o")])
    assert [e.position for e in store.read(10, batch_size=4)] == list(range(10, 27))
    assert [e.position for e in store.read(3, to_position=7, batch_size=2)] == [3, 4, 5, 6, 7]
    assert [e.position for e in store.read(event_types=["Other"], batch_size=3)] == [26]
    assert list(store.read(event_types=[])) == []


def test_read_fetches_page_by_page_as_it_is_consumed(store: ProjectionStore) -> None:
    """read() is lazy: a page is fetched only when needed, so events appended meanwhile appear."""
    store.append([event(i) for i in range(1, 4)])
    reader = store.read(batch_size=2)
    assert [next(reader).position, next(reader).position] == [1, 2]
    store.append([event(4), event(5)])
    assert [e.position for e in reader] == [3, 4, 5]


def test_read_stream_returns_one_stream_in_version_order(store: ProjectionStore) -> None:
    """read_stream() gives only that stream's events, versions 1..n."""
    store.append([event(1, stream="a"), event(2, stream="b"), event(3, stream="a")])
    assert [e.position for e in store.read_stream("a")] == [1, 3]
    assert store.read_stream("missing") == []


def test_recorded_at_is_utc_and_never_goes_backwards(store: ProjectionStore) -> None:
    """Every event carries an aware UTC time, non-decreasing along the log."""
    before = datetime.now(UTC) - timedelta(seconds=1)
    store.append([event(1)])
    store.append([event(2)])
    times = [e.recorded_at for e in store.read()]
    assert all(t.utcoffset() == timedelta(0) and t >= before for t in times)
    assert times == sorted(times)


def test_unicode_and_nested_payloads_round_trip(store: ProjectionStore) -> None:
    """Non-ASCII text, nesting, floats, nulls and booleans come back as they went in."""
    data = {"text": "Waffenruhe – «accord» 停火 🕊", "n": [1, 2.5, None, True], "o": {"b": {}}}
    store.append([NewEvent(stream_id="ü", event_type="T", data=data, idempotency_key="ключ")])
    (read,) = store.read()
    assert read.data == data
    assert read.stream_id == "ü"
    assert read.idempotency_key == "ключ"


def test_follow_yields_existing_then_new_events_and_stops_when_idle(
    store: ProjectionStore,
) -> None:
    """follow() replays from a position, wakes for a later append, then returns when idle."""
    store.append([event(1), event(2)])
    seen: list[int] = []

    def follower() -> None:
        seen.extend(e.position for e in store.follow(2, idle_timeout=1.5))

    thread = threading.Thread(target=follower)
    thread.start()
    store.append([event(3)])
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert seen == [2, 3]


def test_close_wakes_a_waiting_follower(db_url: str) -> None:
    """close() makes a follow() without idle timeout return."""
    from store import open_store

    store = open_store(db_url)
    store.append([event(1)])
    seen: list[int] = []
    started = threading.Event()

    def follower() -> None:
        for e in store.follow():
            seen.append(e.position)
            started.set()

    thread = threading.Thread(target=follower)
    thread.start()
    assert started.wait(timeout=30)
    store.close()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert seen == [1]


def test_wait_reports_whether_a_newer_event_exists(store: ProjectionStore) -> None:
    """wait() is True at once when the log is past the position, False after a timeout otherwise."""
    store.append([event(1)])
    assert store.wait(0, timeout=5) is True
    assert store.wait(1, timeout=0.2) is False


def test_commit_projection_writes_rows_state_and_checkpoint_together(
    store: ProjectionStore,
) -> None:
    """Rows, saved state, outbox messages and the checkpoint appear together."""
    store.append([event(1), event(2)])
    assert store.checkpoint("p") == (0, None)
    store.commit_projection(
        "p",
        position=2,
        state={"count": 2},
        changes=[
            RowChange(view="v", key="b", row={"name": "b"}),
            RowChange(view="v", key="a", row={"name": "a?"}),
            RowChange(view="v", key="a", row={"name": "a"}),  # the last change to a key wins
            RowChange(view="w", key="x", row={"name": "x"}),
        ],
        outbox=[OutboxMessage(key="m1", topic="alert", payload={"row": "a"})],
    )
    assert store.checkpoint("p") == (2, {"count": 2})
    assert store.view_rows("p", "v") == [{"name": "a"}, {"name": "b"}]
    assert store.view_rows("p", "w") == [{"name": "x"}]
    assert store.view_rows("other", "v") == []
    assert [m.key for m in store.pending_outbox()] == ["m1"]


def test_row_change_with_none_deletes_the_row(store: ProjectionStore) -> None:
    """A RowChange whose row is None removes that row."""
    store.append([event(1), event(2)])
    store.commit_projection(
        "p", position=1, state=None, changes=[RowChange(view="v", key="a", row={"x": 1})]
    )
    store.commit_projection(
        "p", position=2, state=None, changes=[RowChange(view="v", key="a", row=None)]
    )
    assert store.view_rows("p", "v") == []


def test_commit_from_a_moved_checkpoint_raises_and_writes_nothing(
    store: ProjectionStore, db_url: str
) -> None:
    """Two runners starting from the same checkpoint: the second commit is refused whole."""
    from store import open_store

    store.append([event(1), event(2), event(3)])
    other = open_store(db_url)
    try:
        assert store.checkpoint("p")[0] == 0
        assert other.checkpoint("p")[0] == 0
        other.commit_projection(
            "p", position=2, state=1, changes=[RowChange(view="v", key="k", row={"by": "other"})]
        )
        with pytest.raises(ConcurrencyError, match=r"checkpoint expected at 0, actual 2"):
            store.commit_projection(
                "p",
                position=3,
                state=2,
                changes=[RowChange(view="v", key="k", row={"by": "store"})],
                outbox=[OutboxMessage(key="lost", topic="t")],
            )
    finally:
        other.close()
    assert store.view_rows("p", "v") == [{"by": "other"}]
    assert store.pending_outbox() == []
    assert store.checkpoint("p") == (2, 1)


def test_checkpoint_beyond_the_head_is_refused(store: ProjectionStore) -> None:
    """A projection cannot claim to have applied events the log does not hold."""
    store.append([event(1)])
    with pytest.raises(IntegrityError, match="beyond the head"):
        store.commit_projection("p", position=5, state=None, changes=[], expected_position=0)


def test_outbox_key_is_stored_once(store: ProjectionStore) -> None:
    """Writing an outbox message whose key exists keeps the first one."""
    store.append([event(1), event(2)])
    store.commit_projection(
        "p", position=1, state=None, changes=[], outbox=[OutboxMessage(key="m", topic="a")]
    )
    store.commit_projection(
        "p", position=2, state=None, changes=[], outbox=[OutboxMessage(key="m", topic="b")]
    )
    assert [(m.key, m.topic) for m in store.pending_outbox()] == [("m", "a")]


def test_mark_outbox_tracks_retries_delivery_and_failure(store: ProjectionStore) -> None:
    """Marked messages leave the pending list when delivered or failed, and wait for their retry time."""
    store.append([event(1)])
    messages = [OutboxMessage(key=k, topic="t", payload={"k": k}) for k in ("a", "b", "c")]
    store.commit_projection("p", position=1, state=None, changes=[], outbox=messages)
    now = datetime.now(UTC)
    store.mark_outbox("a", status="delivered", attempts=1)
    store.mark_outbox(
        "b",
        status="pending",
        attempts=1,
        next_attempt_at=now + timedelta(minutes=5),
        error="timeout",
    )
    store.mark_outbox("c", status="failed", attempts=5, error="gave up")
    assert store.pending_outbox(now=now) == []
    (retry,) = store.pending_outbox(now=now + timedelta(minutes=6))
    assert (retry.key, retry.attempts, retry.last_error) == ("b", 1, "timeout")
    assert [m.key for m in store.pending_outbox()] == ["b"]
    delivered = store.outbox_entry("a")
    assert delivered.status == "delivered"
    assert delivered.delivered_at is not None
    assert store.outbox_entry("c").status == "failed"
    with pytest.raises(NotFoundError, match="'nope'"):
        store.mark_outbox("nope", status="delivered", attempts=1)
    with pytest.raises(ValueError, match="status"):
        store.mark_outbox("a", status="lost", attempts=1)


def test_reset_projection_forgets_rows_state_and_checkpoint(store: ProjectionStore) -> None:
    """After a reset the projection starts from position 0 with no rows; other projections stay."""
    store.append([event(1)])
    for name in ("p", "q"):
        store.commit_projection(
            name, position=1, state={"s": 1}, changes=[RowChange(view="v", key="a", row={"x": 1})]
        )
    store.reset_projection("p")
    assert store.checkpoint("p") == (0, None)
    assert store.view_rows("p", "v") == []
    assert store.view_rows("q", "v") == [{"x": 1}]
    store.commit_projection(
        "p", position=1, state=None, changes=[RowChange(view="v", key="a", row={"x": 2})]
    )
    assert store.view_rows("p", "v") == [{"x": 2}]
