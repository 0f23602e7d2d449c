"""Property-based tests (hypothesis): any batch round-trips, and the chain always verifies."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store import NewEvent, open_store
from store.canonical import GENESIS_HASH, event_hash
from store.verify import verify

_counter = itertools.count()

# JSON values as the store accepts them: text without lone surrogates, finite floats.
_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)
_names = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), min_size=1, max_size=12
)
_batch = st.lists(
    st.tuples(_names, _names, st.dictionaries(_text, _json, max_size=5)), min_size=1, max_size=8
)
_settings = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@_settings
@given(batches=st.lists(_batch, min_size=1, max_size=3))
def test_any_appended_batches_read_back_identically_and_verify(db_url: str, batches: list) -> None:
    """Whatever JSON goes in comes out equal, in order, with a chain that verifies."""
    run = next(_counter)
    with open_store(db_url) as store:
        start = store.head().position
        written = []
        for b, batch in enumerate(batches):
            events = [
                NewEvent(
                    stream_id=f"{run}:{stream}",
                    event_type=etype,
                    data=data,
                    idempotency_key=f"{run}:{b}:{i}",
                )
                for i, (stream, etype, data) in enumerate(batch)
            ]
            store.append(events)
            written.extend(events)
        read = list(store.read(start + 1, batch_size=3))
        assert [(e.stream_id, e.event_type, e.data) for e in read] == [
            (w.stream_id, w.event_type, w.data) for w in written
        ]
        assert [e.position for e in read] == list(range(start + 1, start + 1 + len(written)))
        report = verify(store, expect=(read[-1].position, read[-1].hash))
        assert report.ok, report.problems


@settings(max_examples=200, deadline=None)
@given(
    prev=st.sampled_from([GENESIS_HASH, "a" * 64]),
    fields=st.tuples(st.integers(1, 10**9), _names, st.integers(1, 10**6), _names, _names, _text),
    other=st.tuples(st.integers(1, 10**9), _names, st.integers(1, 10**6), _names, _names, _text),
)
def test_event_hash_changes_when_any_field_changes(prev: str, fields: tuple, other: tuple) -> None:
    """Two events that differ in any hashed field have different hashes; equal ones agree."""

    def digest(f: tuple) -> str:
        return event_hash(
            prev,
            position=f[0],
            stream_id=f[1],
            stream_version=f[2],
            event_type=f[3],
            schema_version=1,
            recorded_at="2026-01-01T00:00:00.000000+00:00",
            idempotency_key=f[4],
            payload=f'{{"t":{f[5]!r}}}',
        )

    assert (digest(fields) == digest(other)) == (fields == other)


_TAMPERS = {
    "data": "data = '{\"n\":-1}'",
    "stream_id": "stream_id = stream_id || '!'",
    "event_type": "event_type = 'Forged'",
    "idempotency_key": "idempotency_key = idempotency_key || '!'",
    "stream_version": "stream_version = stream_version + 100",
    "schema_version": "schema_version = schema_version + 1",
}


@_settings
@given(position=st.integers(1, 12), field=st.sampled_from(sorted(_TAMPERS)))
def test_verify_names_the_position_of_any_single_forged_field(
    db_url: str, position: int, field: str
) -> None:
    """Whichever event and whichever hashed field is forged, verify names exactly that position."""
    from tests.store._helpers import drop_guards, event, raw_sql

    with open_store(db_url) as store:
        if store.head().position == 0:
            store.append([event(i, stream="ab"[i % 2]) for i in range(1, 13)])
            drop_guards(db_url)
        original = raw_sql(db_url, f"SELECT {field} FROM events WHERE position = {position}")[0][0]
        raw_sql(db_url, f"UPDATE events SET {_TAMPERS[field]} WHERE position = {position}")
        try:
            report = verify(store)
            assert report.first_bad_position == position
            assert "hash does not match" in report.problems[0]
        finally:
            value = f"'{original}'" if isinstance(original, str) else str(original)
            raw_sql(db_url, f"UPDATE events SET {field} = {value} WHERE position = {position}")
        assert verify(store).events_checked == 12
