"""Rows rendered once per batch (`apply_deferred` + `flush_changes`) equal rows rendered after
every event (`apply`), whatever the flush points: the runner and the replay use the first."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from monitor.views import NegotiationProjection
from store.records import RowChange
from tests.audit._log import simulated_events
from tests.views._script import post, script_extract
from tests.views._seed import published, recorded


def _projection(**options: Any) -> NegotiationProjection:
    return NegotiationProjection(script_extract, name="negotiation", **options)


def _keep(rows: dict[tuple[str, str], Any], changes: list[RowChange]) -> None:
    for change in changes:
        if change.row is None:
            rows.pop((change.view, change.key), None)
        else:
            rows[(change.view, change.key)] = dict(change.row)


def _both(events: list[Any], flush_at: set[int], **options: Any) -> tuple[str, str, str, str]:
    one, batched = _projection(**options), _projection(**options)
    a, b = one.initial_state(), batched.initial_state()
    rows_a: dict[tuple[str, str], Any] = {}
    rows_b: dict[tuple[str, str], Any] = {}
    for i, event in enumerate(recorded(events), start=1):
        a, changes = one.apply(a, event)
        _keep(rows_a, changes)
        b = batched.apply_deferred(b, event)
        if i in flush_at:
            _keep(rows_b, batched.flush_changes(b))
    _keep(rows_b, batched.flush_changes(b))
    assert batched.flush_changes(b) == []  # nothing left once flushed

    def text(value: Any) -> str:
        return json.dumps(value, sort_keys=True, default=str)

    return (
        text(sorted(rows_a.items())),
        text(sorted(rows_b.items())),
        text(one.dump_state(a)),
        text(batched.dump_state(b)),
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_deferred_rows_and_state_equal_event_by_event(seed: int) -> None:
    events = simulated_events(600, seed=seed)
    rng = random.Random(seed)
    flush_at = {rng.randrange(1, len(events)) for _ in range(rng.randint(0, 30))}
    rows_a, rows_b, state_a, state_b = _both(events, flush_at, revision_window=40)
    assert len(rows_a) > 100
    assert rows_a == rows_b
    assert state_a == state_b


def test_an_exchange_row_leaving_the_state_mid_batch_keeps_its_last_change() -> None:
    """A row touched in a batch and retired (it can no longer change) before the batch is
    rendered: its change is rendered as it leaves, so the views still get it."""
    events = [published(post("p0", "agreement RUS prisoner_exchange parties=UKR count=100"))]
    events += [
        published(post(f"q{i}", f"demand UKR ceasefire parties=C{i}", minutes=3 * 1440 + i))
        for i in range(1_050)
    ]
    rows_a, rows_b, state_a, state_b = _both(events, set(), revision_window=5, fulfil_window_days=1)
    assert "prisoner_exchange" in rows_a
    assert rows_a == rows_b
    assert state_a == state_b
