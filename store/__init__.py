"""Parley's event store: an append-only, hash-chained log on SQLite or PostgreSQL.

Knows events as typed records, positions, checkpoints and integrity; knows nothing of news.

Public surface:
- `open_store(url)`: the `EventStore` for a database URL, migrated and ready.
- records: `NewEvent`, `RecordedEvent`, `Head`, `RowChange`, `OutboxMessage`, `OutboxEntry`.
- ports: `EventStore`, `Projection`.
- errors: `StoreError` and its subclasses.
- mapper: `domain_event`, `upcaster`, `to_new_event`, `from_recorded`, `to_payload`.
- `GENESIS_HASH`, `ProjectionRunner` (store.runner), `verify` (store.verify).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from store.canonical import GENESIS_HASH
from store.errors import (
    ConcurrencyError,
    ConfigurationError,
    IntegrityError,
    NotFoundError,
    SerializationError,
    StoreError,
    UnavailableError,
    UnknownEventTypeError,
)
from store.mapper import (
    domain_event,
    from_recorded,
    registered_types,
    to_new_event,
    to_payload,
    upcaster,
)
from store.ports import EventStore, Projection
from store.records import (
    Head,
    JSONValue,
    NewEvent,
    OutboxEntry,
    OutboxMessage,
    RecordedEvent,
    RowChange,
)
from store.url import mask_password, parse_url

if TYPE_CHECKING:
    from store._projections import ProjectionStore


def open_store(url: str) -> ProjectionStore:
    """The event store for `url`, with its schema created or upgraded.

    `sqlite:///PATH` (relative) or `sqlite:////ABSOLUTE/PATH` opens (or creates, mode 0600) a
    SQLite file; `postgresql://...` or `postgresql+psycopg://...` connects to PostgreSQL.
    Raises `ConfigurationError` for a malformed or unsupported URL and `UnavailableError` when the
    database cannot be reached, created or read (down, corrupt, unwritable); both name the URL with
    its password masked. Close the store with `close()` (or use it in a `with` block).
    """
    parsed = parse_url(url)
    store: ProjectionStore
    if parsed.backend == "sqlite":
        from store.sqlite import SQLiteEventStore

        assert parsed.sqlite_path is not None
        store = SQLiteEventStore(parsed.sqlite_path, url_for_display=parsed.display)
    else:
        from store.postgres import PostgresEventStore

        assert parsed.conninfo is not None
        store = PostgresEventStore(parsed.conninfo, url_for_display=parsed.display)
    try:
        store.migrate()
    except BaseException:
        store.close()
        raise
    return store


__all__ = [
    "GENESIS_HASH",
    "ConcurrencyError",
    "ConfigurationError",
    "EventStore",
    "Head",
    "IntegrityError",
    "JSONValue",
    "NewEvent",
    "NotFoundError",
    "OutboxEntry",
    "OutboxMessage",
    "Projection",
    "RecordedEvent",
    "RowChange",
    "SerializationError",
    "StoreError",
    "UnavailableError",
    "UnknownEventTypeError",
    "domain_event",
    "from_recorded",
    "mask_password",
    "open_store",
    "parse_url",
    "registered_types",
    "to_new_event",
    "to_payload",
    "upcaster",
]
