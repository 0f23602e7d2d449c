"""Moments an auditor names: a log position (digits) or a time (ISO 8601), resolved to a position.

Recorded times never go backwards along the log (each append stamps at least its predecessor's
time), so the last position recorded at or before a time is found by bisection: a few reads of
one event each, however long the log.
"""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.errors import InputError
from store.ports import EventStore

Moment = int | datetime


def parse_moment(text: str, *, option: str) -> Moment:
    """A position (digits) or a time (ISO 8601, UTC when it names no zone).

    Raises `InputError` naming `option` and the text when it is neither.
    """
    value = text.strip()
    if value.isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{option} {text!r}: neither a log position nor an ISO 8601 time "
            "(e.g. 2025-06-02T15:40 or 2025-06-02T15:40:00+00:00)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def position_at(store: EventStore, moment: datetime) -> int:
    """The last position recorded at or before `moment` (0 when none was), by bisection."""
    lo, hi = 0, store.head().position  # invariant: lo is at or before, everything above hi after
    while lo < hi:
        mid = (lo + hi + 1) // 2
        event = next(iter(store.read(mid, to_position=mid, batch_size=1)), None)
        if event is not None and event.recorded_at <= moment:
            lo = mid
        else:
            hi = mid - 1
    return lo


def resolve_position(store: EventStore, moment: Moment) -> int:
    """A position for `moment`: positions are capped at the head, times bisected."""
    head = store.head().position
    if isinstance(moment, int):
        return min(moment, head)
    return position_at(store, moment)
