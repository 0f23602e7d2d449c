"""The pure core of an append: checks, positions, stream versions and hashes for one batch.

Backends call `plan_append` inside their write transaction, with the head and the stream versions
and idempotency keys they read under the append lock, then insert the rows it returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from store.canonical import canonical_payload, event_hash
from store.errors import ConcurrencyError, SerializationError
from store.records import NewEvent

EventRow = tuple[int, str, int, str, int, str, str, str, str, str]
"""position, stream_id, stream_version, event_type, schema_version, recorded_at, key, data, prev_hash, hash"""


def _check_text(value: object, what: str, where: str) -> None:
    if type(value) is str and value and value.isascii() and value.isprintable():
        return  # the common case, checked cheaply
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
        where = f"event {index} of the batch ({event.event_type!r} in stream {event.stream_id!r})"
        _check_text(event.stream_id, "stream_id", where)
        _check_text(event.event_type, "event_type", where)
        _check_text(event.idempotency_key, "idempotency_key", where)
        if type(event.schema_version) is not int or event.schema_version < 1:
            raise SerializationError(f"{where}: schema_version must be an integer >= 1")
        expected = event.expected_version
        if expected is not None and (type(expected) is not int or expected < 0):
            raise SerializationError(f"{where}: expected_version must be None or an integer >= 0")
        payloads.append(canonical_payload(event.data, where=where))
    return payloads


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
    for event, payload in zip(events, payloads, strict=True):
        known = keys.get(event.idempotency_key)
        if known is not None:
            positions.append(known)
            continue
        current = versions.get(event.stream_id, 0)
        if event.expected_version is not None and event.expected_version != current:
            raise ConcurrencyError(
                f"stream {event.stream_id!r}: expected version {event.expected_version}, "
                f"actual version {current}; nothing of the batch was appended"
            )
        position += 1
        version = current + 1
        try:
            digest = event_hash(
                prev,
                position=position,
                stream_id=event.stream_id,
                stream_version=version,
                event_type=event.event_type,
                schema_version=event.schema_version,
                recorded_at=recorded_at,
                idempotency_key=event.idempotency_key,
                payload=payload,
            )
        except UnicodeEncodeError as exc:
            raise SerializationError(
                f"event {len(positions)} of the batch ({event.event_type!r} in stream "
                f"{event.stream_id!r}): payload holds text that is not valid Unicode ({exc})"
            ) from exc
        rows.append(
            (
                position,
                event.stream_id,
                version,
                event.event_type,
                event.schema_version,
                recorded_at,
                event.idempotency_key,
                payload,
                prev,
                digest,
            )
        )
        prev = digest
        keys[event.idempotency_key] = position
        versions[event.stream_id] = version
        positions.append(position)
    return rows, positions
