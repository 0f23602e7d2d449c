"""The views' imperative shell: run the negotiation projection through the store's runner, read rows.

projection = build_projection(pack)
catch_up(store, projection)                     # from the checkpoint to the head of the log
follow(store, projection, stop=stop_event)      # then live (the daemon does this)
read_views(store)                               # {"open_demands": {"rows": [...]}, ...}
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import structlog

from monitor.claims.pack import RulesPack
from monitor.posts import Post
from monitor.views.changelog import ChangeLog
from monitor.views.errors import UnknownViewError
from monitor.views.parallel import ExtractPool, default_workers
from monitor.views.projection import NegotiationProjection
from monitor.views.state import VIEWS, ViewState
from store.ports import EventStore
from store.records import RowChange
from store.runner import OutboxFor, ProjectionRunner

PROJECTION = "negotiation"
"""The name the views' rows and checkpoint are stored under."""

BATCH_SIZE = 5_000
"""Events folded per transaction: larger batches write hot rows once instead of many times."""

log = structlog.get_logger("monitor.views")


def build_projection(
    pack: RulesPack, *, extract_workers: int | None = None, **options: Any
) -> NegotiationProjection:
    """The negotiation projection reading posts with `pack` (options: see `NegotiationProjection`).

    `extract_workers`: processes that read posts into claims ahead of the fold on a long
    catch-up or replay (`monitor.views.parallel`); None takes `PARLEY_EXTRACT_WORKERS`, else 2
    on a machine with 2 CPUs or more; 0 or 1 reads in-process. The views are the same either way.
    """
    from monitor.claims import extract

    def read(post: Post) -> list[Any]:
        return extract(post, pack)

    workers = default_workers() if extract_workers is None else extract_workers
    pool = ExtractPool(pack, workers) if workers >= 2 else None
    return NegotiationProjection(read, name=PROJECTION, pool=pool, **options)


def make_runner(
    store: EventStore,
    projection: NegotiationProjection,
    *,
    batch_size: int = BATCH_SIZE,
    outbox_for: OutboxFor | None = None,
) -> ProjectionRunner[ViewState]:
    """A runner for the projection over `store`; `outbox_for(changes)` lets alerts ride along.

    The hook is given every row change of a batch, event by event (`monitor.views.changelog`),
    not the runner's coalesced ones, so the alerts raised do not depend on the batch size.
    """
    if outbox_for is None:
        return ProjectionRunner(store, projection, batch_size=batch_size)
    log_ = ChangeLog(projection, outbox_for)
    return ProjectionRunner(store, log_, batch_size=batch_size, outbox_for=log_.hook)


def catch_up(
    store: EventStore,
    projection: NegotiationProjection,
    *,
    batch_size: int = BATCH_SIZE,
    outbox_for: OutboxFor | None = None,
) -> int:
    """Apply every event after the projection's checkpoint; return how many were applied.

    Raises what the runner raises: `store.errors.StoreError` subclasses (a checkpoint moved by
    another process, a database that is down) and `ViewError` for a state saved by an
    incompatible version.
    """
    applied = make_runner(
        store, projection, batch_size=batch_size, outbox_for=outbox_for
    ).catch_up()
    log.info("views_caught_up", projection=projection.name, events=applied)
    return applied


def follow(
    store: EventStore,
    projection: NegotiationProjection,
    *,
    stop: threading.Event | None = None,
    idle_timeout: float | None = None,
    outbox_for: OutboxFor | None = None,
) -> int:
    """Catch up, then apply new events as they are appended until `stop` is set or `idle_timeout`."""
    runner = make_runner(store, projection, outbox_for=outbox_for)
    return runner.follow(stop=stop, idle_timeout=idle_timeout)


def check_views(names: Iterable[str]) -> list[str]:
    """The views asked for, in display order; raises `UnknownViewError` naming the known ones."""
    wanted = list(names)
    for name in wanted:
        if name not in VIEWS:
            raise UnknownViewError(f"unknown view {name!r}; the views are {', '.join(VIEWS)}")
    return [v for v in VIEWS if v in wanted] if wanted else list(VIEWS)


def read_views(
    store: EventStore, *, views: Iterable[str] = (), projection: str = PROJECTION
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The stored rows of each view (all when `views` is empty), sorted by key.

    Reads what the projection last committed: catch up first for the newest state.
    """
    return {
        view: {"rows": [dict(row) for row in store.view_rows(projection, view)]}
        for view in check_views(views)
    }


def views_as_of(
    store: EventStore,
    projection: NegotiationProjection,
    position: int,
    *,
    views: Iterable[str] = (),
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """The views as they were just after log position `position`, folded in memory.

    Writes nothing: the stored views and their checkpoint are untouched. Shaped as `read_views`.
    """
    names = check_views(views)
    state = projection.initial_state()
    tables: dict[str, dict[str, Any]] = {name: {} for name in names}
    events = store.read(1, to_position=position, batch_size=BATCH_SIZE)
    for done, event in enumerate(projection.prefetch(events, expected=position), start=1):
        state = projection.apply_deferred(state, event)  # rows rendered once per batch
        if done % BATCH_SIZE == 0:
            _keep_rows(tables, projection.flush_changes(state))
    _keep_rows(tables, projection.flush_changes(state))
    return {name: {"rows": [tables[name][k] for k in sorted(tables[name])]} for name in names}


def _keep_rows(tables: dict[str, dict[str, Any]], changes: Iterable[RowChange]) -> None:
    for change in changes:  # rows, as the runner would have stored them
        if change.view in tables:
            if change.row is None:
                tables[change.view].pop(change.key, None)
            else:
                tables[change.view][change.key] = dict(change.row)


def position_at(store: EventStore, moment: datetime) -> int:
    """The last log position recorded at or before `moment` (0 when none was)."""
    found = 0
    for event in store.read(1, batch_size=BATCH_SIZE):
        if event.recorded_at > moment:
            break
        found = event.position
    return found


class ViewsService:
    """Keeps the views current beside the daemon: a thread that follows the log with its own store.

    For `monitor.bootstrap`: `ViewsService(url, build_projection(pack), outbox_for=...)`, then
    `await start()` and `await stop()`. `outbox_for(store)` builds the runner's hook on the
    service's own store (alerts read the rows before a change there). The constructor does no
    I/O. A checkpoint moved by another daemon on the same database is not an error: the runner
    reloads and goes on; any other failure is logged and retried after `retry_after` seconds.
    With `lease_ttl`, the projection runs only while this process holds its lease
    (`projections/NAME` in the store's lease table), so several daemons on one database run
    it one at a time (`store.lease_keeper.follow_while_held`); the lease is released at stop.
    """

    name = "views"

    def __init__(
        self,
        database_url: str,
        projection: NegotiationProjection,
        *,
        outbox_for: Callable[[EventStore], OutboxFor] | None = None,
        retry_after: float = 5.0,
        lease_ttl: float | None = None,
    ) -> None:
        self._url = database_url
        self._lease_ttl = lease_ttl
        self._projection = projection
        self._outbox_for = outbox_for
        self._retry_after = retry_after
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._store: EventStore | None = None

    async def start(self) -> None:
        """Open the service's store and start following the log in a thread."""
        from store import open_store

        self._store = open_store(self._url)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="parley-views", daemon=True)
        self._thread.start()
        log.info("views_started", projection=self._projection.name)

    def _run(self) -> None:
        from store.errors import ConcurrencyError

        store = self._store
        assert store is not None
        hook = self._outbox_for(store) if self._outbox_for is not None else None
        runner = make_runner(store, self._projection, outbox_for=hook)
        lease = None
        if self._lease_ttl is not None:
            from store.lease import lease_store
            from store.lease_keeper import SingleLease

            name = f"projections/{self._projection.name}"
            lease = SingleLease(store=lease_store(store), name=name, ttl=self._lease_ttl)
        while not self._stop.is_set():
            try:
                if lease is not None:
                    from store.lease_keeper import follow_while_held

                    follow_while_held(runner, lease, self._stop)
                    continue
                runner.follow(stop=self._stop)
            except ConcurrencyError:
                log.debug("views_checkpoint_moved", projection=self._projection.name)
            except Exception as exc:
                if self._stop.is_set():
                    break
                log.error("views_failed", projection=self._projection.name, error=str(exc))
                self._stop.wait(self._retry_after)

    async def stop(self) -> None:
        """Stop following (the batch in hand is committed or not at all) and close the store."""
        import asyncio

        self._stop.set()
        if self._lease_ttl is not None and self._thread is not None:
            # Let the thread release the lease before the store closes (it sees `stop` within
            # half a second, or once the batch in hand is committed).
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join, 30)
        if self._store is not None:
            self._store.close()
        if self._thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join, 30)
        log.info("views_stopped", projection=self._projection.name)
