"""Versioned SQL migrations for both backends, applied in order on open and recorded in `schema_version`.

A migration is a list of statements; each backend applies the ones newer than its recorded version
inside one transaction under a lock, so opening a store is idempotent and safe from several
processes at once. Never edit a released migration: add the next one.
"""

from __future__ import annotations

Migration = tuple[int, tuple[str, ...]]

SQLITE_TRIGGERS = ("events_reject_update", "events_reject_delete")
POSTGRES_TRIGGERS = ("events_reject_update", "events_reject_delete", "events_reject_truncate")

# Migration 4 (PostgreSQL): an append whose rows were planned before the append lock (from the
# head this process remembers) in one statement, so one round trip, committed by the statement's
# own implicit transaction. Under the append lock it checks that the head is still the planned
# one, that none of the keys and none of the streams planned as new are in the log, and only then
# inserts the rows and notifies followers; otherwise it writes nothing and returns false, and the
# caller appends the ordinary way. The function is SECURITY INVOKER (the default): it has the
# caller's rights, so a role granted only SELECT and INSERT on the log can call it, and nothing
# more. Each statement in it takes a fresh snapshot (a volatile function in READ COMMITTED), so the
# checks see everything committed before the lock was granted.
_APPEND_IF_HEAD_FUNCTION = """CREATE OR REPLACE FUNCTION parley_append_if_head(
    p_head_hash TEXT, p_new_streams TEXT[],
    p_position BIGINT[], p_stream_id TEXT[], p_stream_version BIGINT[], p_event_type TEXT[],
    p_schema_version INTEGER[], p_recorded_at TIMESTAMPTZ[], p_idempotency_key TEXT[],
    p_data TEXT[], p_prev_hash TEXT[], p_hash TEXT[]
) RETURNS BOOLEAN LANGUAGE plpgsql VOLATILE
-- Every check is an index probe. The plans of a function are cached for the session, and one
-- made while the table's statistics were still those of a small table scanned the whole log for
-- the keys at every call (seen: 1 ms per append on a log of 6,000 events).
SET enable_seqscan = off
AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(123563833845113);  -- store.postgres.APPEND_LOCK
  IF (SELECT e.hash FROM events AS e ORDER BY e.position DESC LIMIT 1)
       IS DISTINCT FROM p_head_hash THEN
    RETURN FALSE;  -- another writer appended since
  END IF;
  IF EXISTS (SELECT FROM events AS e WHERE e.idempotency_key = ANY (p_idempotency_key)) THEN
    RETURN FALSE;  -- a key is in the log already
  END IF;
  -- A stream with events has a version 1: one unique-index probe per stream planned as new.
  IF cardinality(p_new_streams) > 0 AND EXISTS (
       SELECT FROM unnest(p_new_streams) AS n (stream_id)
       JOIN events AS e ON e.stream_id = n.stream_id AND e.stream_version = 1) THEN
    RETURN FALSE;  -- a stream planned as new is not
  END IF;
  INSERT INTO events (position, stream_id, stream_version, event_type, schema_version,
                      recorded_at, idempotency_key, data, prev_hash, hash)
    SELECT * FROM unnest(p_position, p_stream_id, p_stream_version, p_event_type,
                         p_schema_version, p_recorded_at, p_idempotency_key, p_data,
                         p_prev_hash, p_hash);
  PERFORM pg_notify('parley_events', '');  -- store.postgres.CHANNEL
  RETURN TRUE;
END $$"""

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
    # 4: nothing on SQLite (its one-event append is already one statement); the number is kept
    # in step with PostgreSQL's migration 4, the one-statement append function.
    (4, ()),
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
    (4, (_APPEND_IF_HEAD_FUNCTION,)),
)

LATEST_VERSION = max(SQLITE[-1][0], POSTGRES[-1][0])


def pending(migrations: tuple[Migration, ...], current: int) -> list[Migration]:
    """The migrations newer than `current`, oldest first."""
    return [m for m in migrations if m[0] > current]
