"""The pure core of an append: checks, positions, stream versions and hashes for one batch.

Backends call `plan_append` inside their write transaction, with the head and the stream versions
and idempotency keys they read under the append lock, then insert the rows it returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from hashlib import sha256
from json.encoder import encode_basestring as quote

from store.canonical import canonical_payload
from store.errors import ConcurrencyError, SerializationError
from store.records import NewEvent

EventRow = tuple[int, str, int, str, int, str, str, str, str, str]
"""position, stream_id, stream_version, event_type, schema_version, recorded_at, key, data, prev_hash, hash"""


def _check_text(value: object, what: str, where: str) -> None:
    if not isinstance(value, str) or not value:
        raise SerializationError(f"{where}: {what} must be a non-empty string, not {value!r}")
    if "\x00" in value:
        raise SerializationError(f"{where}: {what} {value!r} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SerializationError(f"{where}: {what} {value!r} is not valid Unicode") from exc


def serialise_batch(events: Sequence[NewEvent]) -> list[str]:
    """Check every event of a batch and return each payload's canonical JSON, before any I/O.

    Raises `SerializationError` naming the event (index, type, stream) on the first bad one.
    """
    payloads: list[str] = []
    for index, event in enumerate(events):
        stream_id, event_type, key = event.stream_id, event.event_type, event.idempotency_key
        expected = event.expected_version
        if not (  # the common case, checked in one go; anything unusual gets the full checks
            type(stream_id) is str
            and type(event_type) is str
            and type(key) is str
            and stream_id
            and event_type
            and key
            and (text := stream_id + event_type + key).isascii()
            and text.isprintable()
            and type(event.schema_version) is int
            and event.schema_version >= 1
            and (expected is None or (type(expected) is int and expected >= 0))
        ):
            _check_event(event, index)
        try:
            payloads.append(canonical_payload(event.data, where=""))
        except SerializationError:  # again, with the message naming the event
            where = f"event {index} of the batch ({event_type!r} in stream {stream_id!r})"
            canonical_payload(event.data, where=where)
            raise
    return payloads


def _check_event(event: NewEvent, index: int) -> None:
    where = f"event {index} of the batch ({event.event_type!r} in stream {event.stream_id!r})"
    _check_text(event.stream_id, "stream_id", where)
    _check_text(event.event_type, "event_type", where)
    _check_text(event.idempotency_key, "idempotency_key", where)
    if type(event.schema_version) is not int or event.schema_version < 1:
        raise SerializationError(f"{where}: schema_version must be an integer >= 1")
    expected = event.expected_version
    if expected is not None and (type(expected) is not int or expected < 0):
        raise SerializationError(f"{where}: expected_version must be None or an integer >= 0")


def plan_append(
    events: Sequence[NewEvent],
    payloads: Sequence[str],
    *,
    head_position: int,
    head_hash: str,
    existing_keys: Mapping[str, int],
    stream_versions: Mapping[str, int],
    recorded_at: str,
) -> tuple[list[EventRow], list[int]]:
    """The rows to insert and each event's position (the existing one for a known key).

    An event whose idempotency key is already in the log (or earlier in the batch) is skipped, and
    its `expected_version` is not checked: repeating an append is always safe. Raises
    `ConcurrencyError` naming the stream, the expected and the actual version on a mismatch.
    """
    rows: list[EventRow] = []
    positions: list[int] = []
    keys = dict(existing_keys)
    versions = dict(stream_versions)
    position = head_position
    prev = head_hash
    quoted_time = quote(recorded_at)
    for event, payload in zip(events, payloads, strict=True):
        key = event.idempotency_key
        known = keys.get(key)
        if known is not None:
            positions.append(known)
            continue
        stream_id = event.stream_id
        current = versions.get(stream_id, 0)
        if event.expected_version is not None and event.expected_version != current:
            raise ConcurrencyError(
                f"stream {stream_id!r}: expected version {event.expected_version}, "
                f"actual version {current}; nothing of the batch was appended"
            )
        position += 1
        version = current + 1
        # event_hash(), inlined: this loop is the hot path of every append.
        header = (
            f"[{position:d},{quote(stream_id)},{version:d},{quote(event.event_type)},"
            f"{event.schema_version:d},{quoted_time},{quote(key)}]"
        )
        try:
            digest = sha256(f"{prev}\n{header}\n{payload}".encode()).hexdigest()
        except UnicodeEncodeError as exc:
            raise SerializationError(
                f"event {len(positions)} of the batch ({event.event_type!r} in stream "
                f"{stream_id!r}): holds text that is not valid Unicode ({exc})"
            ) from exc
        rows.append(
            (
                position,
                stream_id,
                version,
                event.event_type,
                event.schema_version,
                recorded_at,
                key,
                payload,
                prev,
                digest,
            )
        )
        prev = digest
        keys[key] = position
        versions[stream_id] = version
        positions.append(position)
    return rows, positions
