"""Helpers for the store tests: raw SQL on the database under test, and small test events."""

from __future__ import annotations

import sqlite3

import psycopg

from store import NewEvent
from store.url import parse_url


def raw_sql(url: str, *statements: str) -> list[tuple[object, ...]]:
    """Run statements directly on the database, bypassing the store; return the last one's rows."""
    parsed = parse_url(url)
    rows: list[tuple[object, ...]] = []
    if parsed.backend == "sqlite":
        conn = sqlite3.connect(parsed.sqlite_path, isolation_level=None)
        try:
            for statement in statements:
                cursor = conn.execute(statement)
                rows = cursor.fetchall()
        finally:
            conn.close()
        return rows
    with psycopg.connect(parsed.conninfo, autocommit=True) as conn:
        for statement in statements:
            cursor = conn.execute(statement)
            rows = cursor.fetchall() if cursor.description else []
    return rows


def drop_guards(url: str) -> None:
    """Remove the tamper-guard triggers, as an attacker with owner rights could."""
    if url.startswith("sqlite"):
        raw_sql(url, "DROP TRIGGER events_reject_update", "DROP TRIGGER events_reject_delete")
    else:
        raw_sql(
            url,
            "DROP TRIGGER events_reject_update ON events",
            "DROP TRIGGER events_reject_delete ON events",
            "DROP TRIGGER events_reject_truncate ON events",
        )


def event(n: int, *, stream: str = "s", expected: int | None = None, **data: object) -> NewEvent:
    """A test event with key `k{n}` and payload `{"n": n, **data}`."""
    return NewEvent(
        stream_id=stream,
        event_type="Thing",
        data={"n": n, **data},
        idempotency_key=f"k{n}",
        expected_version=expected,
    )
