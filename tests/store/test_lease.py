"""Leases (store.lease, store.lease_keeper): compare-and-set on both backends, fair shares, takeover."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from store import open_store
from store.errors import ConfigurationError
from store.lease import lease_store
from store.lease_keeper import ShareKeeper, SingleLease, fair_share, follow_while_held
from store.records import NewEvent, RecordedEvent, RowChange
from store.runner import ProjectionRunner

DEADLINE = 60.0  # generous: conditions are waited on, never slept on


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def store(db_url: str) -> Iterator[Any]:
    s = open_store(db_url)
    yield s
    s.close()


def test_a_free_lease_is_taken_and_a_held_one_is_not(store: Any) -> None:
    """Claiming takes missing leases; a lease another holder renewed is refused, whatever is asked."""
    got = store.claim_leases(["b", "a"], "h1", 30)
    assert [(x.name, x.holder, x.token) for x in got] == [("a", "h1", 1), ("b", "h1", 1)]
    assert all(29 < x.remaining <= 30 for x in got)
    assert [x.name for x in store.claim_leases(["a", "c"], "h2", 30)] == ["c"]
    assert {x.name: x.holder for x in store.leases()} == {"a": "h1", "b": "h1", "c": "h2"}


def test_renewal_keeps_the_token_and_a_new_tenure_raises_it(store: Any) -> None:
    """The fencing token stays while one holder renews, and goes up with every new tenure."""
    assert store.claim_leases(["a"], "h1", 30)[0].token == 1
    assert store.claim_leases(["a"], "h1", 30)[0].token == 1  # renewed
    assert store.release_leases(["a"], "h1") == 1
    assert not store.leases("a")[0].live
    assert store.claim_leases(["a"], "h2", 30)[0].token == 2  # taken over after release
    assert store.claim_leases(["a"], "h1", 30) == []  # h2 holds it now
    assert store.release_leases(["a"], "h1") == 0  # not h1's to release


def test_an_expired_lease_is_taken_over_by_the_database_clock(store: Any) -> None:
    """A lease not renewed for its ttl is free: another holder takes it, with a new token."""
    assert store.claim_leases(["a"], "h1", 0.3)
    assert store.claim_leases(["a"], "h2", 30) == []
    wait_until(lambda: bool(store.claim_leases(["a"], "h2", 30)), "the lease to lapse")
    (lease,) = store.leases("a")
    assert (lease.holder, lease.token, lease.live) == ("h2", 2, True)


def test_replacing_takes_a_live_lease_only_from_the_holder_named(store: Any) -> None:
    """`replacing` takes a live lease from a holder known to be dead, and from no one else."""
    store.claim_leases(["a", "b"], "dead", 3600)
    store.claim_leases(["c"], "alive", 3600)
    got = store.claim_leases(["a", "b", "c"], "heir", 30, replacing=["dead"])
    assert [x.name for x in got] == ["a", "b"]
    assert [x.token for x in got] == [2, 2]


def test_forget_deletes_and_prefix_lists_only_its_group(store: Any) -> None:
    """`forget` deletes the holder's rows; `leases(prefix)` lists one group, by name."""
    store.claim_leases(["g/2", "g/1", "g.members/h", "other"], "h", 30)
    assert [x.name for x in store.leases("g/")] == ["g/1", "g/2"]
    assert store.release_leases(["g.members/h"], "h", forget=True) == 1
    assert [x.name for x in store.leases("g")] == ["g/1", "g/2"]


def test_bad_arguments_are_refused_with_a_clear_error(store: Any) -> None:
    """An empty holder or a ttl that is not positive is a ValueError naming it; nothing is written."""
    with pytest.raises(ValueError, match="holder"):
        store.claim_leases(["a"], "", 30)
    with pytest.raises(ValueError, match="ttl must be more than 0 seconds, not 0"):
        store.claim_leases(["a"], "h", 0)
    assert store.leases() == []
    with pytest.raises(ConfigurationError, match="keeps no leases"):
        lease_store(object())


def test_holders_racing_for_the_same_leases_never_share_one(db_url: str) -> None:
    """Four threads, each with its own connection, claim the same 50 leases at once, 10 times:
    every lease ends with exactly one holder and each claimer's answer matches the table."""
    stores = [open_store(db_url) for _ in range(4)]
    names = [f"s/{i:02d}" for i in range(50)]
    try:
        for round_ in range(10):
            barrier = threading.Barrier(len(stores))
            won: dict[int, set[str]] = {}

            def claim(i: int, barrier: threading.Barrier = barrier, won: Any = won) -> None:
                barrier.wait()
                got = stores[i].claim_leases(names, f"h{i}", 30)
                won[i] = {x.name for x in got}

            threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(stores))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            table = {x.name: x.holder for x in stores[0].leases("s/")}
            assert sorted(n for got in won.values() for n in got) == names  # each won once
            assert all(table[n] == f"h{i}" for i, got in won.items() for n in got)
            for i in range(len(stores)):
                stores[i].release_leases(names, f"h{i}")
            assert not any(x.live for x in stores[0].leases("s/")), round_
    finally:
        for s in stores:
            s.close()


@pytest.mark.parametrize(
    ("items", "members", "share"), [(200, 3, 67), (200, 2, 100), (5, 1, 5), (0, 3, 0), (2, 3, 1)]
)
def test_fair_share_is_items_over_members_rounded_up(items: int, members: int, share: int) -> None:
    """A daemon takes at most ceil(items / live daemons)."""
    assert fair_share(items, members) == share


def _keepers(store: Any, count: int, items: list[str], ttl: float = 30) -> list[ShareKeeper]:
    return [
        ShareKeeper(store=store, group="sources", items=items, ttl=ttl, me=f"d{i}")
        for i in range(count)
    ]


def _settle(keepers: list[ShareKeeper], rounds: int = 6) -> None:
    for _ in range(rounds):
        for k in keepers:
            k.round()


def test_three_keepers_split_200_items_fairly_and_without_overlap(store: Any) -> None:
    """Started one after the other, three keepers end with 67/67/66 items, none held twice."""
    items = [f"src{i:03d}" for i in range(200)]
    keepers = _keepers(store, 3, items)
    keepers[0].round()
    assert len(keepers[0].held) == 200  # alone, it takes everything
    _settle(keepers)
    assert sorted(len(k.held) for k in keepers) == [66, 67, 67]
    assert sorted(i for k in keepers for i in k.held) == items
    assert all(k.holds(i) for k in keepers for i in k.held)
    table = {x.name: x.holder for x in store.leases("sources/")}
    assert all(table[f"sources/{i}"] == k.me for k in keepers for i in k.held)


def test_a_keeper_that_stops_renewing_is_replaced_and_one_that_stops_cleanly_at_once(
    store: Any,
) -> None:
    """A silent keeper's items go to the others once its leases lapse; a clean stop frees them now."""
    items = [f"src{i:03d}" for i in range(30)]
    keepers = _keepers(store, 3, items, ttl=2.0)
    _settle(keepers)
    silent, *alive = keepers
    lost = set(silent.held)
    assert len(lost) == 10

    def taken_over() -> bool:
        for k in alive:
            k.round()
        return all(i in alive[0].held or i in alive[1].held for i in items)

    wait_until(taken_over, "the silent keeper's items to be taken over")
    assert sorted(len(k.held) for k in alive) == [15, 15]
    alive[0].release_all()
    assert alive[0].me not in {x.holder for x in store.leases("sources.members/")}
    alive[1].round()
    assert len(alive[1].held) == 30  # taken at its next round, without waiting for any ttl


def test_busy_items_are_not_given_up(store: Any) -> None:
    """A keeper above its share gives up only items it is not working on."""
    items = ["a", "b", "c", "d"]
    first, second = _keepers(store, 2, items)
    first.round()
    second.round()  # registers; nothing free yet
    first.round(busy={"a", "b", "c", "d"})
    assert len(first.held) == 4
    first.round(busy={"a", "b"})
    assert first.held >= {"a", "b"}
    assert len(first.held) == 2


def test_single_lease_is_held_by_one_and_released_at_once(store: Any) -> None:
    """Two SingleLeases on one name: one holds it; after a release the other takes it."""
    a = SingleLease(store=store, name="projections/v", ttl=30, me="a")
    b = SingleLease(store=store, name="projections/v", ttl=30, me="b")
    assert a.hold()
    assert a.held
    assert not b.hold()
    a.release()
    assert not a.held
    assert b.hold()
    assert b.token == 2


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


def test_follow_while_held_runs_the_projection_in_one_process_at_a_time(db_url: str) -> None:
    """Two followers on one database: only the lease holder applies events; when it stops (and
    releases), the other takes over from the checkpoint; every event is applied exactly once."""
    stores = [open_store(db_url) for _ in range(2)]
    stores[0].append(
        [
            NewEvent(stream_id=f"s{i}", event_type="E", data={}, idempotency_key=f"k{i}")
            for i in range(30)
        ]
    )
    stops = [threading.Event(), threading.Event()]
    applied = [0, 0]
    leases = [
        SingleLease(store=s, name="projections/counting", ttl=3, me=f"f{i}")
        for i, s in enumerate(stores)
    ]

    def run(i: int) -> None:
        runner = ProjectionRunner(stores[i], _Counting(), batch_size=7)
        applied[i] = follow_while_held(runner, leases[i], stops[i], wait_slice=0.05)

    first = threading.Thread(target=run, args=(0,))
    first.start()
    wait_until(lambda: stores[0].checkpoint("counting")[0] == 30, "the first follower")
    second = threading.Thread(target=run, args=(1,))
    second.start()
    stores[0].append([NewEvent(stream_id="t", event_type="E", data={}, idempotency_key="k-late")])
    wait_until(lambda: stores[0].checkpoint("counting")[0] == 31, "the late event")
    stops[0].set()
    first.join()
    stores[0].append([NewEvent(stream_id="u", event_type="E", data={}, idempotency_key="k-after")])
    wait_until(lambda: stores[0].checkpoint("counting")[0] == 32, "the second follower")
    stops[1].set()
    second.join()
    assert applied == [31, 1]
    assert stores[0].view_rows("counting", "count") == [{"n": 32}]
    assert stores[0].leases("projections/")[0].live is False  # released on stop
    for s in stores:
        s.close()
