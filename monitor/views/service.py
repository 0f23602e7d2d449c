"""The views' imperative shell: run the negotiation projection through the store's runner, read rows.

projection = build_projection(pack)
catch_up(store, projection)                     # from the checkpoint to the head of the log
follow(store, projection, stop=stop_event)      # then live (the daemon does this)
read_views(store)                               # {"open_demands": {"rows": [...]}, ...}
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import structlog

from monitor.claims.pack import RulesPack
from monitor.posts import Post
from monitor.views.errors import UnknownViewError
from monitor.views.projection import NegotiationProjection
from monitor.views.state import VIEWS, ViewState
from store.ports import EventStore
from store.runner import OutboxFor, ProjectionRunner

PROJECTION = "negotiation"
"""The name the views' rows and checkpoint are stored under."""

BATCH_SIZE = 5_000
"""Events folded per transaction: larger batches write hot rows once instead of many times."""

log = structlog.get_logger("monitor.views")


def build_projection(pack: RulesPack, **options: Any) -> NegotiationProjection:
    """The negotiation projection reading posts with `pack` (options: see `NegotiationProjection`)."""
    from monitor.claims import extract

    def read(post: Post) -> list[Any]:
        return extract(post, pack)

    return NegotiationProjection(read, name=PROJECTION, **options)


def make_runner(
    store: EventStore,
    projection: NegotiationProjection,
    *,
    batch_size: int = BATCH_SIZE,
    outbox_for: OutboxFor | None = None,
) -> ProjectionRunner[ViewState]:
    """A runner for the projection over `store`; `outbox_for(changes)` lets alerts ride along."""
    return ProjectionRunner(store, projection, batch_size=batch_size, outbox_for=outbox_for)


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
