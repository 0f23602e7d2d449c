"""Leases: which process runs a piece of work (a source's polls, a projector, a worker) until when.

A lease is a row of the `leases` table (schema migration 3): `name`, `holder`, `expires_at`, and a
fencing `token`. It is taken and renewed only by a compare-and-set in the database, for many names
in one statement: a name is written for `holder` only where the lease is missing, expired, already
`holder`'s, or held by one of the holders the caller names in `replacing` (a process known to be
dead). Whoever the database wrote for holds the lease; nobody else does. The token goes up by one
each time a new tenure begins (another holder, or the same one after its lease lapsed), so work
done under an old tenure can be told apart from work done under the new one.

Time is the database's: on PostgreSQL `now()` of the server, so daemons on hosts whose clocks
disagree still agree on who holds what; on SQLite (one file, one host) the host's clock.

The backends' SQL differs only in how a statement says "now" and passes a list, so each backend
mixes in its own small class (`SQLiteLeases`, `PostgresLeases`); `lease_store(store)` gives the
`LeaseStore` port (`store.ports`) of an open store.
"""

# SQL here is built from constant text and placeholders only, never from values.
# ruff: noqa: S608

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from store._versions import chunks
from store.canonical import format_time
from store.errors import ConfigurationError

if TYPE_CHECKING:
    from store.ports import LeaseStore


@dataclass(frozen=True, kw_only=True, slots=True)
class LeaseInfo:
    """One lease as the database holds it; `remaining` is seconds left by the database's clock
    (zero or less: expired, free for anyone to take)."""

    name: str
    holder: str
    token: int
    expires_at: datetime
    remaining: float

    @property
    def live(self) -> bool:
        """True while the lease has not expired."""
        return self.remaining > 0


def holder_id() -> str:
    """A holder name no other process shares: host, process id and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def dead_here(holder: str) -> bool:
    """True when `holder` (a `holder_id()`) ran on this host under a process that no longer exists.

    Lets a daemon restarted after a crash take back at once what its predecessor held, instead of
    waiting out the lease; a holder on another host is never judged (its pid means nothing here).
    """
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists but belongs to another user
        return False
    return False


def lease_store(store: object) -> LeaseStore:
    """The `LeaseStore` port of an open store; raises `ConfigurationError` if it keeps no leases."""
    if not isinstance(store, LeaseTable):
        raise ConfigurationError(f"{type(store).__name__} keeps no leases")
    return store


def _check(names: Sequence[str], holder: str, ttl: float) -> list[str]:
    if not holder:
        raise ValueError("a lease holder needs a name")
    if not ttl > 0:
        raise ValueError(f"a lease's ttl must be more than 0 seconds, not {ttl!r}")
    return sorted(set(names))  # one lock order for every caller: no deadlock between claimers


class LeaseTable:
    """Mixin for `SQLEventStore` subclasses: the `LeaseStore` port over the `leases` table."""

    if TYPE_CHECKING:  # provided by SQLEventStore; declared for the type checker only

        def _conn(self) -> Any: ...
        def _sql(self, sql: str) -> str: ...
        def _guard(self, action: str) -> AbstractContextManager[None]: ...
        def _transaction(self, conn: Any, *, append_lock: bool) -> AbstractContextManager[None]: ...
        def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]: ...

    def claim_leases(
        self, names: Sequence[str], holder: str, ttl: float, *, replacing: Collection[str] = ()
    ) -> list[LeaseInfo]:
        """Take or renew each of `names` for `holder` for `ttl` seconds where that is allowed
        (missing, expired, `holder`'s already, or held by one of `replacing`); return the leases
        `holder` now has among `names`, by name. One transaction, one compare-and-set per name.

        Raises `ValueError` for an empty holder or a ttl not above 0, `UnavailableError` when the
        database refuses.
        """
        wanted = _check(names, holder, ttl)
        if not wanted:
            return []
        with self._guard(f"claim {len(wanted)} lease(s) for {holder}"):
            return self._claim(wanted, holder, ttl, sorted(set(replacing)))

    def release_leases(self, names: Sequence[str], holder: str, *, forget: bool = False) -> int:
        """End `holder`'s leases among `names` now, so anyone may take them; return how many.

        Leases held by someone else are left alone. `forget` deletes the rows instead (for
        leases nobody takes over, such as a daemon's membership): their tokens restart at 1.
        """
        wanted = _check(names, holder, 1.0)
        ended = 0
        conn = self._conn()
        with (
            self._guard(f"release {len(wanted)} lease(s) of {holder}"),
            self._transaction(conn, append_lock=False),
        ):
            for chunk in chunks(wanted):
                marks = ", ".join("?" * len(chunk))
                if forget:
                    sql = f"DELETE FROM leases WHERE holder = ? AND name IN ({marks})"
                    params = [holder, *chunk]
                else:
                    now, now_params = self._now()
                    sql = (
                        f"UPDATE leases SET expires_at = {now} "
                        f"WHERE holder = ? AND name IN ({marks}) AND expires_at > {now}"
                    )
                    params = [*now_params, holder, *chunk, *now_params]
                ended += conn.execute(self._sql(sql), params).rowcount
        return ended

    def leases(self, prefix: str = "") -> list[LeaseInfo]:
        """Every lease whose name starts with `prefix`, by name, as the database sees it now."""
        now, now_params = self._now()
        rows = self._query(
            f"SELECT name, holder, token, expires_at, {self._seconds_left(now)} FROM leases "
            "WHERE substr(name, 1, ?) = ? ORDER BY name",
            [*now_params, len(prefix), prefix],
        )
        return [self._info(row) for row in rows]

    # Backend hooks ---------------------------------------------------------------------------
    def _claim(
        self, names: list[str], holder: str, ttl: float, replacing: list[str]
    ) -> list[LeaseInfo]:
        raise NotImplementedError

    def _now(self) -> tuple[str, list[Any]]:
        """SQL for "now" in this backend and the parameters it takes."""
        raise NotImplementedError

    def _seconds_left(self, now: str) -> str:
        """SQL for the seconds from `now` until `expires_at`."""
        raise NotImplementedError

    def _info(self, row: Sequence[Any]) -> LeaseInfo:
        raise NotImplementedError


class SQLiteLeases(LeaseTable):
    """Leases on SQLite: the compare-and-set is a conditional upsert in a `BEGIN IMMEDIATE`
    transaction (SQLite's one write lock), timed by this host's clock."""

    def _now(self) -> tuple[str, list[Any]]:
        # The host's clock as fixed-width ISO 8601 text, which sorts as time does.
        return "?", [format_time(datetime.now(UTC))]

    def _seconds_left(self, now: str) -> str:
        return f"(julianday(expires_at) - julianday({now})) * 86400.0"

    def _claim(
        self, names: list[str], holder: str, ttl: float, replacing: list[str]
    ) -> list[LeaseInfo]:
        conn = self._conn()
        start = datetime.now(UTC)
        now, until = format_time(start), format_time(start + timedelta(seconds=ttl))
        fresh = "(leases.holder = excluded.holder AND leases.expires_at > :now)"
        sql = (
            "INSERT INTO leases (name, holder, token, expires_at, acquired_at) "
            "VALUES (:name, :holder, 1, :until, :now) ON CONFLICT (name) DO UPDATE SET "
            "holder = excluded.holder, expires_at = excluded.expires_at, "
            f"token = CASE WHEN {fresh} THEN leases.token ELSE leases.token + 1 END, "
            f"acquired_at = CASE WHEN {fresh} THEN leases.acquired_at ELSE excluded.acquired_at END "
            "WHERE leases.holder = excluded.holder OR leases.expires_at <= :now "
            "OR leases.holder IN (SELECT value FROM json_each(:replacing))"
        )
        others = json.dumps(replacing)
        params = [
            {"name": n, "holder": holder, "until": until, "now": now, "replacing": others}
            for n in names
        ]
        with self._transaction(conn, append_lock=False):
            conn.executemany(sql, params)
            # Exactly the rows this statement wrote: ours, and expiring at the moment we set.
            rows = conn.execute(
                "SELECT name, token FROM leases WHERE holder = ? AND expires_at = ? ORDER BY name",
                [holder, until],
            ).fetchall()
        expires_at = start + timedelta(seconds=ttl)
        return [
            LeaseInfo(
                name=name, holder=holder, token=int(token), expires_at=expires_at, remaining=ttl
            )
            for name, token in rows
        ]

    def _info(self, row: Sequence[Any]) -> LeaseInfo:
        name, holder, token, expires_at, remaining = row
        return LeaseInfo(
            name=name,
            holder=holder,
            token=int(token),
            expires_at=datetime.fromisoformat(expires_at),
            remaining=float(remaining),
        )


class PostgresLeases(LeaseTable):
    """Leases on PostgreSQL: one `INSERT ... ON CONFLICT DO UPDATE ... WHERE` for the whole batch
    (the conflicting row is locked and the condition checked on its newest version, so two
    claimers can never both win), timed by the server's `now()`."""

    def _now(self) -> tuple[str, list[Any]]:
        return "now()", []

    def _seconds_left(self, now: str) -> str:
        return f"EXTRACT(EPOCH FROM expires_at - {now})"

    def _claim(
        self, names: list[str], holder: str, ttl: float, replacing: list[str]
    ) -> list[LeaseInfo]:
        fresh = "(l.holder = excluded.holder AND l.expires_at > now())"
        sql = (
            "INSERT INTO leases AS l (name, holder, token, expires_at, acquired_at) "
            "SELECT n, %(holder)s, 1, now() + %(ttl)s * interval '1 second', now() "
            "FROM unnest(%(names)s::text[]) AS n ORDER BY n "
            "ON CONFLICT (name) DO UPDATE SET "
            "holder = excluded.holder, expires_at = excluded.expires_at, "
            f"token = CASE WHEN {fresh} THEN l.token ELSE l.token + 1 END, "
            f"acquired_at = CASE WHEN {fresh} THEN l.acquired_at ELSE excluded.acquired_at END "
            "WHERE l.holder = excluded.holder OR l.expires_at <= now() "
            "OR l.holder = ANY(%(replacing)s::text[]) "
            "RETURNING name, holder, token, expires_at, EXTRACT(EPOCH FROM expires_at - now())"
        )
        params = {"holder": holder, "ttl": ttl, "names": names, "replacing": replacing}
        rows = self._conn().execute(sql, params).fetchall()
        return sorted((self._info(row) for row in rows), key=lambda lease: lease.name)

    def _info(self, row: Sequence[Any]) -> LeaseInfo:
        name, holder, token, expires_at, remaining = row
        return LeaseInfo(
            name=name,
            holder=holder,
            token=int(token),
            expires_at=expires_at.astimezone(UTC),
            remaining=float(remaining),
        )
