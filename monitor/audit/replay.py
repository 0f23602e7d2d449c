"""Replay: rebuild every view from an empty state, away from the live views, and compare.

    views = fold_views(store, projection, to_position=1200, progress=tick)   # in memory
    views = replay_into(store, target, projection, to_position=1200)         # a separate database
    differences = compare_views(live=read_views(store), rebuilt=views)

A replay never sends an alert: the fold runs without the alerts' outbox hook, and an in-memory
replay writes nothing at all. `replay_into` copies the log (verified on arrival, see
`store.copy`) into the target and rebuilds the views there from an empty state, so the target is a
self-contained audit copy: its own log, its own views, checkable with `parley verify`.

`dump_views` gives the canonical bytes of a set of views: replaying the same log twice gives the
same bytes, and `digest` their SHA-256.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from monitor.views import PROJECTION, check_views
from monitor.views.projection import NegotiationProjection
from monitor.views.state import ViewState
from store._projections import ProjectionStore
from store.copy import copy_log
from store.ports import EventStore

Views = dict[str, dict[str, list[dict[str, Any]]]]
Progress = Callable[[int, int], None]  # (events done, events in all)

BATCH_SIZE = 5_000


def fold_state(
    store: EventStore,
    projection: NegotiationProjection,
    *,
    to_position: int,
    from_state: tuple[int, ViewState] | None = None,
    progress: Progress | None = None,
    every: int = 1_000,
) -> ViewState:
    """The projection's state just after `to_position`, folded in memory from position 1.

    `from_state=(position, state)` continues an earlier fold instead (the state is updated in
    place). Writes nothing. Raises what reading the log and the projection raise.
    """
    start, state = from_state if from_state is not None else (0, projection.initial_state())
    total = max(0, to_position - start)
    done = 0
    if progress is not None:
        progress(0, total)
    apply = projection.apply
    for event in store.read(start + 1, to_position=to_position, batch_size=BATCH_SIZE):
        state, _ = apply(state, event)
        done += 1
        if progress is not None and done % every == 0:
            progress(done, total)
    if progress is not None:
        progress(done, total)
    return state


def views_of(state: ViewState, views: Iterable[str] = ()) -> Views:
    """The rows a state renders, shaped as `monitor.views.read_views` returns them."""
    names = check_views(views)
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for (view, _key), row in sorted(state.emitted.items()):
        if view in rows:
            rows[view].append(row)
    return {name: {"rows": rows[name]} for name in names}


def fold_views(
    store: EventStore,
    projection: NegotiationProjection,
    *,
    to_position: int,
    views: Iterable[str] = (),
    progress: Progress | None = None,
) -> Views:
    """The views just after `to_position`, rebuilt in memory from an empty state (writes nothing)."""
    state = fold_state(store, projection, to_position=to_position, progress=progress)
    return views_of(state, views)


def replay_into(
    source: ProjectionStore,
    target: ProjectionStore,
    projection: NegotiationProjection,
    *,
    to_position: int,
    progress: Progress | None = None,
) -> Views:
    """Copy the log up to `to_position` into `target` and rebuild the views there from empty.

    The target's earlier views (of this projection) are forgotten first; its outbox gets nothing.
    Raises `store.errors.IntegrityError` when the log does not copy cleanly (see `store.copy`).
    """
    from monitor.views import make_runner, read_views

    copy_log(source, target, to_position=to_position)
    target.reset_projection(projection.name)
    runner = make_runner(target, projection, batch_size=BATCH_SIZE)  # no outbox hook: no alerts
    done = 0
    if progress is not None:
        progress(0, to_position)
    while done < to_position:
        # the real runner, in slices so the progress bar moves
        applied = runner.catch_up(to_position=min(done + BATCH_SIZE, to_position))
        if applied == 0:
            break
        done += applied
        if progress is not None:
            progress(done, to_position)
    return read_views(target)


def dump_views(views: Views) -> str:
    """The canonical text of `views`: sorted keys, no ASCII escaping, one final newline."""
    return json.dumps(views, sort_keys=True, ensure_ascii=False, indent=1) + "\n"


def digest(views: Views) -> str:
    """SHA-256 (hex) of `dump_views(views)`."""
    return hashlib.sha256(dump_views(views).encode()).hexdigest()


def live_position(store: EventStore, projection: str = PROJECTION) -> int:
    """The position the live views were last committed at (0 when never built)."""
    return store.checkpoint(projection)[0]


def compare_views(*, live: Views, rebuilt: Views) -> list[str]:
    """Readable differences between two sets of views ([] when they are equal), sorted."""
    out: list[str] = []
    for view in sorted(set(live) | set(rebuilt)):
        a = {str(r["key"]): r for r in live.get(view, {}).get("rows", [])}
        b = {str(r["key"]): r for r in rebuilt.get(view, {}).get("rows", [])}
        for key in sorted(set(a) | set(b)):
            if key not in b:
                out.append(f"{view} [{key}]: in the live views only")
            elif key not in a:
                out.append(f"{view} [{key}]: in the replay only")
            elif a[key] != b[key]:
                for path, x, y in field_differences(a[key], b[key]):
                    out.append(f"{view} [{key}] {path}: live {_short(x)} != replay {_short(y)}")
    return out


def field_differences(a: Any, b: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted path, value in a, value in b) for every leaf that differs between two JSON values."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[tuple[str, Any, Any]] = []
        for k in sorted(set(a) | set(b)):
            out.extend(field_differences(a.get(k), b.get(k), f"{path}.{k}" if path else k))
        return out
    return [] if a == b else [(path or "(row)", a, b)]


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"
