"""The reading half of the log, shared by both backends: pages of records, streams, head, follow.

Reads are the hot path of every projection and audit: one SELECT per page, one `orjson.loads` per
page for the payloads, and frozen records built without the dataclass's keyword `__init__`.
"""

# SQL here is built only from constant column lists and "?" placeholders, never from values:
# ruff: noqa: S608

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

import orjson
import structlog

from store.canonical import GENESIS_HASH, format_time
from store.errors import IntegrityError, StoreError
from store.records import Head, RecordedEvent

log = structlog.get_logger("store")

COLUMNS = (
    "position, stream_id, stream_version, event_type, schema_version, recorded_at, "
    "idempotency_key, data, prev_hash, hash"
)
_WAIT_SLICE = 0.5
_FOLLOW_BATCH = 500
_loads = orjson.loads


class _Loaded:
    """`RecordedEvent`'s slots, in the same order, without its frozen `__setattr__`.

    The read hot path builds each record as a `_Loaded` with a plain positional `__init__` and
    then makes it a `RecordedEvent` by assigning `__class__`, which CPython allows between two
    classes of exactly the same layout (same slots, same base). The result is an ordinary
    frozen `RecordedEvent`; building it this way costs about half as much as filling the slots
    one descriptor call at a time, and a third of the dataclass's own `__init__`.
    """

    __slots__ = RecordedEvent.__slots__

    def __init__(  # noqa: PLR0917  (one positional parameter per column: the fast way in)
        self,
        position: int,
        stream_id: str,
        stream_version: int,
        event_type: str,
        schema_version: int,
        recorded_at: Any,
        idempotency_key: str,
        data: Any,
        prev_hash: str,
        hash: str,
    ) -> None:
        self.position = position
        self.stream_id = stream_id
        self.stream_version = stream_version
        self.event_type = event_type
        self.schema_version = schema_version
        self.recorded_at = recorded_at
        self.idempotency_key = idempotency_key
        self.data = data
        self.prev_hash = prev_hash
        self.hash = hash


class LogReader:
    """Mixin: everything that reads `events`. `SQLEventStore` provides the hooks below."""

    url_for_display: str
    _closed: threading.Event

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        raise NotImplementedError

    def _time_in(self, value: Any) -> datetime:
        raise NotImplementedError

    def _release_thread(self) -> None:
        raise NotImplementedError

    def wait(self, after_position: int, timeout: float) -> bool:
        raise NotImplementedError

    def _read_page(self, sql: str, params: Sequence[Any]) -> list[RecordedEvent]:
        """The records one SELECT of `COLUMNS` returns. SQLite overrides this to build them
        straight from the cursor (no list of driver rows kept alongside the records)."""
        return self._records(self._query(sql, params))

    def _records(self, rows: Iterable[Sequence[Any]]) -> list[RecordedEvent]:
        """Build the records of one fetched batch: the hot path of every read.

        Each record is built as a `_Loaded` from the row's columns; a timestamp shared by
        consecutive rows (one per append) is converted once. The batch's payloads are then
        decoded with one `orjson.loads` call and each record is given its payload and its
        class. A page orjson refuses (an integer wider than 64 bits, which JSON allows) is
        decoded row by row with the standard library instead. `rows` may be a cursor: no row
        is needed once its record is built, so the driver's row tuples die one by one instead
        of living (and being traced by the garbage collector) as long as the page.
        """
        time_in = self._time_in
        last_raw: Any = None
        last_time: datetime | None = None
        out: list[Any] = []
        append = out.append
        texts: list[str] = []
        text = texts.append
        loaded = _Loaded
        for row in rows:
            event = loaded(*row)
            raw = row[5]
            if raw != last_raw:
                last_raw, last_time = raw, time_in(raw)
            event.recorded_at = last_time
            text(row[7])
            append(event)
        if not out:
            return out
        try:
            payloads = _loads("[" + ",".join(texts) + "]")
        except ValueError:
            payloads = [self._decode_one(e.position, t) for e, t in zip(out, texts, strict=True)]
        cls = RecordedEvent
        for event, data in zip(out, payloads, strict=True):
            event.data = data
            event.__class__ = cls
        return out

    def _decode_one(self, position: int, text: str) -> Any:
        try:
            return json.loads(text)
        except ValueError as exc:
            raise IntegrityError(
                f"{self.url_for_display}: the stored payload of position {position} is not JSON "
                f"({exc}); run `parley verify`"
            ) from exc

    def read(
        self,
        from_position: int = 1,
        *,
        to_position: int | None = None,
        batch_size: int = 1000,
        event_types: Sequence[str] | None = None,
    ) -> Iterator[RecordedEvent]:
        """Stream events in position order, one SELECT of `batch_size` rows at a time."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        where = "position >= ?"
        extra: list[Any] = []
        if to_position is not None:
            where += " AND position <= ?"
            extra.append(to_position)
        if event_types is not None:
            if not event_types:
                return
            where += f" AND event_type IN ({', '.join('?' * len(event_types))})"
            extra.extend(event_types)
        sql = f"SELECT {COLUMNS} FROM events WHERE {where} ORDER BY position LIMIT ?"
        position = max(from_position, 1)
        while True:
            page = self._read_page(sql, [position, *extra, batch_size])
            if len(page) < batch_size:
                yield from page
                return
            last = page[-1].position
            yield from page
            # Let a page the caller no longer holds die before the next one is built.
            del page
            if to_position is not None and last >= to_position:
                return
            position = last + 1

    def stored_rows(
        self, from_position: int = 1, *, batch_size: int = 5000
    ) -> Iterator[tuple[Any, ...]]:
        """The stored columns of every event from `from_position`, as the hash chain sees them.

        Each tuple is (position, stream_id, stream_version, event_type, schema_version,
        recorded_at as chain text, idempotency_key, payload text, prev_hash, hash). Streams in
        batches; nothing is parsed, so `verify` checks exactly the bytes that are stored.
        """
        sql = f"SELECT {COLUMNS} FROM events WHERE position >= ? ORDER BY position LIMIT ?"
        position = max(from_position, 1)
        while True:
            rows = self._query(sql, [position, batch_size])
            for row in rows:
                yield (*row[:5], self._time_text(row[5]), *row[6:])
            if len(rows) < batch_size:
                return
            position = rows[-1][0] + 1

    def _time_text(self, value: Any) -> str:
        return format_time(self._time_in(value))

    def read_stream(self, stream_id: str) -> list[RecordedEvent]:
        """Every event of one stream, in stream-version order."""
        sql = f"SELECT {COLUMNS} FROM events WHERE stream_id = ? ORDER BY stream_version"
        return self._read_page(sql, [stream_id])

    def head(self) -> Head:
        """The newest event's position and hash (0 and the genesis hash when the log is empty)."""
        rows = self._query("SELECT position, hash FROM events ORDER BY position DESC LIMIT 1")
        if not rows:
            return Head(position=0, hash=GENESIS_HASH)
        return Head(position=rows[0][0], hash=rows[0][1])

    def follow(
        self, from_position: int = 1, *, idle_timeout: float | None = None
    ) -> Iterator[RecordedEvent]:
        """Yield events from `from_position` on, waiting for new ones; never skips a position.

        Returns after `idle_timeout` seconds without a new event, or soon after `close()`.
        """
        try:
            yield from self._follow(from_position, idle_timeout)
        finally:
            if self._closed.is_set():
                self._release_thread()

    def _follow(self, from_position: int, idle_timeout: float | None) -> Iterator[RecordedEvent]:
        expected = max(from_position, 1)
        idle_since = time.monotonic()
        while not self._closed.is_set():
            progressed = False
            try:
                batch = list(
                    self.read(
                        expected, to_position=expected + _FOLLOW_BATCH - 1, batch_size=_FOLLOW_BATCH
                    )
                )
            except StoreError:
                if self._closed.is_set():
                    return  # closed under our feet by close() from another thread
                raise
            for event in batch:
                if event.position != expected:
                    # A hole: never skip it; wait for it to fill (it cannot under the append lock).
                    log.warning("follow_gap", expected=expected, found=event.position)
                    break
                yield event
                expected += 1
                progressed = True
            if progressed:
                idle_since = time.monotonic()
                continue
            slice_ = _WAIT_SLICE
            if idle_timeout is not None:
                remaining = idle_timeout - (time.monotonic() - idle_since)
                if remaining <= 0:
                    return
                slice_ = min(slice_, remaining)
            try:
                self.wait(expected - 1, slice_)
            except StoreError:
                if self._closed.is_set():
                    return
                raise
