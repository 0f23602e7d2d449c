"""The rows a replay rebuilds, kept on disk instead of in memory, so a replay's memory stays flat.

    with RowStore() as rows:
        rows.apply(changes)          # the row changes of each event, as the runner gets them
        rows.flush()                 # every batch: the rows changed since the last flush go to disk
        for row in rows.rows("agreed_exchanges"): ...   # sorted by key, as the live views are

Why: the views hold every row the log ever produced, and an exchange row starts with each new
agreement, so the rows grow with the log (about 5 per 100 events on the generated benchmark
log) even though the projection's own state is bounded (its windows let old rows go). Held as
dicts, the rows were most of a long replay's memory. Here only the rows changed since the last
flush are in memory (changes coalesced per row, the last one winning, as the live runner does);
the rest are canonical JSON in a temporary SQLite file, deleted on `close()`. Rows are read back
in key order (SQLite compares keys as UTF-8 bytes, which is code-point order, the order
`sorted()` gives and the live `view_rows` are read in).

A stored row is its JSON text, so rows read back are JSON values exactly as the live views give
them (lists, never tuples).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from store.records import RowChange

_SCHEMA = (
    "CREATE TABLE rows (view TEXT NOT NULL, key TEXT NOT NULL, row TEXT NOT NULL, "
    "PRIMARY KEY (view, key)) WITHOUT ROWID"
)


def _text(row: Mapping[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


class RowStore:
    """Rebuilt view rows: the recently changed ones in memory, all the others in a temporary file.

    Not thread-safe; one replay owns it. The constructor creates the temporary folder (under
    `directory`, default the system's temporary folder); `close()` deletes it.
    """

    def __init__(self, directory: str | Path | None = None) -> None:
        self._folder = Path(tempfile.mkdtemp(prefix="parley-replay-rows-", dir=directory))
        self._db = sqlite3.connect(self._folder / "rows.db", isolation_level=None)
        self._db.execute("PRAGMA journal_mode = OFF")  # scratch data: a crash loses nothing real
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute(_SCHEMA)
        self._pending: dict[tuple[str, str], Mapping[str, Any] | None] = {}
        self._closed = False

    # Writing -----------------------------------------------------------------------------------
    def apply(self, changes: Iterable[RowChange]) -> None:
        """Record row changes (a `None` row removes the row); the last change of a row wins."""
        pending = self._pending
        for change in changes:
            pending[(change.view, change.key)] = change.row

    def flush(self) -> int:
        """Write the rows changed since the last flush to the file; return how many."""
        if not self._pending:
            return 0
        upserts = [(v, k, _text(r)) for (v, k), r in self._pending.items() if r is not None]
        deletes = [(v, k) for (v, k), r in self._pending.items() if r is None]
        db = self._db
        db.execute("BEGIN")
        try:
            db.executemany("INSERT OR REPLACE INTO rows (view, key, row) VALUES (?, ?, ?)", upserts)
            db.executemany("DELETE FROM rows WHERE view = ? AND key = ?", deletes)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        written = len(self._pending)
        self._pending = {}
        return written

    # Reading -----------------------------------------------------------------------------------
    def rows(self, view: str) -> Iterator[dict[str, Any]]:
        """The rows of `view`, sorted by key (flushes first). Holds one row at a time."""
        self.flush()
        cursor = self._db.execute("SELECT row FROM rows WHERE view = ? ORDER BY key", (view,))
        try:
            for (text,) in cursor:
                yield json.loads(text)
        finally:
            cursor.close()

    def count(self, view: str) -> int:
        """How many rows `view` has (flushes first)."""
        self.flush()
        (n,) = self._db.execute("SELECT count(*) FROM rows WHERE view = ?", (view,)).fetchone()
        return int(n)

    @property
    def in_memory(self) -> int:
        """How many row changes wait for the next flush (what the replay holds of the rows)."""
        return len(self._pending)

    # Life --------------------------------------------------------------------------------------
    def close(self) -> None:
        """Delete the temporary file. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._db.close()
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> RowStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
