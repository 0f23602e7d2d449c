"""The audit: walk the hash chain, check the tamper guards and the checkpoints, report the head.

    report = verify(store, expect=(1200, "9f2c..."))
    report.ok, report.head, report.first_bad_position, report.problems

The walk streams the log in batches (constant memory) and recomputes every hash from the stored
columns (see `store.canonical`). It stops at the first broken link: a missing position, a
`prev_hash` that is not the previous event's hash, or a hash that does not match the contents.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from store._projections import ProjectionStore
from store.canonical import GENESIS_HASH, stored_row_hash
from store.records import Head


@dataclass(frozen=True, kw_only=True, slots=True)
class VerifyReport:
    """What `verify` found. `ok` is True only when `problems` is empty."""

    url: str
    head: Head
    events_checked: int
    first_bad_position: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(
    store: ProjectionStore, *, expect: tuple[int, str] | None = None, batch_size: int = 5000
) -> VerifyReport:
    """Check the whole log of `store`; `expect=(position, hash)` also proves a recorded digest holds.

    Never raises for what it finds (that goes in the report); raises `StoreError` only when the
    database cannot be read.
    """
    watch = expect[0] if expect is not None else None
    checked, first_bad, problems, seen = _walk(store, batch_size=batch_size, watch=watch)
    head = store.head()
    missing = sorted(set(store.expected_triggers) - store.triggers())
    for name in missing:
        problems.append(f"tamper guard trigger {name!r} is missing or disabled on the events table")
    for name, position in sorted(store.checkpoints().items()):
        if position > head.position or position < 0:
            problems.append(
                f"projection {name!r} checkpoint {position} lies outside the log (head {head.position})"
            )
    if expect is not None:
        problem, bad = _check_expectation(expect, head, seen, chain_ok=first_bad is None)
        if problem:
            problems.append(problem)
            first_bad = bad if first_bad is None else first_bad
    return VerifyReport(
        url=store.url_for_display,
        head=head,
        events_checked=checked,
        first_bad_position=first_bad,
        problems=problems,
    )


def _walk(
    store: ProjectionStore, *, batch_size: int, watch: int | None
) -> tuple[int, int | None, list[str], str | None]:
    """Recompute the chain; return (events checked, first bad position, problems, hash at `watch`)."""
    expected_position = 1
    prev = GENESIS_HASH
    checked = 0
    seen: str | None = None
    for row in store.stored_rows(batch_size=batch_size):
        position, prev_hash, stored_hash = row[0], row[8], row[9]
        why = None
        if position != expected_position:
            why = f"position {expected_position} is missing (the next stored event is {position})"
            position = expected_position
        elif prev_hash != prev:
            why = (
                f"prev_hash does not match the hash of position {position - 1} "
                "(events reordered, removed or replaced)"
            )
        else:
            computed = stored_row_hash(prev, row)
            if computed != stored_hash:
                why = (
                    f"hash does not match the stored contents (stored {stored_hash[:16]}..., "
                    f"computed {computed[:16]}...)"
                )
        if why is not None:
            return checked, position, [f"position {position}: {why}"], seen
        checked += 1
        if position == watch:
            seen = stored_hash
        prev = stored_hash
        expected_position += 1
    return checked, None, [], seen


def _check_expectation(
    expect: tuple[int, str], head: Head, seen: str | None, *, chain_ok: bool
) -> tuple[str | None, int | None]:
    position, digest = expect[0], expect[1].lower()
    if position == 0:
        if digest != GENESIS_HASH:
            return f"position 0 always has the genesis hash {GENESIS_HASH}", 0
        return None, None
    if position > head.position:
        return (
            f"expected position {position} is beyond the head of the log ({head.position})",
            head.position + 1,
        )
    if chain_ok and seen != digest:
        return f"position {position}: hash is {seen}, expected {digest}", position
    return None, None
