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
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from json.encoder import encode_basestring as _quote
from typing import Any

from store.errors import SerializationError
from store.records import JSONValue

GENESIS_HASH = "0" * 64
"""The `prev_hash` of the first event, and the head hash of an empty log."""

_ENCODER = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False
)


def _refuse(value: object) -> None:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# The C encoder behind _ENCODER, built once rather than on every call (twice as fast for the
# small payloads events carry). Same settings, same bytes; no cycle check (a cycle raises
# RecursionError, reported like any other unserialisable value).
_make: Any = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODER: Any = (
    _make(None, _refuse, _quote, None, ":", ",", True, False, False) if _make is not None else None
)


def _encode(value: object) -> str:
    if _C_ENCODER is None:
        return _ENCODER.encode(value)
    return "".join(_C_ENCODER(value, 0))


def _check_keys(value: object, where: str) -> None:
    """Refuse a non-string key at any depth: JSON would silently turn `{1: "x"}` into `{"1": "x"}`,
    and the event read back would differ from the one appended."""
    if type(value) is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise SerializationError(f"{where}: payload key {key!r} is not a string")
            if type(item) is dict or type(item) is list:
                _check_keys(item, where)
    elif type(value) is list:
        for item in value:
            if type(item) is dict or type(item) is list:
                _check_keys(item, where)


def canonical_json(value: JSONValue, *, where: str) -> str:
    """`value` as canonical JSON text.

    Raises `SerializationError` naming `where` when `value` holds something JSON cannot carry
    (a set, bytes, a datetime, NaN, a non-string key, a string that is not valid Unicode).
    """
    try:
        _check_keys(value, where)
        text = _encode(value)
        text.encode("utf-8")  # lone surrogates cannot be stored as UTF-8
    except (TypeError, ValueError, UnicodeEncodeError, RecursionError) as exc:
        raise SerializationError(f"{where}: payload is not JSON-serialisable ({exc})") from exc
    return text


def canonical_payload(data: Mapping[str, JSONValue], *, where: str) -> str:
    """The canonical JSON of an event's payload, which must be a JSON object with string keys.

    Raises `SerializationError` naming `where`. (Strings that are not valid Unicode are caught
    when the event is hashed, by `event_hash`'s caller.)
    """
    if type(data) is not dict:
        if not isinstance(data, Mapping):
            raise SerializationError(
                f"{where}: payload must be a mapping, not {type(data).__name__}"
            )
        data = dict(data)
    try:
        _check_keys(data, where)
        return _encode(data)
    except (TypeError, ValueError, RecursionError) as exc:
        raise SerializationError(f"{where}: payload is not JSON-serialisable ({exc})") from exc


def format_time(moment: datetime) -> str:
    """A timestamp as the chain writes it: ISO 8601, UTC, microseconds."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


# [(a second since the epoch, its text up to the second)]: replaced whole, so threads see an old
# pair or a new one, never a mix.
_second_text: list[tuple[int, str]] = [(-1, "")]


def utc_now_text() -> str:
    """The current time as the chain writes it: `format_time(datetime.now(UTC))`, same text.

    Every append stamps its events with this. `datetime.now(UTC).isoformat(...)` costs several
    microseconds; here the clock is read as an integer and the date and time up to the second
    are formatted once per second, so only the microseconds are written each time. (Both read
    the same system clock, and both truncate to the microsecond.)
    """
    seconds, micros = divmod(time.time_ns() // 1000, 1_000_000)
    cached, prefix = _second_text[0]
    if seconds != cached:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        _second_text[0] = (seconds, prefix)
    return f"{prefix}.{micros:06d}+00:00"


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
    """The hash of one event (see the module docstring for the exact bytes).

    Raises `UnicodeEncodeError` for a string that is not valid Unicode (a lone surrogate).
    """
    # Written out by hand: the same bytes as `_ENCODER.encode([...])`, at a third of the cost.
    header = (
        f"[{position:d},{_quote(stream_id)},{stream_version:d},{_quote(event_type)},"
        f"{schema_version:d},{_quote(recorded_at)},{_quote(idempotency_key)}]"
    )
    return hashlib.sha256(f"{prev_hash}\n{header}\n{payload}".encode()).hexdigest()


def stored_row_hash(prev_hash: str, row: Sequence[Any]) -> str:
    """`event_hash` of a stored row in `store._reader.COLUMNS` order (times as their stored text)."""
    return event_hash(
        prev_hash,
        position=row[0],
        stream_id=row[1],
        stream_version=row[2],
        event_type=row[3],
        schema_version=row[4],
        recorded_at=row[5],
        idempotency_key=row[6],
        payload=row[7],
    )
