"""Event store benchmark: Parley's log against the raw driver (the floor) and eventsourcing (the peer).

One run, on SQLite and on PostgreSQL: append 100,000 events in batches of 100, then 10,000
single-event appends, then read all 110,000 back. Every system writes the same events (same
streams, versions and JSON payloads, built before the clock starts) to a fresh database:

- parley: `store.open_store(url).append(...)` / `.read()` (canonical JSON, idempotency and
  version checks, hash chain, and `RecordedEvent` objects with decoded payloads on read);
- raw: the same rows (precomputed positions and hashes) inserted into an identical table with
  `executemany` and one commit per append (on PostgreSQL a single-event append is one INSERT on
  an autocommit connection: one round trip), read back as bare tuples: the floor;
- eventsourcing: `SQLiteApplicationRecorder` / `PostgresApplicationRecorder` `insert_events`
  with prebuilt `StoredEvent`s, read with `select_notifications` (it does not decode payloads).

The three systems run in lockstep (each batch goes to each system in turn, rotating who goes
first) so that load from other processes on a shared machine falls on all of them alike.
SQLite runs in WAL mode with synchronous=FULL for all three (eventsourcing's default), on a
temporary file. PostgreSQL comes from PARLEY_TEST_PG_URL (default postgres@127.0.0.1:5432); a
scratch database is created and dropped per system.
"""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

N_BATCHED = 100_000
BATCH = 100
N_SINGLE = 10_000
READ_BATCH = 1000
READ_PASSES = 3
STREAMS = 1000
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def _workload() -> list[tuple[str, int, str, dict[str, Any]]]:
    """(stream, version, key, payload) for every event, in append order."""
    versions: dict[str, int] = {}
    out = []
    for i in range(N_BATCHED + N_SINGLE):
        stream = f"post:{i % STREAMS:04d}"
        versions[stream] = versions.get(stream, 0) + 1
        payload = {
            "url": f"https://example.org/live/{i % STREAMS}",
            "text": f"Negotiators met again on day {i}; both sides reported progress on item {i % 17}.",
            "revision": versions[stream],
        }
        out.append((stream, versions[stream], f"key-{i}", payload))
    return out


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1) if seconds > 0 else 0.0


class _System:
    """One contender: appends ranges of the shared workload, reads pages of the log."""

    name = ""

    def append(self, start: int, stop: int) -> None:
        raise NotImplementedError

    def read_page(self, position: int) -> tuple[int, int]:
        """Read one page from `position`; return (events read, next position)."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def durability(self) -> dict[str, str]:
        """The settings that decide what a commit waits for, read from the system's connection."""
        return {}


def _sqlite_durability(conn: sqlite3.Connection) -> dict[str, str]:
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    return {
        "journal_mode": str(conn.execute("PRAGMA journal_mode").fetchone()[0]).upper(),
        "synchronous": names[int(conn.execute("PRAGMA synchronous").fetchone()[0])],
    }


def _pg_durability(conn: Any) -> dict[str, str]:
    out = {}
    for name in ("synchronous_commit", "fsync", "wal_sync_method"):
        row = conn.execute(f"SHOW {name}").fetchone()
        out[name] = str(next(iter(row.values())) if isinstance(row, dict) else row[0])
    return out


def _lockstep(systems: list[_System]) -> dict[str, dict[str, Any]]:
    """Run the three phases with every system taking its turn at each step.

    The machine is shared: interleaving step by step (rotating who goes first) gives every
    system the same background load, so the ratios stay fair even when absolute rates move.
    """
    # The prebuilt workload (every system's events, built before the clock starts) is some
    # 500,000 objects. Left to the collector, every full collection walks them all (0.12-0.14 s
    # each here), and it falls on whichever system happens to allocate when the threshold is
    # crossed: 5 of them (0.71 s) landed in Parley's SQLite reads in one run, 2 in
    # eventsourcing's PostgreSQL reads in another. Freezing them (what `gc.freeze` is for)
    # leaves the collector only the objects the systems create while they run.
    gc.collect()
    gc.freeze()
    spent = {s.name: {"batched": 0.0, "single": 0.0, "read": 0.0} for s in systems}
    durability = {s.name: s.durability() for s in systems}
    settings = {json.dumps(d, sort_keys=True) for d in durability.values()}
    assert len(settings) == 1, f"the systems do not commit alike: {durability}"
    steps = [(a, min(a + BATCH, N_BATCHED), "batched") for a in range(0, N_BATCHED, BATCH)]
    steps += [(a, a + 1, "single") for a in range(N_BATCHED, N_BATCHED + N_SINGLE)]
    for n, (a, b, phase) in enumerate(steps):
        for system in systems[n % len(systems) :] + systems[: n % len(systems)]:
            t = time.perf_counter()
            system.append(a, b)
            spent[system.name][phase] += time.perf_counter() - t
    # Reads are short and cheap to repeat: three full passes, each system's best one counts.
    # Start them with no garbage left over from the appends (see `run` on the collector).
    gc.collect()
    counted = {s.name: 0 for s in systems}
    best = {s.name: float("inf") for s in systems}
    best_cpu = {s.name: float("inf") for s in systems}
    collector = _CollectorTimes()
    gc.callbacks.append(collector.callback)
    try:
        _read_passes(systems, counted, best, best_cpu, collector)
    finally:
        gc.callbacks.remove(collector.callback)
    for name, seconds in best.items():
        spent[name]["read"] = seconds
    out = {}
    for system in systems:
        assert counted[system.name] == N_BATCHED + N_SINGLE, (
            f"{system.name} read {counted[system.name]}"
        )
        times = spent[system.name]
        out[system.name] = {
            "batched_events_per_s": _rate(N_BATCHED, times["batched"]),
            "single_appends_per_s": _rate(N_SINGLE, times["single"]),
            "read_events_per_s": _rate(counted[system.name], times["read"]),
            # This process's CPU time per event in its best read pass (the database server's
            # work is not in it): what the client spends, much less moved by the load.
            "read_client_cpu_us_per_event": round(
                best_cpu[system.name] / counted[system.name] * 1e6, 2
            ),
            "seconds": {k: round(v, 2) for k, v in times.items()},
            "durability": durability[system.name],
            "gc_during_reads": collector.by_system.get(system.name, {}),
        }
    return out


class _CollectorTimes:
    """What the garbage collector cost during each system's reads (all passes), by generation."""

    def __init__(self) -> None:
        self.current = ""
        self.started = 0.0
        self.by_system: dict[str, dict[str, float]] = {}

    def callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        if not self.current:
            return
        took = time.perf_counter() - self.started
        entry = self.by_system.setdefault(self.current, {})
        key = f"gen{info['generation']}"
        entry[key + "_collections"] = entry.get(key + "_collections", 0) + 1
        entry[key + "_seconds"] = round(entry.get(key + "_seconds", 0.0) + took, 4)


def _read_passes(
    systems: list[_System],
    counted: dict[str, int],
    best: dict[str, float],
    best_cpu: dict[str, float],
    collector: _CollectorTimes,
) -> None:
    for _ in range(READ_PASSES):
        position = {s.name: 1 for s in systems}
        counted.update({s.name: 0 for s in systems})
        took = {s.name: 0.0 for s in systems}
        cpu = {s.name: 0.0 for s in systems}
        pending = list(systems)
        while pending:
            for system in list(pending):
                collector.current = system.name
                t, c = time.perf_counter(), time.process_time()
                got, position[system.name] = system.read_page(position[system.name])
                took[system.name] += time.perf_counter() - t
                cpu[system.name] += time.process_time() - c
                collector.current = ""
                counted[system.name] += got
                if got < READ_BATCH:
                    pending.remove(system)
        for name, seconds in took.items():
            best[name] = min(best[name], seconds)
            best_cpu[name] = min(best_cpu[name], cpu[name])


# Parley ---------------------------------------------------------------------------------------
class _Parley(_System):
    name = "parley"

    def __init__(self, url: str, work: list[tuple[str, int, str, dict[str, Any]]]) -> None:
        from store import NewEvent, open_store

        self.store = open_store(url)
        self.items = [
            NewEvent(stream_id=s, event_type="PostPublished", data=p, idempotency_key=k)
            for s, _, k, p in work
        ]

    def append(self, start: int, stop: int) -> None:
        self.store.append(self.items[start:stop])

    def read_page(self, position: int) -> tuple[int, int]:
        page = list(
            self.store.read(position, to_position=position + READ_BATCH - 1, batch_size=READ_BATCH)
        )
        return len(page), (page[-1].position + 1 if page else position)

    def close(self) -> None:
        self.store.close()

    def durability(self) -> dict[str, str]:
        conn = self.store._conn()
        return (
            _sqlite_durability(conn)
            if isinstance(conn, sqlite3.Connection)
            else _pg_durability(conn)
        )


def _rows(work: list[tuple[str, int, str, dict[str, Any]]]) -> list[tuple[Any, ...]]:
    """The exact rows Parley stores (positions, canonical JSON, hashes), computed up front."""
    from store.canonical import GENESIS_HASH, canonical_payload, event_hash

    now = "2026-01-01T00:00:00.000000+00:00"
    rows, prev = [], GENESIS_HASH
    for position, (stream, version, key, payload) in enumerate(work, start=1):
        text = canonical_payload(payload, where="bench")
        digest = event_hash(
            prev,
            position=position,
            stream_id=stream,
            stream_version=version,
            event_type="PostPublished",
            schema_version=1,
            recorded_at=now,
            idempotency_key=key,
            payload=text,
        )
        rows.append((position, stream, version, "PostPublished", 1, now, key, text, prev, digest))
        prev = digest
    return rows


_COLUMNS = "position, stream_id, stream_version, event_type, schema_version, recorded_at, idempotency_key, data, prev_hash, hash"
_SELECT = f"SELECT {_COLUMNS} FROM events WHERE position >= %s ORDER BY position LIMIT %s"


class _RawSQLite(_System):
    name = "raw"

    def __init__(self, path: Path, rows: list[tuple[Any, ...]]) -> None:
        from store import schema

        self.rows = rows
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")
        self.conn.execute(schema.SQLITE[0][1][0])  # the same events table, indexes included
        self.insert = f"INSERT INTO events ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        self.select = _SELECT.replace("%s", "?")

    def append(self, start: int, stop: int) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany(self.insert, self.rows[start:stop])
        self.conn.execute("COMMIT")

    def read_page(self, position: int) -> tuple[int, int]:
        got = self.conn.execute(self.select, (position, READ_BATCH)).fetchall()
        return len(got), (got[-1][0] + 1 if got else position)

    def close(self) -> None:
        self.conn.close()

    def durability(self) -> dict[str, str]:
        return _sqlite_durability(self.conn)


class _RawPostgres(_System):
    name = "raw"

    def __init__(self, conninfo: str, rows: list[tuple[Any, ...]]) -> None:
        import psycopg

        from store import schema

        self.rows = rows
        self.conn = psycopg.connect(conninfo, autocommit=True)
        self.conn.execute(schema.POSTGRES[0][1][0])
        self.insert = f"INSERT INTO events ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s::timestamptz, %s, %s, %s, %s)"

    def append(self, start: int, stop: int) -> None:
        if stop - start == 1:
            # One row on an autocommit connection: one statement, its own transaction, one
            # round trip (BEGIN, INSERT and COMMIT would be three): the floor for a single append.
            self.conn.execute(self.insert, self.rows[start])
            return
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.executemany(self.insert, self.rows[start:stop])

    def read_page(self, position: int) -> tuple[int, int]:
        # Binary results (integers and timestamps without text parsing: about 1.5x the text
        # protocol's rate here) and, after five runs, a prepared statement: psycopg's fastest.
        with self.conn.cursor(binary=True) as cursor:
            got = cursor.execute(_SELECT, (position, READ_BATCH)).fetchall()
        return len(got), (got[-1][0] + 1 if got else position)

    def close(self) -> None:
        self.conn.close()

    def durability(self) -> dict[str, str]:
        return _pg_durability(self.conn)


# eventsourcing --------------------------------------------------------------------------------
def _stored(work: list[tuple[str, int, str, dict[str, Any]]]) -> list[Any]:
    from eventsourcing.persistence import StoredEvent

    ids = {s: uuid.uuid5(uuid.NAMESPACE_URL, s) for s in {w[0] for w in work}}
    return [
        StoredEvent(
            originator_id=ids[s],
            originator_version=v,
            topic="bench:PostPublished",
            state=json.dumps(p, sort_keys=True, separators=(",", ":")).encode(),
        )
        for s, v, _, p in work
    ]


class _EventSourcing(_System):
    name = "eventsourcing"

    def __init__(self, recorder: Any, datastore: Any, stored: list[Any]) -> None:
        self.recorder, self.datastore, self.stored = recorder, datastore, stored
        recorder.create_table()

    def append(self, start: int, stop: int) -> None:
        self.recorder.insert_events(self.stored[start:stop])

    def read_page(self, position: int) -> tuple[int, int]:
        got = self.recorder.select_notifications(position, READ_BATCH)
        return len(got), (got[-1].id + 1 if got else position)

    def close(self) -> None:
        self.datastore.close()

    def durability(self) -> dict[str, str]:
        # A connection from the recorder's own pool, as its inserts get them.
        from eventsourcing.sqlite import SQLiteDatastore

        if isinstance(self.datastore, SQLiteDatastore):
            with self.datastore.get_connection(commit=True) as conn:
                return _sqlite_durability(conn._sqlite_conn)
        with self.datastore.get_connection() as conn:
            return _pg_durability(conn)


def _es_sqlite(path: Path, stored: list[Any]) -> _EventSourcing:
    from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

    datastore = SQLiteDatastore(str(path))
    return _EventSourcing(SQLiteApplicationRecorder(datastore), datastore, stored)


def _es_postgres(conninfo: str, stored: list[Any]) -> _EventSourcing:
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(conninfo)
    datastore = PostgresDatastore(
        dbname=str(params["dbname"]),
        host=str(params.get("host", "127.0.0.1")),
        port=str(params.get("port", "5432")),
        user=str(params.get("user", "postgres")),
        password=str(params.get("password", "")),
    )
    return _EventSourcing(PostgresApplicationRecorder(datastore), datastore, stored)


# Orchestration --------------------------------------------------------------------------------
@contextmanager
def _pg_database(admin: str) -> Iterator[str]:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = f"parley_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(admin)
    params["dbname"] = name
    try:
        yield make_conninfo("", **params)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_url(conninfo: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    p = conninfo_to_dict(conninfo)
    auth = str(p.get("user") or "postgres") + (f":{p['password']}" if p.get("password") else "")
    return f"postgresql://{auth}@{p.get('host', '127.0.0.1')}:{p.get('port', '5432')}/{p['dbname']}"


def run() -> dict[str, Any]:
    """Run every system on both backends, in lockstep; return rates and the targets' verdicts."""
    work = _workload()
    rows = _rows(work)
    stored = _stored(work)
    try:
        return _run(work, rows, stored)
    finally:
        gc.unfreeze()  # other benchmarks may run in this process after this one


def _run(work: list[Any], rows: list[Any], stored: list[Any]) -> dict[str, Any]:
    results: dict[str, Any] = {
        "gc": "prebuilt workload frozen (gc.freeze) before the first append",
        "workload": {
            "batched_events": N_BATCHED,
            "batch_size": BATCH,
            "single_appends": N_SINGLE,
            "read_batch": READ_BATCH,
            "read_passes": READ_PASSES,
            "streams": STREAMS,
        },
        "load_average_before": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory(prefix="parley-bench-") as tmp:
        print("  sqlite: raw, parley, eventsourcing in lockstep ...", flush=True)
        systems: list[_System] = [
            _RawSQLite(Path(tmp) / "raw.db", rows),
            _Parley(f"sqlite:///{tmp}/parley.db", work),
            _es_sqlite(Path(tmp) / "es.db", stored),
        ]
        try:
            results["sqlite"] = _lockstep(systems)
        finally:
            for system in systems:
                system.close()
    admin = os.environ.get("PARLEY_TEST_PG_URL", DEFAULT_PG)
    print("  postgresql: raw, parley, eventsourcing in lockstep ...", flush=True)
    with (
        _pg_database(admin) as raw_db,
        _pg_database(admin) as parley_db,
        _pg_database(admin) as es_db,
    ):
        systems = [
            _RawPostgres(raw_db, rows),
            _Parley(_pg_url(parley_db), work),
            _es_postgres(es_db, stored),
        ]
        try:
            results["postgresql"] = _lockstep(systems)
        finally:
            for system in systems:
                system.close()
    results["load_average_after"] = os.getloadavg()
    results["targets"] = _targets(results)
    return results


def _targets(r: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    s_raw, s_par = r["sqlite"]["raw"], r["sqlite"]["parley"]
    out["sqlite_batched_at_least_half_of_raw"] = {
        "ratio": round(s_par["batched_events_per_s"] / s_raw["batched_events_per_s"], 3),
        "met": s_par["batched_events_per_s"] >= 0.5 * s_raw["batched_events_per_s"],
    }
    for backend in ("sqlite", "postgresql"):
        par, es = r[backend]["parley"], r[backend]["eventsourcing"]
        out[f"{backend}_reads_at_least_200k_per_s"] = {
            "rate": par["read_events_per_s"],
            "met": par["read_events_per_s"] >= 200_000,
        }
        out[f"{backend}_ahead_of_eventsourcing"] = {
            metric: {"ratio": round(par[metric] / es[metric], 2), "met": par[metric] > es[metric]}
            for metric in ("batched_events_per_s", "single_appends_per_s", "read_events_per_s")
        }
    return out


def table(results: dict[str, Any]) -> str:
    """The Markdown section for docs/benchmarks.md."""
    w = results["workload"]
    lines = [
        "## Event store (`bench/store_bench.py`)\n",
        f"{w['batched_events']:,} events appended in batches of {w['batch_size']}, then "
        f"{w['single_appends']:,} single-event appends, then all read back in pages of "
        f"{w['read_batch']:,} (best of {w.get('read_passes', 1)} passes); {w['streams']:,} streams. "
        "The systems run in lockstep, taking turns at every step, so background load hits all alike. SQLite: WAL, synchronous=FULL for every system. "
        "raw = the driver inserting Parley's precomputed rows (the floor; a single PostgreSQL "
        "append is one autocommit INSERT, one round trip) and reading them back as "
        "bare tuples (PostgreSQL: psycopg's binary cursor, prepared; no payload decoding); "
        "eventsourcing = its application recorders with prebuilt stored events (no mapping; reads "
        "hand back undecoded payload bytes). "
        "Parley's numbers include canonical JSON, the hash chain, idempotency and version checks, "
        "and, on read, decoding every payload into a dict and building a `RecordedEvent` with a "
        "`datetime`: its read rate is records read + payloads decoded, compared with the others' "
        "undecoded reads (there is no separate undecoded rate: Parley always decodes). "
        "The prebuilt workload is frozen out of the garbage collector (`gc.freeze`) before the "
        "first append; collections of what each system allocates still count against it.\n",
        "| backend | system | batched appends (events/s) | single appends (/s) | reads (events/s) |",
        "|---|---|---:|---:|---:|",
    ]
    for backend in ("sqlite", "postgresql"):
        for name in ("raw", "parley", "eventsourcing"):
            m = results[backend][name]
            lines.append(
                f"| {backend} | {name} | {m['batched_events_per_s']:,.0f} | {m['single_appends_per_s']:,.0f} | {m['read_events_per_s']:,.0f} |"
            )
    lines.append("\nTargets:\n")
    for target, verdict in results["targets"].items():
        if "met" in verdict:
            detail = ", ".join(f"{k} {v}" for k, v in verdict.items() if k != "met")
            lines.append(f"- {target}: {'met' if verdict['met'] else 'MISSED'} ({detail})")
        else:
            parts = [
                f"{k.replace('_per_s', '')} x{v['ratio']} {'met' if v['met'] else 'MISSED'}"
                for k, v in verdict.items()
            ]
            lines.append(f"- {target}: " + "; ".join(parts))
    for backend in ("sqlite", "postgresql"):
        settings = results[backend]["parley"].get("durability")
        if settings:
            shown = ", ".join(f"{k}={v}" for k, v in sorted(settings.items()))
            lines.append(
                f"\nDurability, read back from each system's own connection ({backend}): {shown}, "
                "the same for all three (the bench refuses to run otherwise)."
            )
    for backend in ("sqlite", "postgresql"):
        parts = []
        for name in ("raw", "parley", "eventsourcing"):
            spent = results[backend][name].get("gc_during_reads")
            if spent is not None:
                seconds = sum(v for k, v in spent.items() if k.endswith("_seconds"))
                full = int(spent.get("gen2_collections", 0))
                parts.append(f"{name} {seconds:.3f} s ({full} full)")
        cpu = [
            f"{name} {results[backend][name]['read_client_cpu_us_per_event']:.2f}"
            for name in ("raw", "parley", "eventsourcing")
            if "read_client_cpu_us_per_event" in results[backend][name]
        ]
        if cpu:
            lines.append(
                f"\nClient CPU per event read ({backend}, best pass, µs; the server's work is not "
                "in it, and the load moves it much less than the rates): " + ", ".join(cpu) + "."
            )
        if parts:
            lines.append(
                f"\nGarbage collector time during the reads ({backend}, all passes): "
                + ", ".join(parts)
                + "."
            )
    before, after = results.get("load_average_before"), results.get("load_average_after")
    load = ""
    if before and after:
        load = f" Load average (1, 5, 15 min) {_loads(before)} before, {_loads(after)} after."
    lines.append(
        f"\nMeasured {results.get('measured_at', '')} on {results.get('machine', {}).get('cpus', '?')} CPUs.{load}\n"
    )
    return "\n".join(lines)


def _loads(values: list[float]) -> str:
    return "/".join(f"{v:.1f}" for v in values)
