"""Every row change, event by event, for the alerts hook: so alerts do not depend on batching.

The store's runner commits a batch of events at once and coalesces its row changes per row (the
last wins): right for the rows, wrong for alerts. A demand pressed in one event and rejected in
the next is "new, then rejected" event by event, but "new (already rejected)" in one batch; an
exchange agreed and then given a count is two changes, or one. Whether the daemon folded a page
post by post (keeping up) or in one batch (catching up after downtime, a fast demo) would then
decide which alerts are raised.

`ChangeLog` wraps the projection for one runner: it records the changes of every event it
applies, in log order, and hands them to the alerts hook in place of the coalesced ones. The hook
classifies them one after another, starting from the rows as stored before the batch
(`alerts.rules.alerts_for`), so the outbox is a function of the log alone: the same messages,
with the same keys, whatever the batch sizes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from monitor.views.projection import NegotiationProjection
from monitor.views.state import ViewState
from store.records import JSONValue, OutboxMessage, RecordedEvent, RowChange

OutboxFor = Callable[[Sequence[RowChange]], Sequence[OutboxMessage]]


class ChangeLog:
    """A `store.ports.Projection` that is `projection` and remembers each event's row changes.

    Use `hook` as the runner's `outbox_for`: it passes the changes recorded since the last call
    (every event of the batch, in order) to `outbox_for`. A state loaded afresh (a new runner, or
    a runner reloading after a failed batch) forgets what the failed batch recorded.
    """

    def __init__(self, projection: NegotiationProjection, outbox_for: OutboxFor) -> None:
        self.projection = projection
        self.name = projection.name
        self._outbox_for = outbox_for
        self._changes: list[RowChange] = []

    def initial_state(self) -> ViewState:
        self._changes = []
        return self.projection.initial_state()

    def load_state(self, data: Any) -> ViewState:
        self._changes = []
        return self.projection.load_state(data)

    def dump_state(self, state: ViewState) -> JSONValue:
        return self.projection.dump_state(state)

    def prefetch(
        self, events: Iterable[RecordedEvent], *, expected: int | None = None
    ) -> Iterable[RecordedEvent]:
        return self.projection.prefetch(events, expected=expected)

    def apply(self, state: ViewState, event: RecordedEvent) -> tuple[ViewState, list[RowChange]]:
        state, changes = self.projection.apply(state, event)
        self._changes.extend(changes)
        return state, changes

    def hook(self, coalesced: Sequence[RowChange]) -> Sequence[OutboxMessage]:
        """The outbox messages for the batch: `outbox_for` over every change, event by event.

        `coalesced` (the runner's per-row summary of the same batch) is not used.
        """
        changes, self._changes = self._changes, []
        return self._outbox_for(changes)
