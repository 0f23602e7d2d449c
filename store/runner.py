"""The projection runner: feeds the log to a projection and commits its rows with its checkpoint.

    runner = ProjectionRunner(store, projection, batch_size=500, outbox_for=alerts_for)
    runner.catch_up()                      # from the checkpoint to the head; returns events applied
    runner.follow(stop=stop_event)         # then live, until `stop` is set or `idle_timeout` passes

Each batch of up to `batch_size` events is folded in memory, its row changes coalesced per
(view, key) (the last change wins), and written with the new state and checkpoint in one
transaction, together with the outbox messages that `outbox_for(changes)` returns. A crash
between batches loses nothing and applies nothing twice: the next run resumes at the checkpoint.
A projection with a `prefetch(events, expected=N)` method is handed the events through it first
(the views read posts ahead in worker processes there); the fold itself stays in log order. One
with `apply_deferred(state, event) -> state` and `flush_changes(state) -> changes` folds a batch
with the first and renders its changed rows once with the second, when no outbox hook needs every
event's changes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Generic, TypeVar

import structlog

from store.errors import StoreError
from store.ports import EventStore, Projection
from store.records import OutboxMessage, RecordedEvent, RowChange

S = TypeVar("S")
OutboxFor = Callable[[Sequence[RowChange]], Sequence[OutboxMessage]]

log = structlog.get_logger("store.runner")

_WAIT_SLICE = 0.5


def _coalesce(changes: Sequence[RowChange]) -> dict[tuple[str, str], RowChange]:
    pending: dict[tuple[str, str], RowChange] = {}
    for change in changes:
        pending.pop((change.view, change.key), None)
        pending[(change.view, change.key)] = change
    return pending


class ProjectionRunner(Generic[S]):
    """Runs one projection over one store. Construction does no I/O."""

    def __init__(
        self,
        store: EventStore,
        projection: Projection[S],
        *,
        batch_size: int = 500,
        outbox_for: OutboxFor | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.store = store
        self.projection = projection
        self.batch_size = batch_size
        self.outbox_for = outbox_for
        self._position: int | None = None  # the checkpoint our cached state belongs to
        self._state: S | None = None

    @property
    def position(self) -> int:
        """The checkpoint this runner last read or committed (0 before the first run)."""
        return self._position or 0

    @property
    def state(self) -> S | None:
        """The projection's state at the stored checkpoint (loaded from the store if needed)."""
        self._load()
        return self._state

    def _load(self) -> int:
        position, saved = self.store.checkpoint(self.projection.name)
        if position != self._position:
            self._state = (
                self.projection.initial_state()
                if saved is None
                else self.projection.load_state(saved)
            )
            self._position = position
        return position

    def catch_up(self, *, to_position: int | None = None) -> int:
        """Apply every event after the checkpoint up to the head (or `to_position`); return how many.

        Raises `ConcurrencyError` if another runner moved the checkpoint meanwhile (the batch is
        not written; call again to resume from the new checkpoint), and whatever the projection or
        the `outbox_for` hook raise (the batch is not written).
        """
        committed = self._load()
        target = self.store.head().position if to_position is None else to_position
        if target <= committed:
            return 0
        state = self._state
        pending: dict[tuple[str, str], RowChange] = {}
        count = 0
        last = committed
        applied = 0
        events: Iterable[RecordedEvent] = self.store.read(
            committed + 1, to_position=target, batch_size=self.batch_size
        )
        prefetch = getattr(self.projection, "prefetch", None)
        if prefetch is not None:  # a projection that reads ahead (in worker processes)
            events = prefetch(events, expected=target - committed)
        # Without an outbox hook only each row's last change in a batch is kept: a projection
        # that can defer its rendering to the end of the batch (`apply_deferred` and
        # `flush_changes`) renders each touched row once there instead of after every event.
        deferred = getattr(self.projection, "apply_deferred", None)
        flush = getattr(self.projection, "flush_changes", None)
        if self.outbox_for is not None or flush is None:
            deferred = None
        try:
            for event in events:
                if deferred is not None:
                    state = deferred(state, event)
                else:
                    state, changes = self.projection.apply(state, event)  # type: ignore[arg-type]
                    for change in changes:
                        pending.pop((change.view, change.key), None)
                        pending[(change.view, change.key)] = change
                last = event.position
                count += 1
                if count == self.batch_size:
                    if deferred is not None:
                        pending = _coalesce(flush(state))  # type: ignore[misc]
                    self._commit(committed, last, state, pending)
                    committed, applied, count = last, applied + count, 0
                    pending = {}
            if count:
                if deferred is not None:
                    pending = _coalesce(flush(state))  # type: ignore[misc]
                self._commit(committed, last, state, pending)
                applied += count
        except BaseException:
            self._position = None  # our cached state may be ahead of the store: reload next time
            raise
        return applied

    def _commit(
        self,
        committed: int,
        position: int,
        state: S | None,
        pending: dict[tuple[str, str], RowChange],
    ) -> None:
        changes = list(pending.values())
        outbox = list(self.outbox_for(changes)) if self.outbox_for is not None else []
        self.store.commit_projection(
            self.projection.name,
            position=position,
            state=self.projection.dump_state(state),  # type: ignore[arg-type]
            changes=changes,
            outbox=outbox,
            expected_position=committed,
        )
        self._position, self._state = position, state
        log.debug(
            "projection_committed",
            projection=self.projection.name,
            position=position,
            changes=len(changes),
            outbox=len(outbox),
        )

    def follow(
        self, *, stop: threading.Event | None = None, idle_timeout: float | None = None
    ) -> int:
        """Catch up, then keep applying new events as they arrive; return how many were applied.

        Returns when `stop` is set or after `idle_timeout` seconds without a new event. Raises
        what `catch_up` raises, and `StoreError` if the store is closed underneath.
        """
        total = 0
        idle_since = time.monotonic()
        while stop is None or not stop.is_set():
            applied = self.catch_up()
            total += applied
            if applied:
                idle_since = time.monotonic()
            slice_ = _WAIT_SLICE
            if idle_timeout is not None:
                remaining = idle_timeout - (time.monotonic() - idle_since)
                if remaining <= 0:
                    break
                slice_ = min(slice_, remaining)
            if stop is not None and stop.is_set():
                break
            try:
                self.store.wait(self.position, slice_)
            except StoreError:
                if stop is not None and stop.is_set():
                    break
                raise
        return total
