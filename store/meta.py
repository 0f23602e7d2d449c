"""Small operational state kept beside the log, not in it: `put_meta` / `get_meta` on both backends.

What a daemon needs to remember between runs that is not a fact about the world (the health of a
source, the ETag a server sent): a JSON value per (namespace, key), overwritten in place. It has
no hash chain and no history; never put anything here that a replay must see.
"""

# SQL here is constant text with "?" placeholders: ruff: noqa: S608

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from store.errors import SerializationError
from store.records import JSONValue


class MetaTable:
    """Mixin for `SQLEventStore` subclasses: the `meta` table (schema migration 2)."""

    if TYPE_CHECKING:  # provided by SQLEventStore; declared for the type checker only

        def _conn(self) -> Any: ...
        def _sql(self, sql: str) -> str: ...
        def _guard(self, action: str) -> AbstractContextManager[None]: ...
        def _transaction(self, conn: Any, *, append_lock: bool) -> AbstractContextManager[None]: ...
        def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...

    def put_meta(self, namespace: str, key: str, value: JSONValue) -> None:
        """Store `value` under (`namespace`, `key`), replacing any earlier value.

        Raises `SerializationError` when `value` is not JSON, `UnavailableError` when the
        database refuses the write.
        """
        try:
            text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise SerializationError(f"meta {namespace}/{key}: not JSON: {exc}") from None
        conn = self._conn()
        with (
            self._guard(f"write meta {namespace}/{key}"),
            self._transaction(conn, append_lock=False),
        ):
            conn.execute(
                self._sql(
                    "INSERT INTO meta (namespace, meta_key, value, updated_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (namespace, meta_key) DO UPDATE "
                    "SET value = excluded.value, updated_at = excluded.updated_at"
                ),
                [namespace, key, text, datetime.now(UTC).isoformat()],
            )

    def get_meta(self, namespace: str) -> dict[str, JSONValue]:
        """Every key of `namespace` with its value, {} when there is none."""
        rows = self._query("SELECT meta_key, value FROM meta WHERE namespace = ?", [namespace])
        return {str(k): json.loads(v) for k, v in rows}
