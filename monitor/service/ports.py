"""The metrics interface the daemon writes to, and a no-op default (no global state anywhere).

`monitor.service.metrics.Metrics` implements it with Prometheus instruments; the daemon receives
one as an argument, and without one it gets `NO_POLL_METRICS`, so code and tests that never asked
for metrics keep working unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol


class PollMetrics(Protocol):
    """What the daemon reports: its sources, every finished poll, and other events it appended."""

    def sources(self, names: Sequence[str]) -> None:
        """The sources this daemon polls (so every series exists before the first poll)."""

    def polled(self, source: str, *, ok: bool, seconds: float, events: Mapping[str, int]) -> None:
        """One poll of `source` ended (`ok`: it succeeded) after `seconds`, having appended
        `events` (event type -> how many)."""

    def appended(self, event_type: str, count: int) -> None:
        """`count` events of `event_type` were appended outside a poll (SourceAdded...)."""


class _NoPollMetrics:
    """Counts nothing: the default when no metrics are wanted."""

    def sources(self, names: Sequence[str]) -> None:
        return None

    def polled(self, source: str, *, ok: bool, seconds: float, events: Mapping[str, int]) -> None:
        return None

    def appended(self, event_type: str, count: int) -> None:
        return None


NO_POLL_METRICS: PollMetrics = _NoPollMetrics()
