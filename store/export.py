"""Export the log as JSON lines or CSV: every stored column, exactly as the hash chain sees it.

    count = export(store, sys.stdout, fmt="jsonl", from_position=1, to_position=None)

Each record carries position, stream_id, stream_version, event_type, schema_version, recorded_at
(the chain's text form), idempotency_key, data, prev_hash and hash. In CSV, `data` is the stored
canonical JSON text; in JSON lines it is the object, whose canonical JSON (sorted keys, no spaces,
UTF-8) is that same text. So an export from position 1 is enough to recompute every hash with the
recipe in `store.canonical`, without Parley or the database.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any, TextIO

from store._projections import ProjectionStore

FORMATS = ("jsonl", "csv")
FIELDS = (
    "position",
    "stream_id",
    "stream_version",
    "event_type",
    "schema_version",
    "recorded_at",
    "idempotency_key",
    "data",
    "prev_hash",
    "hash",
)


def stored_range(
    store: ProjectionStore, from_position: int = 1, to_position: int | None = None
) -> Iterator[tuple[Any, ...]]:
    """The stored columns of each event from `from_position` to `to_position` (inclusive)."""
    for row in store.stored_rows(max(1, from_position)):
        if to_position is not None and row[0] > to_position:
            return
        yield row


def export(
    store: ProjectionStore,
    out: TextIO,
    *,
    fmt: str,
    from_position: int = 1,
    to_position: int | None = None,
) -> int:
    """Write the events in the range to `out` as `fmt` ("jsonl" or "csv"); return how many.

    Raises `ValueError` for an unknown format, `StoreError` when the log cannot be read.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    rows = stored_range(store, from_position, to_position)
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FIELDS)
        for row in rows:
            writer.writerow(row)
            count += 1
        return count
    for row in rows:
        record = dict(zip(FIELDS, row, strict=True))
        record["data"] = json.loads(row[7])
        out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
    return count
