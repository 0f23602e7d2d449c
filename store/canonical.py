"""Canonical bytes and the hash chain: the one definition every backend and `verify` share.

An event's hash is

    sha256( prev_hash  "\\n"  header  "\\n"  payload )

as hex, where `prev_hash` is the previous event's hash as 64 lowercase hex characters (the
`GENESIS_HASH`, 64 zeros, for position 1), `header` is the canonical JSON array

    [position, stream_id, stream_version, event_type, schema_version, recorded_at, idempotency_key]

with `recorded_at` written as ISO 8601 in UTC with microseconds (`2026-11-25T15:00:00.000000+00:00`),
and `payload` is the canonical JSON of the event's data, exactly as stored. Canonical JSON is UTF-8,
keys sorted, no whitespace (`","` and `":"`), non-ASCII characters written as themselves, and no NaN
or infinity. Anyone can recompute the chain from the stored columns with a few lines of any language.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime

from store.errors import SerializationError
from store.records import JSONValue

GENESIS_HASH = "0" * 64
"""The `prev_hash` of the first event, and the head hash of an empty log."""

_ENCODER = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
)


def canonical_json(value: JSONValue, *, where: str) -> str:
    """`value` as canonical JSON text.

    Raises `SerializationError` naming `where` when `value` holds something JSON cannot carry
    (a set, bytes, a datetime, NaN, a non-string key, a string that is not valid Unicode).
    """
    try:
        text = _ENCODER.encode(value)
        text.encode("utf-8")  # lone surrogates cannot be stored as UTF-8
    except (TypeError, ValueError, UnicodeEncodeError) as exc:
        raise SerializationError(f"{where}: payload is not JSON-serialisable ({exc})") from exc
    return text


def canonical_payload(data: Mapping[str, JSONValue], *, where: str) -> str:
    """The canonical JSON of an event's payload, which must be a JSON object with string keys."""
    if not isinstance(data, Mapping):
        raise SerializationError(f"{where}: payload must be a mapping, not {type(data).__name__}")
    for key in data:
        if not isinstance(key, str):
            raise SerializationError(f"{where}: payload key {key!r} is not a string")
    return canonical_json(data if isinstance(data, dict) else dict(data), where=where)


def format_time(moment: datetime) -> str:
    """A timestamp as the chain writes it: ISO 8601, UTC, microseconds."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(
    prev_hash: str,
    *,
    position: int,
    stream_id: str,
    stream_version: int,
    event_type: str,
    schema_version: int,
    recorded_at: str,
    idempotency_key: str,
    payload: str,
) -> str:
    """The hash of one event (see the module docstring for the exact bytes)."""
    header = _ENCODER.encode(
        [
            position,
            stream_id,
            stream_version,
            event_type,
            schema_version,
            recorded_at,
            idempotency_key,
        ]
    )
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(b"\n")
    digest.update(header.encode("utf-8"))
    digest.update(b"\n")
    digest.update(payload.encode("utf-8"))
    return digest.hexdigest()
