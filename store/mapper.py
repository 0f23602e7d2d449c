"""Turns domain events (frozen dataclasses) into stored records and back, with upcasters.

A domain package declares each event class once:

    @domain_event("PostPublished", version=1)
    @dataclass(frozen=True, kw_only=True, slots=True)
    class PostPublished: ...

and registers upcasters for old versions with `upcaster("PostPublished", from_version=1)`, a
function from the version-1 payload dict to the version-2 payload dict. Reading an event whose type
nobody registered raises `UnknownEventTypeError` naming the type and the position.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, TypeVar

from store.errors import SerializationError, UnknownEventTypeError
from store.records import JSONValue, NewEvent, RecordedEvent

T = TypeVar("T")
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

_TYPES: dict[str, tuple[type[Any], int]] = {}
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def domain_event(name: str, *, version: int = 1) -> Callable[[type[T]], type[T]]:
    """Register a frozen dataclass as the event type `name` at schema `version`."""

    def register(cls: type[T]) -> type[T]:
        if not dataclasses.is_dataclass(cls):
            raise TypeError(f"{cls.__name__} must be a dataclass to be an event")
        known = _TYPES.get(name)
        if known is not None and known[0] is not cls:
            raise TypeError(f"event type {name!r} is already registered to {known[0].__name__}")
        _TYPES[name] = (cls, version)
        cls.event_type = name  # type: ignore[attr-defined]
        cls.schema_version = version  # type: ignore[attr-defined]
        return cls

    return register


def upcaster(name: str, *, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register a function that lifts a `name` payload from `from_version` to the next version."""

    def register(fn: Upcaster) -> Upcaster:
        _UPCASTERS[(name, from_version)] = fn
        return fn

    return register


def _to_json(value: Any, where: str) -> JSONValue:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SerializationError(f"{where}: {value!r} is not valid JSON")
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _to_json(getattr(value, f.name), f"{where}.{f.name}")
            for f in dataclasses.fields(value)
        }
    if isinstance(value, Mapping):
        out: dict[str, JSONValue] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise SerializationError(f"{where}: key {k!r} is not a string")
            out[k] = _to_json(v, f"{where}.{k}")
        return out
    if isinstance(value, list | tuple):
        return [_to_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise SerializationError(f"{where}: {type(value).__name__} cannot be stored as JSON")


def to_payload(event: object) -> dict[str, JSONValue]:
    """The event's fields as a JSON-ready dict (datetimes as ISO 8601 strings)."""
    name = getattr(type(event), "event_type", type(event).__name__)
    payload = _to_json(event, name)
    if not isinstance(payload, dict):
        raise SerializationError(f"{name}: an event must be a dataclass")
    return payload


def to_new_event(
    event: object, *, stream_id: str, idempotency_key: str, expected_version: int | None = None
) -> NewEvent:
    """Wrap a registered domain event for `EventStore.append`."""
    cls = type(event)
    name = getattr(cls, "event_type", None)
    if name is None or name not in _TYPES:
        raise SerializationError(f"{cls.__name__} is not a registered event type")
    return NewEvent(
        stream_id=stream_id,
        event_type=name,
        schema_version=_TYPES[name][1],
        data=to_payload(event),
        idempotency_key=idempotency_key,
        expected_version=expected_version,
    )


def from_recorded(record: RecordedEvent) -> Any:
    """Rebuild the domain event of a stored record, upcasting old schema versions first.

    Field values stay as stored (ISO strings stay strings) unless the class's `from_payload`
    classmethod, when it has one, converts them.
    """
    known = _TYPES.get(record.event_type)
    if known is None:
        raise UnknownEventTypeError(
            f"event at position {record.position} has unknown type {record.event_type!r}"
        )
    cls, version = known
    data = dict(record.data)
    at = record.schema_version
    while at < version:
        lift = _UPCASTERS.get((record.event_type, at))
        if lift is None:
            raise UnknownEventTypeError(
                f"event at position {record.position}: no upcaster for "
                f"{record.event_type} v{at} -> v{at + 1}"
            )
        data = lift(data)
        at += 1
    from_payload = getattr(cls, "from_payload", None)
    if from_payload is not None:
        return from_payload(data)
    return cls(**data)


def registered_types() -> dict[str, int]:
    """Every registered event type and its current schema version."""
    return {name: v for name, (_, v) in sorted(_TYPES.items())}
