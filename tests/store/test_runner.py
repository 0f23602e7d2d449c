"""The projection runner: catch-up, batching with coalesced changes, atomic commits, live follow."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from store import ConcurrencyError, OutboxMessage, RecordedEvent, RowChange, open_store
from store._projections import ProjectionStore
from store.runner import ProjectionRunner
from tests.store._helpers import event


@dataclass
class Latest:
    """Keeps, per stream, the last n seen; fails on the event whose n equals `explode_at`."""

    name: str = "latest"
    explode_at: int | None = None
    applied: list[int] = field(default_factory=list)

    def initial_state(self) -> dict[str, int]:
        return {}

    def apply(
        self, state: dict[str, int], e: RecordedEvent
    ) -> tuple[dict[str, int], list[RowChange]]:
        if e.data["n"] == self.explode_at:
            raise RuntimeError(f"projection failed on {e.position}")
        self.applied.append(e.position)
        counts = {**state, e.stream_id: state.get(e.stream_id, 0) + 1}
        row = {"stream": e.stream_id, "last": e.data["n"], "count": counts[e.stream_id]}
        return counts, [RowChange(view="streams", key=e.stream_id, row=row)]

    def dump_state(self, state: dict[str, int]) -> Any:
        return state

    def load_state(self, data: Any) -> dict[str, int]:
        return dict(data)


def _alerts(changes: Sequence[RowChange]) -> list[OutboxMessage]:
    return [
        OutboxMessage(key=f"{c.key}:{c.row['count']}", topic="changed", payload=dict(c.row))
        for c in changes
        if c.row is not None
    ]


def test_catch_up_applies_everything_and_commits_rows_state_checkpoint(
    store: ProjectionStore,
) -> None:
    """catch_up() folds the whole log in batches; rows, state and checkpoint match the log."""
    store.append([event(i, stream="ab"[i % 2]) for i in range(1, 8)])
    runner = ProjectionRunner(store, Latest(), batch_size=3)
    assert runner.catch_up() == 7
    assert runner.position == 7
    assert store.checkpoint("latest") == (7, {"a": 3, "b": 4})
    assert store.view_rows("latest", "streams") == [
        {"stream": "a", "last": 6, "count": 3},
        {"stream": "b", "last": 7, "count": 4},
    ]
    assert runner.catch_up() == 0


def test_catch_up_resumes_from_the_checkpoint_in_a_new_runner(store: ProjectionStore) -> None:
    """A fresh runner (a restart) starts after the checkpoint and never re-applies an event."""
    store.append([event(i) for i in range(1, 4)])
    ProjectionRunner(store, Latest()).catch_up()
    store.append([event(i) for i in range(4, 6)])
    projection = Latest()
    assert ProjectionRunner(store, projection).catch_up() == 2
    assert projection.applied == [4, 5]
    assert store.view_rows("latest", "streams") == [{"stream": "s", "last": 5, "count": 5}]


def test_changes_to_one_key_are_coalesced_within_a_batch(store: ProjectionStore) -> None:
    """Many changes to the same row in one batch reach the outbox hook once, with the final row."""
    store.append([event(i) for i in range(1, 6)])
    hooked: list[list[RowChange]] = []

    def hook(changes: Sequence[RowChange]) -> list[OutboxMessage]:
        hooked.append(list(changes))
        return _alerts(changes)

    ProjectionRunner(store, Latest(), batch_size=10, outbox_for=hook).catch_up()
    assert len(hooked) == 1
    assert [c.row for c in hooked[0]] == [{"stream": "s", "last": 5, "count": 5}]
    assert [m.key for m in store.pending_outbox()] == ["s:5"]


def test_a_failing_projection_commits_nothing_of_its_batch(store: ProjectionStore) -> None:
    """An exception mid-batch leaves rows, state, checkpoint and outbox at the previous batch."""
    store.append([event(i) for i in range(1, 8)])
    runner = ProjectionRunner(store, Latest(explode_at=5), batch_size=3, outbox_for=_alerts)
    with pytest.raises(RuntimeError, match="failed on 5"):
        runner.catch_up()
    assert store.checkpoint("latest") == (3, {"s": 3})
    assert store.view_rows("latest", "streams") == [{"stream": "s", "last": 3, "count": 3}]
    assert [m.key for m in store.pending_outbox()] == ["s:3"]
    fixed = ProjectionRunner(store, Latest(), batch_size=3, outbox_for=_alerts)
    assert fixed.catch_up() == 4
    assert store.checkpoint("latest")[0] == 7


def test_a_failing_outbox_hook_commits_nothing_of_its_batch(store: ProjectionStore) -> None:
    """If building the alerts fails, the view change is not written either."""
    store.append([event(1), event(2)])

    def broken(changes: Sequence[RowChange]) -> list[OutboxMessage]:
        raise ValueError("rule pack broken")

    with pytest.raises(ValueError, match="rule pack broken"):
        ProjectionRunner(store, Latest(), outbox_for=broken).catch_up()
    assert store.checkpoint("latest") == (0, None)
    assert store.view_rows("latest", "streams") == []


def test_two_runners_of_one_projection_cannot_both_commit(
    store: ProjectionStore, db_url: str
) -> None:
    """A second runner that started from a stale checkpoint gets ConcurrencyError, and resumes."""
    store.append([event(1), event(2)])
    first = ProjectionRunner(store, Latest())
    with open_store(db_url) as other_store:
        second = ProjectionRunner(other_store, Latest())
        assert second.position == 0
        assert second.state == {}
        first.catch_up()
        store.append([event(3)])
        with pytest.raises(ConcurrencyError):
            _race(second)
        assert second.catch_up() == 1  # it reloads the checkpoint and applies only event 3
    assert store.view_rows("latest", "streams") == [{"stream": "s", "last": 3, "count": 3}]


def _race(runner: ProjectionRunner[Any]) -> None:
    """Commit from the checkpoint the runner believes in (0), as a stale runner would."""
    runner.store.commit_projection(
        runner.projection.name, position=3, state={}, changes=[], expected_position=runner.position
    )


def test_follow_applies_new_events_live_until_stopped(store: ProjectionStore) -> None:
    """follow() keeps the view current as events arrive and returns when asked to stop."""
    store.append([event(1)])
    runner = ProjectionRunner(store, Latest())
    stop = threading.Event()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(runner.follow(stop=stop)))
    thread.start()
    store.append([event(2), event(3)])
    for _ in range(600):
        if store.checkpoint("latest")[0] == 3:
            break
        threading.Event().wait(0.05)
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert result == [3]
    assert store.view_rows("latest", "streams") == [{"stream": "s", "last": 3, "count": 3}]


def test_follow_returns_after_idle_timeout(store: ProjectionStore) -> None:
    """With nothing new to apply, follow(idle_timeout=...) returns what it applied."""
    store.append([event(1)])
    assert ProjectionRunner(store, Latest()).follow(idle_timeout=0.3) == 1


def test_reset_then_catch_up_rebuilds_identical_rows(store: ProjectionStore) -> None:
    """A replay from an empty projection gives the same rows and state."""
    store.append([event(i, stream="abc"[i % 3]) for i in range(1, 20)])
    ProjectionRunner(store, Latest(), batch_size=4).catch_up()
    before = (store.view_rows("latest", "streams"), store.checkpoint("latest"))
    store.reset_projection("latest")
    ProjectionRunner(store, Latest(), batch_size=7).catch_up()
    assert (store.view_rows("latest", "streams"), store.checkpoint("latest")) == before
