"""Several daemons on one database: only the worker holding the lease delivers; another takes over."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from alerts.channels.webhook import WebhookChannel
from alerts.delivery import DeliveryWorker
from alerts.lease import NAME, Lease
from alerts.outbox import message_for
from alerts.secrets import Secret
from store import open_store
from tests.alerts.samples import alert
from tests.alerts.servers import Receiver, http_receiver

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 60.0  # generous: conditions are waited on, never slept on


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def rx() -> Iterator[Receiver]:
    with http_receiver() as receiver:
        yield receiver


def _enqueue(store: Any, keys: list[str]) -> None:
    msgs = [message_for(alert(key=k, row_key=k), "hook") for k in keys]
    store.commit_projection(
        "v", position=0, state=None, changes=[], outbox=msgs, expected_position=0
    )


def _worker(store: Any, rx: Receiver, name: str, ttl: float = 30.0) -> DeliveryWorker:
    hook = WebhookChannel(name="hook", url=Secret(rx.url()), secret=Secret("lease-test-key"))
    lease = Lease(store=store, me=name, ttl=ttl)
    return DeliveryWorker(outbox=store, channels={"hook": hook}, lease=lease)


def test_only_the_lease_holder_delivers_and_another_takes_over_when_it_lapses(
    db_url: str, rx: Receiver
) -> None:
    """Worker B delivers nothing while A holds the lease; once A stops renewing for ttl, B takes over."""
    store: Any = open_store(db_url)
    a, b = _worker(store, rx, "a"), _worker(store, rx, "b")
    _enqueue(store, ["k1", "k2"])
    assert asyncio.run(a.run_once()).delivered == 2
    _enqueue(store, ["k3"])
    assert asyncio.run(b.run_once()).delivered == 0  # A holds the lease for 30 s
    assert a.lease is not None
    assert a.lease.holder() == "a"
    # A's last renewal is for half a second; then it falls silent. B takes over once the lease
    # lapses by the database's clock, not before.
    assert Lease(store=store, me="a", ttl=0.5).hold()
    wait_until(lambda: asyncio.run(b.run_once()).delivered == 1, "B to take over")
    assert asyncio.run(a.run_once()).delivered == 0  # and A now stands aside
    assert a.lease.holder() == "b"
    assert Counter(r.headers["x-parley-alert-key"] for r in rx.requests) == {
        "k1": 1,
        "k2": 1,
        "k3": 1,
    }
    store.close()


def test_released_lease_is_taken_at_once(sqlite_url: str, rx: Receiver) -> None:
    """A worker that stops cleanly releases the lease; the next worker need not wait for the ttl."""
    store: Any = open_store(sqlite_url)
    a, b = _worker(store, rx, "a"), _worker(store, rx, "b")
    asyncio.run(a.run_once())
    assert a.lease is not None
    a.lease.release()
    _enqueue(store, ["k1"])
    assert asyncio.run(b.run_once()).delivered == 1
    store.close()


@pytest.mark.slow
@pytest.mark.postgres
def test_two_worker_processes_on_one_postgres_send_each_alert_once(
    pg_url: str, rx: Receiver
) -> None:
    """Two real worker processes started together on one PostgreSQL database deliver 12 alerts, each once."""
    store: Any = open_store(pg_url)
    keys = [f"k{i}" for i in range(12)]
    _enqueue(store, keys)
    store.close()
    cmd = [sys.executable, "-m", "tests.alerts.crash_worker", "deliver-leased", pg_url, rx.url()]
    procs = [
        subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert Counter(r.headers["x-parley-alert-key"] for r in rx.requests) == dict.fromkeys(keys, 1)


@pytest.mark.slow
def test_lease_holder_killed_is_replaced_and_nothing_is_lost_or_doubled(
    sqlite_url: str, rx: Receiver
) -> None:
    """A worker process SIGKILLed while holding the lease is replaced by the next one; each alert arrives once."""
    store: Any = open_store(sqlite_url)
    keys = [f"k{i}" for i in range(4)]
    _enqueue(store, keys)
    store.close()
    base = [
        sys.executable,
        "-m",
        "tests.alerts.crash_worker",
        "deliver-leased",
        sqlite_url,
        rx.url(),
    ]
    killed = subprocess.run(
        [*base, "after_delivered", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL
    done = subprocess.run(base, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    store = open_store(sqlite_url)
    holder = Lease(store=store).holder()
    store.close()
    assert holder == done.stdout.split()[0] != killed.stdout.split()[0]  # taken over from the dead
    assert Counter(r.headers["x-parley-alert-key"] for r in rx.requests) == dict.fromkeys(keys, 1)


def test_lease_of_a_dead_process_on_this_host_is_taken_at_once(db_url: str, rx: Receiver) -> None:
    """A restarted daemon need not wait for the ttl: a holder on this host whose process is gone is replaced."""
    import socket

    store: Any = open_store(db_url)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    ghost = f"{socket.gethostname()}:{dead.stdout.strip()}:deadbeef"
    assert store.claim_leases([NAME], ghost, 3600)  # the crashed predecessor's lease, for an hour
    _enqueue(store, ["k1"])
    assert asyncio.run(_worker(store, rx, "restarted").run_once()).delivered == 1
    assert store.leases(NAME)[0].holder == "restarted"
    store.release_leases([NAME], "restarted")
    assert store.claim_leases([NAME], "other-host:1:x", 3600)  # alive, as far as we can know
    _enqueue(store, ["k2"])
    assert asyncio.run(_worker(store, rx, "restarted").run_once()).delivered == 0
    store.close()


def test_two_workers_racing_for_a_free_lease_never_both_hold_it(db_url: str) -> None:
    """Many rounds of two workers taking the lease at the same moment: exactly one wins each time."""
    import threading

    stores: list[Any] = [open_store(db_url), open_store(db_url)]
    try:
        for round_ in range(20):
            leases = [Lease(store=s, me=f"w{i}-{round_}", ttl=30) for i, s in enumerate(stores)]
            barrier = threading.Barrier(2)
            won: list[bool] = [False, False]

            def take(
                i: int,
                leases: list[Lease] = leases,
                won: list[bool] = won,
                barrier: threading.Barrier = barrier,
            ) -> None:
                barrier.wait()
                won[i] = leases[i].hold()

            threads = [threading.Thread(target=take, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert won.count(True) == 1, won
            winner = leases[won.index(True)]
            assert winner.holder() == winner.me
            winner.release()
    finally:
        for s in stores:
            s.close()


def test_a_heartbeat_keeps_the_lease_renewed_between_passes(db_url: str) -> None:
    """With `heartbeat`, the lease is renewed by a thread of its own (no pass needed), and released at stop."""
    store: Any = open_store(db_url)
    a = Lease(store=store, me="a", ttl=3.0, heartbeat=True)
    b = Lease(store=store, me="b", ttl=3.0)
    assert a.hold()
    (first,) = store.leases(NAME)
    # No further call from the worker: the heartbeat alone pushes the expiry on, tenure unchanged.
    wait_until(lambda: store.leases(NAME)[0].expires_at > first.expires_at, "a renewal")
    assert store.leases(NAME)[0].token == first.token
    assert not b.hold()
    assert a.hold()  # only a look at when it was last renewed
    a.release()
    assert b.hold()
    store.close()
