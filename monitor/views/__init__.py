"""The negotiation views: open demands, agreed exchanges and proposals, folded from the event log.

Public surface:
- `build_projection(pack, **options) -> NegotiationProjection`: the `store.ports.Projection`
  that reads posts into claims with `pack` and keeps the three views.
- `catch_up(store, projection)` and `follow(store, projection, stop=...)`: run it through
  `store.runner.ProjectionRunner` from its checkpoint.
- `ViewsService(database_url, projection, outbox_for=...)`: the daemon's service (async
  `start()`/`stop()`), following the log in a thread on its own store connection.
- `read_views(store, views=())`: the stored rows, `{"open_demands": {"rows": [...]}, ...}`.
- `views_as_of(store, projection, position)`: the views as they were at an earlier position,
  folded in memory (nothing written); `position_at(store, moment)` finds that position.
- `VIEWS`, `PROJECTION`; errors `ViewError`, `UnknownViewError`.
"""

from __future__ import annotations

from monitor import native as _native

_native.install(__name__, __path__)  # the compiled fold when built for these sources (native.py)

from monitor.views.errors import UnknownViewError, ViewError  # noqa: E402
from monitor.views.projection import NegotiationProjection  # noqa: E402
from monitor.views.service import (  # noqa: E402
    PROJECTION,
    ViewsService,
    build_projection,
    catch_up,
    check_views,
    follow,
    make_runner,
    position_at,
    read_views,
    views_as_of,
)
from monitor.views.state import VIEWS  # noqa: E402

__all__ = [
    "PROJECTION",
    "VIEWS",
    "NegotiationProjection",
    "UnknownViewError",
    "ViewError",
    "ViewsService",
    "build_projection",
    "catch_up",
    "check_views",
    "follow",
    "make_runner",
    "position_at",
    "read_views",
    "views_as_of",
]
