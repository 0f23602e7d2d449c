"""What a read hands back is an ordinary frozen RecordedEvent, however fast it was built."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from store import NewEvent
from store._projections import ProjectionStore
from store._reader import _Loaded
from store.errors import IntegrityError
from store.records import RecordedEvent
from tests.store._helpers import drop_guards, event, raw_sql


def test_read_records_are_frozen_recorded_events_equal_to_keyword_built_ones(
    store: ProjectionStore,
) -> None:
    """Type, equality, immutability, replace() and pickling behave as for any RecordedEvent."""
    store.append([event(1, text="Waffenruhe – 停火"), event(2, stream="b")])
    first, second = store.read()
    assert type(first) is RecordedEvent
    rebuilt = RecordedEvent(**{f.name: getattr(first, f.name) for f in dataclasses.fields(first)})
    assert rebuilt == first
    assert first != second
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.position = 7  # type: ignore[misc]
    assert dataclasses.replace(first, position=9).position == 9
    assert pickle.loads(pickle.dumps(first)) == first
    assert first.data == {"n": 1, "text": "Waffenruhe – 停火"}
    assert [e.position for e in store.read_stream("b")] == [2]


def test_the_loader_has_exactly_the_record_layout() -> None:
    """The fast builder and the record share their slots, in order (what makes the class swap safe)."""
    assert _Loaded.__slots__ == RecordedEvent.__slots__
    assert [f.name for f in dataclasses.fields(RecordedEvent)] == list(RecordedEvent.__slots__)


def test_integers_wider_than_64_bits_round_trip(store: ProjectionStore) -> None:
    """JSON allows any integer; a page orjson cannot decode is decoded row by row instead."""
    big = {"big": 2**70, "neg": -(2**65), "list": [2**64, 1.5]}
    store.append([event(1), NewEvent(stream_id="s", event_type="T", data=big, idempotency_key="b")])
    records = list(store.read())
    assert [r.data for r in records] == [{"n": 1}, big]
    assert all(type(r) is RecordedEvent for r in records)


def test_a_stored_payload_that_is_not_json_is_named_by_its_position(
    store: ProjectionStore, db_url: str
) -> None:
    """A page with one undecodable payload fails as a whole, naming that event's position."""
    store.append([event(i) for i in range(1, 6)])
    drop_guards(db_url)
    raw_sql(db_url, "UPDATE events SET data = '{\"n\": ' WHERE position = 4")
    with pytest.raises(IntegrityError, match="payload of position 4 is not JSON"):
        list(store.read())
    assert [e.data for e in store.read(to_position=3, batch_size=3)] == [
        {"n": i} for i in (1, 2, 3)
    ]
    with pytest.raises(IntegrityError, match="position 4"):
        store.read_stream("s")


def test_records_of_every_page_and_a_partial_last_page(store: ProjectionStore) -> None:
    """Pages end where they should: full pages, a short last one, and `to_position` mid-page."""
    store.append([event(i, stream=f"s{i % 3}") for i in range(1, 12)])
    assert [e.position for e in store.read(batch_size=4)] == list(range(1, 12))
    assert [e.position for e in store.read(2, to_position=9, batch_size=4)] == list(range(2, 10))
    assert [e.position for e in store.read(3, to_position=6, batch_size=4)] == [3, 4, 5, 6]
    assert [e.position for e in store.read(12)] == []
    assert [e.data for e in store.read(5, to_position=5)] == [{"n": 5}]
    assert [e.stream_version for e in store.read_stream("s1")] == [1, 2, 3, 4]
