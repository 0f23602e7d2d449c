"""Replay: rebuild every view from an empty state, away from the live views, and compare.

    views = fold_views(store, projection, to_position=1200, progress=tick)   # in memory
    views = replay_into(store, target, projection, to_position=1200)         # a separate database
    differences = compare_views(live=read_views(store), rebuilt=views)

    with RowStore() as rows:                                                 # memory flat
        fold_state(store, projection, to_position=head, rows=rows)
        text = "".join(dump_chunks(VIEWS, rows.rows))                        # == dump_views(...)

A replay never sends an alert: the fold runs without the alerts' outbox hook, and a replay that
is not `replay_into` writes to no database (its rows wait in a temporary file). `replay_into` copies the log (verified on arrival, see
`store.copy`) into the target and rebuilds the views there from an empty state, so the target is a
self-contained audit copy: its own log, its own views, checkable with `parley verify`.

`dump_views` gives the canonical bytes of a set of views: replaying the same log twice gives the
same bytes, and `digest` their SHA-256. `dump_chunks` gives the same text a row at a time, from
rows kept on disk (`monitor.audit.rows.RowStore`), so a long replay never holds every row at
once: the rows are collected from the projection's row changes, as the live runner stores them,
not from its state (an exchange row that can no longer change leaves the state but stays in the
views).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from monitor.audit.rows import RowStore
from monitor.views import PROJECTION, check_views
from monitor.views.projection import NegotiationProjection
from monitor.views.state import ViewState
from store._projections import ProjectionStore
from store.copy import copy_log
from store.ports import EventStore

Views = dict[str, dict[str, list[dict[str, Any]]]]
Progress = Callable[[int, int], None]  # (events done, events in all)
RowsOf = Callable[[str], Iterable[dict[str, Any]]]  # a view's rows, sorted by key

BATCH_SIZE = 5_000


def fold_state(
    store: EventStore,
    projection: NegotiationProjection,
    *,
    to_position: int,
    from_state: tuple[int, ViewState] | None = None,
    progress: Progress | None = None,
    every: int = 1_000,
    rows: RowStore | None = None,
    flush_every: int = BATCH_SIZE,
) -> ViewState:
    """The projection's state just after `to_position`, folded in memory from position 1.

    `from_state=(position, state)` continues an earlier fold instead (the state is updated in
    place). With `rows`, every row change goes there (flushed to its file every `flush_every`
    events): the views themselves, which the state alone does not hold. Writes nothing else.
    The rows are rendered every `flush_every // 5` events (`apply_deferred`), so only each
    row's last change in that span reaches `rows`: the same rows as folding event by event.
    Raises what reading the log and the projection raise.
    """
    start, state = from_state if from_state is not None else (0, projection.initial_state())
    total = max(0, to_position - start)
    done = 0
    if progress is not None:
        progress(0, total)
    # Rows are rendered a few times per flush (`render_every`), not after every event: a row
    # touched by many events in between is rendered once, and its last change is what is kept.
    apply = projection.apply_deferred
    render_every = max(1, flush_every // 5)
    events = store.read(start + 1, to_position=to_position, batch_size=BATCH_SIZE)
    for event in projection.prefetch(events, expected=total):
        state = apply(state, event)
        done += 1
        if rows is not None:
            flush = done % flush_every == 0
            if flush or done % render_every == 0:
                rows.apply(projection.flush_changes(state))
            if flush:
                rows.flush()
        if progress is not None and done % every == 0:
            progress(done, total)
    changes = projection.flush_changes(state)
    if rows is not None:
        rows.apply(changes)
        rows.flush()
    if progress is not None:
        progress(done, total)
    return state


def views_of(rows: RowStore, views: Iterable[str] = ()) -> Views:
    """The rows `rows` holds, shaped as `monitor.views.read_views` returns them (all in memory)."""
    return {name: {"rows": list(rows.rows(name))} for name in check_views(views)}


def fold_views(
    store: EventStore,
    projection: NegotiationProjection,
    *,
    to_position: int,
    views: Iterable[str] = (),
    progress: Progress | None = None,
) -> Views:
    """The views just after `to_position`, rebuilt from an empty state (writes nothing of the store's).

    The result holds every row; `parley replay` streams them from a `RowStore` instead.
    """
    with RowStore() as rows:
        fold_state(store, projection, to_position=to_position, progress=progress, rows=rows)
        return views_of(rows, views)


def replay_into(
    source: ProjectionStore,
    target: ProjectionStore,
    projection: NegotiationProjection,
    *,
    to_position: int,
    progress: Progress | None = None,
    read_back: bool = True,
) -> Views:
    """Copy the log up to `to_position` into `target` and rebuild the views there from empty.

    The target's earlier views (of this projection) are forgotten first; its outbox gets nothing.
    Returns the rebuilt views as `read_views(target)` gives them, or `{}` without `read_back`
    (for a caller that reads the target's rows a view at a time). Raises
    `store.errors.IntegrityError` when the log does not copy cleanly (see `store.copy`).
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
    return read_views(target) if read_back else {}


def dump_views(views: Views) -> str:
    """The canonical text of `views`: sorted keys, no ASCII escaping, one final newline."""
    return json.dumps(views, sort_keys=True, ensure_ascii=False, indent=1) + "\n"


def digest(views: Views) -> str:
    """SHA-256 (hex) of `dump_views(views)`."""
    return hashlib.sha256(dump_views(views).encode()).hexdigest()


_ROW_INDENT = "\n   "  # a row sits three levels deep: {view: {"rows": [row]}}


def dump_chunks(views: Iterable[str], rows_of: RowsOf) -> Iterator[str]:
    """`dump_views` of the named views, a row at a time: the same text, joined.

    `rows_of(view)` gives a view's rows sorted by key (`RowStore.rows`, or a list's iterator);
    only one row is encoded at a time, so the text can go to a file or a hash without ever being
    whole in memory.
    """
    names = sorted(set(views))
    if not names:
        yield "{}\n"
        return
    yield "{"
    for i, name in enumerate(names):
        yield (
            ("\n " if i == 0 else ",\n ")
            + json.dumps(name, ensure_ascii=False)
            + ': {\n  "rows": ['
        )
        empty = True
        for row in rows_of(name):
            text = json.dumps(row, sort_keys=True, ensure_ascii=False, indent=1)
            yield ("\n   " if empty else ",\n   ") + text.replace("\n", _ROW_INDENT)
            empty = False
        yield "]\n }" if empty else "\n  ]\n }"
    yield "\n}\n"


def digest_chunks(chunks: Iterable[str]) -> str:
    """SHA-256 (hex) of the UTF-8 text `chunks` join to: `digest` of streamed views."""
    sha = hashlib.sha256()
    for chunk in chunks:
        sha.update(chunk.encode())
    return sha.hexdigest()


def live_position(store: EventStore, projection: str = PROJECTION) -> int:
    """The position the live views were last committed at (0 when never built)."""
    return store.checkpoint(projection)[0]


def compare_views(*, live: Views, rebuilt: Views) -> list[str]:
    """Readable differences between two sets of views ([] when they are equal), sorted."""

    def sorted_rows(views: Views) -> RowsOf:
        def rows_of(view: str) -> list[dict[str, Any]]:
            rows = views.get(view, {}).get("rows", [])
            return sorted(rows, key=lambda r: str(r["key"]))

        return rows_of

    return list(
        compare_rows(set(live) | set(rebuilt), live=sorted_rows(live), rebuilt=sorted_rows(rebuilt))
    )


def compare_rows(views: Iterable[str], *, live: RowsOf, rebuilt: RowsOf) -> Iterator[str]:
    """`compare_views` over rows given view by view, sorted by key (one row of each side at a time)."""
    for view in sorted(set(views)):
        a_rows, b_rows = iter(live(view)), iter(rebuilt(view))
        a, b = next(a_rows, None), next(b_rows, None)
        while a is not None or b is not None:
            a_key = None if a is None else str(a["key"])
            b_key = None if b is None else str(b["key"])
            if b_key is None or (a_key is not None and a_key < b_key):
                yield f"{view} [{a_key}]: in the live views only"
                a = next(a_rows, None)
            elif a_key is None or b_key < a_key:
                yield f"{view} [{b_key}]: in the replay only"
                b = next(b_rows, None)
            else:
                if a != b:
                    for path, x, y in field_differences(a, b):
                        yield f"{view} [{a_key}] {path}: live {_short(x)} != replay {_short(y)}"
                a, b = next(a_rows, None), next(b_rows, None)


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
