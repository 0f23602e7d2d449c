"""Takeover within the lease time, and what a holder that lost its lease is refused.

`store.lease_keeper`'s timing: a lease row lapses 2/3 of the ttl after each renewal, and those
waiting for it try again just after it lapses (the moment read from the rows they read anyway),
not at a fixed rhythm. Then fencing: a holder that was paused while its lease lapsed and was
taken over stops on its own clock before anyone can take over (sources), has its late commit
refused by the checkpoint (views), and is refused the lease by the database (alerts).

Nothing here asserts a speed: each waiting step sleeps exactly the time the code under test
asked for (`RoundResult.wait`, `SingleLease.next_try()`), and the test checks that the lease
was free by then, and taken in that one step.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from structlog.testing import capture_logs

from alerts.channels.webhook import WebhookChannel
from alerts.delivery import DeliveryWorker
from alerts.lease import Lease
from alerts.outbox import message_for
from alerts.secrets import Secret
from store import open_store
from store.errors import ConcurrencyError
from store.lease_keeper import EXPIRY_GRACE, LAPSE, ShareKeeper, SingleLease
from store.records import NewEvent, RecordedEvent, RowChange
from store.runner import ProjectionRunner
from tests.alerts.samples import alert
from tests.alerts.servers import Receiver, http_receiver
from tests.service._helpers import wait_for

TTL = 1.5  # lease rows lapse 1 s after a renewal; holders renew every 0.375 s
CLOCK_STEP = 0.001
"""SQLite reads times to the millisecond (`julianday`) and subtracts them as doubles of about
2.46 million days: a row read in the millisecond it was renewed can show up to ~40 us more
than the lapse, and two reads a fraction of a millisecond apart can disagree by up to 1 ms."""


@pytest.fixture
def store(db_url: str) -> Iterator[Any]:
    s = open_store(db_url)
    yield s
    s.close()


def _left(store: Any, name: str, holder: str) -> float:
    """Seconds `holder`'s lease `name` has left by the database's clock (0 when not live)."""
    return max(
        [x.remaining for x in store.leases(name) if x.name == name and x.holder == holder] or [0.0]
    )


def test_a_silent_members_items_are_taken_in_the_round_its_leases_lapse(store: Any) -> None:
    """Two keepers share 30 items; one falls silent. The other's round just before the lapse asks
    for its next round just after it, and that round takes every one of the silent one's items."""
    items = [f"src{i:02d}" for i in range(30)]
    a, b = (ShareKeeper(store=store, group="g", items=items, ttl=TTL, me=m) for m in "ab")
    for _ in range(3):
        a.round()
        b.round()
    assert sorted(len(k.held) for k in (a, b)) == [15, 15]
    silent = {f"g/{i}" for i in b.held}
    # Rows lapse 2/3 of the ttl after the renewal, not a whole ttl.
    lapse = TTL * LAPSE
    assert all(
        0 < x.remaining <= lapse + CLOCK_STEP for x in store.leases("g/") if x.name in silent
    )
    # From now on b renews nothing. Once its membership has less than a round's rhythm left...
    member = f"g.members/{b.me}"
    wait_for(lambda: _left(store, member, "b") < a.renew_every - 0.1, "b's lease to run down")
    a.round()
    left = _left(store, member, "b")
    result = a.round()
    # ...a's next round is set for just after the lapse, not a whole rhythm later,
    assert result.wait < a.renew_every
    assert result.wait <= left + EXPIRY_GRACE + CLOCK_STEP
    assert result.gained == frozenset()  # (nothing could be taken yet)
    time.sleep(result.wait)
    # and in that round every item of b's is free, and taken.
    taken = a.round()
    assert {f"g/{i}" for i in taken.gained} == silent
    assert (taken.members, taken.share, len(a.held)) == (1, 30, 30)


def test_a_waiting_single_lease_tries_again_just_after_the_holder_lapses(store: Any) -> None:
    """A SingleLease that finds the lease held is told to try again just after it lapses
    (`next_try`), and then takes it, with a new fencing token."""
    a = SingleLease(store=store, name="projections/v", ttl=TTL, me="a")
    b = SingleLease(store=store, name="projections/v", ttl=TTL, me="b")
    assert a.hold()
    assert not b.hold()
    assert b.next_try() <= b.renew_every
    wait_for(
        lambda: _left(store, "projections/v", "a") < b.renew_every - 0.1, "a's lease to run down"
    )
    left = _left(store, "projections/v", "a")
    assert not b.hold()
    wait = b.next_try()
    assert wait < b.renew_every
    assert wait <= left + EXPIRY_GRACE + CLOCK_STEP
    time.sleep(wait)
    assert b.hold()
    assert (b.token, a.token) == (2, 1)
    assert not a.hold()  # the database refuses a: b holds it now
    assert a.token is None


def test_a_paused_keeper_stops_before_its_items_can_be_taken_then_finds_them_lost(
    store: Any,
) -> None:
    """A keeper whose process stalls stops working on its items by its own clock while their
    leases still run (nobody else may take them yet); after they lapse the other takes them, and
    the stalled one's next round reports them lost."""
    items = [f"src{i:02d}" for i in range(10)]
    clock = [1000.0]
    a = ShareKeeper(
        store=store, group="g", items=items, ttl=TTL, me="a", monotonic=lambda: clock[0]
    )
    b = ShareKeeper(store=store, group="g", items=items, ttl=TTL, me="b")
    for _ in range(3):
        a.round()
        b.round()
    mine = set(a.held)
    assert len(mine) == 5
    assert all(a.holds(i) for i in mine)
    clock[0] += TTL / 2  # a stalls: half the ttl passes on its clock without a renewal
    assert not any(a.holds(i) for i in mine)  # it starts no poll of them...
    live = {x.name for x in store.leases("g/") if x.live and x.holder == "a"}
    assert live == {f"g/{i}" for i in mine}  # ...although their leases still run
    assert b.round().gained == frozenset()  # and nobody may take them yet
    wait_for(lambda: b.round().gained == mine, "b to take a's items once they lapse")
    clock[0] += 10.0
    result = a.round()  # a wakes up: the database renews none of them
    assert result.lost == mine
    assert not (a.held & mine)
    assert not any(a.holds(i) for i in mine)


class _Counting:
    """A projection that counts events in one view row."""

    name = "counting"

    def initial_state(self) -> int:
        return 0

    def apply(self, state: int, event: RecordedEvent) -> tuple[int, list[RowChange]]:
        return state + 1, [RowChange(view="count", key="n", row={"n": state + 1})]

    def dump_state(self, state: int) -> int:
        return state

    def load_state(self, data: Any) -> int:
        return int(data)


def _events(prefix: str, count: int) -> list[NewEvent]:
    return [
        NewEvent(stream_id=f"{prefix}{i}", event_type="E", data={}, idempotency_key=f"{prefix}{i}")
        for i in range(count)
    ]


def test_a_views_runner_that_lost_its_lease_has_its_commit_refused(db_url: str) -> None:
    """The views' checkpoint is their fence: a runner paused while another took its lease over
    and committed is refused (ConcurrencyError) when it wakes and commits the batch it had
    begun, and the views keep what the new holder wrote."""
    first, second = open_store(db_url), open_store(db_url)
    try:
        first.append(_events("a", 10))
        old = SingleLease(store=first, name="projections/counting", ttl=TTL, me="old")
        new = SingleLease(store=second, name="projections/counting", ttl=TTL, me="new")
        assert old.hold()
        assert ProjectionRunner(first, _Counting(), batch_size=100).catch_up() == 10
        # `old` stalls; its lease lapses and `new` takes it at the moment it is told to.
        assert not new.hold()
        wait_for(new.hold, "the new holder to take the lapsed lease")
        first.append(_events("b", 5))
        assert ProjectionRunner(second, _Counting(), batch_size=100).catch_up() == 5
        assert second.checkpoint("counting")[0] == 15
        # `old` wakes: by its own clock it no longer holds the lease (follow_while_held would
        # stop here), and the batch it had begun from checkpoint 10 before stalling (events 11
        # to 15, as it folded them) is refused by the checkpoint.
        assert not old.held
        with pytest.raises(ConcurrencyError):
            first.commit_projection(
                "counting",
                position=15,
                state=15,
                changes=[RowChange(view="count", key="n", row={"n": -1})],
                expected_position=10,
            )
        assert second.view_rows("counting", "count") == [{"n": 15}]
        assert not old.hold()  # and the database refuses it the lease
    finally:
        first.close()
        second.close()


@pytest.fixture
def rx() -> Iterator[Receiver]:
    with http_receiver() as receiver:
        yield receiver


def _worker(store: Any, rx: Receiver, name: str) -> DeliveryWorker:
    hook = WebhookChannel(name="hook", url=Secret(rx.url()), secret=Secret("takeover-key"))
    return DeliveryWorker(
        outbox=store, channels={"hook": hook}, lease=Lease(store=store, me=name, ttl=TTL)
    )


def _enqueue(store: Any, projection: str, key: str) -> None:
    """An alert in the outbox, as the views would raise it (one projection per call)."""
    msg = message_for(alert(key=key, row_key=key), "hook")
    store.commit_projection(
        projection, position=0, state=None, changes=[], outbox=[msg], expected_position=0
    )


def test_an_alert_worker_whose_lease_was_taken_over_is_refused_and_sends_nothing(
    store: Any, rx: Receiver
) -> None:
    """Worker `old` delivers, then stalls; `new` takes the lapsed lease and delivers the next
    alert. When `old` wakes, the database refuses it the lease (`lease_lost` logged), it sends
    nothing, and each alert reached the receiver once."""
    old, new = _worker(store, rx, "old"), _worker(store, rx, "new")
    _enqueue(store, "v1", "k1")
    assert asyncio.run(old.run_once()).delivered == 1
    _enqueue(store, "v2", "k2")
    assert asyncio.run(new.run_once()).delivered == 0  # old holds the lease
    wait_for(lambda: asyncio.run(new.run_once()).delivered == 1, "new to take over and deliver")
    with capture_logs() as logs:
        assert asyncio.run(old.run_once()).delivered == 0
    assert any(e["event"] == "lease_lost" and e["holder"] == "old" for e in logs), logs
    assert old.lease is not None
    assert old.lease.holder() == "new"
    assert sorted(r.headers["x-parley-alert-key"] for r in rx.requests) == ["k1", "k2"]
