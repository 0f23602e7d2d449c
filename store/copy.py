"""Copy a log from one store to another, byte for byte, and prove the copy on arrival.

    report = copy_log(source, target, to_position=None, progress=lambda done, total: ...)

Every event keeps its position, stream version, recorded time, payload text and hashes: the rows
are imported as stored, not appended again (an append would stamp new times and new hashes). Each
row's hash is recomputed from its columns and its link to the previous one checked *before* it is
written, so a broken source is refused at its first bad position and nothing past it is copied;
after the last batch the target's whole chain is walked again (`store.verify`) and its head must be
the source's hash at the same position.

The target must be empty, or hold a prefix of the same log (a copy interrupted earlier, or an older
copy): the import then resumes after the target's head. A target whose log diverges is refused.
Only the log is copied: view rows, checkpoints, the outbox and meta stay behind (views are rebuilt
from the log by `parley replay`, which never sends alerts).

This module writes through the backends' documented write hooks (`SQLEventStore._transaction`
with the append lock, `_insert_events`, `_signal_appended`, `_after_commit`): the same path an
append takes, minus the planning step that would assign new positions, times and hashes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from store._projections import ProjectionStore
from store.canonical import GENESIS_HASH, stored_row_hash
from store.errors import IntegrityError
from store.records import Head
from store.verify import verify

Progress = Callable[[int, int], None]  # (events copied so far, events to copy)


@dataclass(frozen=True, kw_only=True, slots=True)
class CopyReport:
    """What `copy_log` did: events written, where it started, and the verified head of the copy."""

    copied: int
    resumed_from: int  # the target's head before the copy (0 for an empty target)
    head: Head
    verified_events: int


def copy_log(
    source: ProjectionStore,
    target: ProjectionStore,
    *,
    to_position: int | None = None,
    batch_size: int = 5000,
    progress: Progress | None = None,
) -> CopyReport:
    """Copy `source`'s events up to `to_position` (default: its head) into `target`, then verify.

    Raises `IntegrityError` naming the position when the source's chain is broken, when the
    target's log is not a prefix of the source's, or when the copy does not verify; `StoreError`
    subclasses when either database cannot be read or written. What was written before a failure
    stays (it is a valid prefix); running again resumes.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    last = source.head().position if to_position is None else to_position
    start = target.head()
    _check_prefix(source, target, start, last)
    prev = start.hash
    expected = start.position + 1
    total = max(0, last - start.position)
    copied = 0
    batch: list[tuple[Any, ...]] = []
    if progress is not None:
        progress(0, total)
    for row in source.stored_rows(expected, batch_size=batch_size):
        if row[0] > last:
            break
        _check_row(row, expected, prev, source.url_for_display)
        prev = row[9]
        expected += 1
        batch.append(row)
        if len(batch) >= batch_size:
            _import(target, batch)
            copied += len(batch)
            batch = []
            if progress is not None:
                progress(copied, total)
    if batch:
        _import(target, batch)
        copied += len(batch)
    if expected - 1 < last:
        raise IntegrityError(
            f"{source.url_for_display}: the log ends at position {expected - 1}, "
            f"before position {last}"
        )
    if progress is not None:
        progress(copied, total)
    report = verify(target)
    chain_problems = [p for p in report.problems if p.startswith("position")]
    if chain_problems or report.head.hash != prev or report.head.position != last:
        raise IntegrityError(
            f"{target.url_for_display}: the copy does not verify: "
            + "; ".join(chain_problems or [f"head is {report.head}, expected {last}:{prev}"])
        )
    return CopyReport(
        copied=copied,
        resumed_from=start.position,
        head=report.head,
        verified_events=report.events_checked,
    )


def _check_prefix(source: ProjectionStore, target: ProjectionStore, start: Head, last: int) -> None:
    if start.position == 0:
        return
    if start.position > last:
        raise IntegrityError(
            f"{target.url_for_display}: already holds {start.position} events, more than the "
            f"{last} to copy; copy into an empty database"
        )
    theirs = next(source.read(start.position, to_position=start.position), None)
    if theirs is None or theirs.hash != start.hash:
        raise IntegrityError(
            f"{target.url_for_display}: its log (head {start.position}) is not a prefix of "
            f"{source.url_for_display}'s; copy into an empty database"
        )


def _check_row(row: tuple[Any, ...], expected: int, prev: str, where: str) -> None:
    position = row[0]
    if position != expected:
        raise IntegrityError(f"{where}: position {expected} is missing; nothing past it copied")
    computed = stored_row_hash(prev, row)
    if row[8] != prev or computed != row[9]:
        raise IntegrityError(
            f"{where}: position {position} does not verify (run `parley verify`); "
            "nothing past it copied"
        )


def _import(target: ProjectionStore, rows: list[tuple[Any, ...]]) -> None:
    """Write rows as stored, under the append lock, after checking they follow the target's head."""
    conn = target._conn()  # the backends' write hooks: see the module docstring
    with target._guard("import events"), target._transaction(conn, append_lock=True):
        head = conn.execute(
            target._sql("SELECT position, hash FROM events ORDER BY position DESC LIMIT 1")
        ).fetchone()
        position, digest = (head[0], head[1]) if head else (0, GENESIS_HASH)
        if position != rows[0][0] - 1 or digest != rows[0][8]:
            raise IntegrityError(
                f"{target.url_for_display}: another writer appended during the copy "
                f"(head {position}); nothing of this batch was written"
            )
        target._insert_events(conn, rows)
        target._signal_appended(conn)
    target._after_commit()
