"""Versioned SQL migrations for both backends, applied in order on open and recorded in `schema_version`.

A migration is a list of statements; each backend applies the ones newer than its recorded version
inside one transaction under a lock, so opening a store is idempotent and safe from several
processes at once. Never edit a released migration: add the next one.
"""

from __future__ import annotations

Migration = tuple[int, tuple[str, ...]]

SQLITE_TRIGGERS = ("events_reject_update", "events_reject_delete")
POSTGRES_TRIGGERS = ("events_reject_update", "events_reject_delete", "events_reject_truncate")

SQLITE: tuple[Migration, ...] = (
    (
        1,
        (
            """CREATE TABLE events (
                position INTEGER PRIMARY KEY,
                stream_id TEXT NOT NULL,
                stream_version INTEGER NOT NULL,
                event_type TEXT NOT NULL,
                schema_version INTEGER NOT NULL,
                recorded_at TEXT NOT NULL,
                idempotency_key TEXT NOT NULL UNIQUE,
                data TEXT NOT NULL,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL,
                UNIQUE (stream_id, stream_version)
            )""",
            """CREATE TRIGGER events_reject_update BEFORE UPDATE ON events
               BEGIN SELECT RAISE(ABORT, 'parley: the event log is append-only (UPDATE rejected)'); END""",
            """CREATE TRIGGER events_reject_delete BEFORE DELETE ON events
               BEGIN SELECT RAISE(ABORT, 'parley: the event log is append-only (DELETE rejected)'); END""",
            """CREATE TABLE projection_checkpoints (
                projection TEXT PRIMARY KEY,
                position INTEGER NOT NULL,
                state TEXT,
                updated_at TEXT NOT NULL
            )""",
            """CREATE TABLE view_rows (
                projection TEXT NOT NULL,
                view_name TEXT NOT NULL,
                row_key TEXT NOT NULL,
                row_json TEXT NOT NULL,
                PRIMARY KEY (projection, view_name, row_key)
            ) WITHOUT ROWID""",
            """CREATE TABLE outbox (
                id INTEGER PRIMARY KEY,
                message_key TEXT NOT NULL UNIQUE,
                topic TEXT NOT NULL,
                payload TEXT NOT NULL,
                projection TEXT NOT NULL,
                created_at TEXT NOT NULL,
                status TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed')),
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at TEXT,
                last_error TEXT,
                delivered_at TEXT
            )""",
            "CREATE INDEX outbox_due ON outbox (status, next_attempt_at, id)",
        ),
    ),
    (
        2,
        (
            # Operational state beside the log, not part of it (source health, HTTP validators).
            """CREATE TABLE meta (
                namespace TEXT NOT NULL,
                meta_key TEXT NOT NULL,
                value TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                PRIMARY KEY (namespace, meta_key)
            ) WITHOUT ROWID""",
        ),
    ),
    (
        3,
        (
            # Leases (store.lease): who runs a piece of work (a source's polls, a projector, the
            # alert worker) until when. Taken and renewed by compare-and-set; never part of the log.
            """CREATE TABLE leases (
                name TEXT PRIMARY KEY,
                holder TEXT NOT NULL,
                token INTEGER NOT NULL,
                expires_at TEXT NOT NULL,
                acquired_at TEXT NOT NULL
            ) WITHOUT ROWID""",
        ),
    ),
)

POSTGRES: tuple[Migration, ...] = (
    (
        1,
        (
            """CREATE TABLE events (
                position BIGINT PRIMARY KEY,
                stream_id TEXT NOT NULL,
                stream_version BIGINT NOT NULL,
                event_type TEXT NOT NULL,
                schema_version INTEGER NOT NULL,
                recorded_at TIMESTAMPTZ NOT NULL,
                idempotency_key TEXT NOT NULL UNIQUE,
                data TEXT NOT NULL,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL,
                UNIQUE (stream_id, stream_version)
            )""",
            """CREATE OR REPLACE FUNCTION parley_reject_change() RETURNS trigger
               LANGUAGE plpgsql AS $$
               BEGIN
                 RAISE EXCEPTION 'parley: the event log is append-only (% rejected)', TG_OP
                   USING ERRCODE = 'insufficient_privilege';
               END $$""",
            """CREATE TRIGGER events_reject_update BEFORE UPDATE ON events
               FOR EACH ROW EXECUTE FUNCTION parley_reject_change()""",
            """CREATE TRIGGER events_reject_delete BEFORE DELETE ON events
               FOR EACH ROW EXECUTE FUNCTION parley_reject_change()""",
            """CREATE TRIGGER events_reject_truncate BEFORE TRUNCATE ON events
               FOR EACH STATEMENT EXECUTE FUNCTION parley_reject_change()""",
            """CREATE TABLE projection_checkpoints (
                projection TEXT PRIMARY KEY,
                position BIGINT NOT NULL,
                state TEXT,
                updated_at TIMESTAMPTZ NOT NULL
            )""",
            """CREATE TABLE view_rows (
                projection TEXT NOT NULL,
                view_name TEXT NOT NULL,
                row_key TEXT NOT NULL,
                row_json TEXT NOT NULL,
                PRIMARY KEY (projection, view_name, row_key)
            )""",
            """CREATE TABLE outbox (
                id BIGSERIAL PRIMARY KEY,
                message_key TEXT NOT NULL UNIQUE,
                topic TEXT NOT NULL,
                payload TEXT NOT NULL,
                projection TEXT NOT NULL,
                created_at TIMESTAMPTZ NOT NULL,
                status TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed')),
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at TIMESTAMPTZ,
                last_error TEXT,
                delivered_at TIMESTAMPTZ
            )""",
            "CREATE INDEX outbox_due ON outbox (status, next_attempt_at, id)",
        ),
    ),
    (
        2,
        (
            """CREATE TABLE meta (
                namespace TEXT NOT NULL,
                meta_key TEXT NOT NULL,
                value TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                PRIMARY KEY (namespace, meta_key)
            )""",
        ),
    ),
    (
        3,
        (
            """CREATE TABLE leases (
                name TEXT PRIMARY KEY,
                holder TEXT NOT NULL,
                token BIGINT NOT NULL,
                expires_at TIMESTAMPTZ NOT NULL,
                acquired_at TIMESTAMPTZ NOT NULL
            )""",
        ),
    ),
)

LATEST_VERSION = max(SQLITE[-1][0], POSTGRES[-1][0])


def pending(migrations: tuple[Migration, ...], current: int) -> list[Migration]:
    """The migrations newer than `current`, oldest first."""
    return [m for m in migrations if m[0] > current]
