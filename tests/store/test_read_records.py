"""What a read hands back is an ordinary frozen RecordedEvent, however fast it was built."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from store import NewEvent
from store._projections import ProjectionStore
from store._reader import _Loaded
from store.records import RecordedEvent
from tests.store._helpers import event


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
