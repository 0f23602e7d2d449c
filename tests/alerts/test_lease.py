"""Several daemons on one database: only the worker holding the lease delivers; another takes over."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts.channels.webhook import WebhookChannel
from alerts.delivery import DeliveryWorker
from alerts.lease import Lease
from alerts.outbox import message_for
from alerts.secrets import Secret
from store import open_store
from tests.alerts.samples import alert
from tests.alerts.servers import Receiver, http_receiver

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def rx() -> Iterator[Receiver]:
    with http_receiver() as receiver:
        yield receiver


def _enqueue(store: Any, keys: list[str]) -> None:
    msgs = [message_for(alert(key=k, row_key=k), "hook") for k in keys]
    store.commit_projection(
        "v", position=0, state=None, changes=[], outbox=msgs, expected_position=0
    )


def _worker(store: Any, rx: Receiver, name: str, clock: Clock) -> DeliveryWorker:
    hook = WebhookChannel(name="hook", url=Secret(rx.url()), secret=Secret("lease-test-key"))
    lease = Lease(store=store, me=name, ttl=30, clock=clock, pause=lambda s: None)
    return DeliveryWorker(outbox=store, channels={"hook": hook}, lease=lease, clock=clock)


def test_only_the_lease_holder_delivers_and_another_takes_over_when_it_lapses(
    db_url: str, rx: Receiver
) -> None:
    """Worker B delivers nothing while A holds the lease; once A stops renewing for ttl, B takes over."""
    store: Any = open_store(db_url)
    clock = Clock()
    a, b = _worker(store, rx, "a", clock), _worker(store, rx, "b", clock)
    _enqueue(store, ["k1", "k2"])
    assert asyncio.run(a.run_once()).delivered == 2
    _enqueue(store, ["k3"])
    assert asyncio.run(b.run_once()).delivered == 0
    clock.now += timedelta(seconds=31)  # A has not renewed for longer than the ttl
    assert asyncio.run(b.run_once()).delivered == 1
    assert asyncio.run(a.run_once()).delivered == 0  # and A now stands aside
    assert Counter(r.headers["x-parley-alert-key"] for r in rx.requests) == {
        "k1": 1,
        "k2": 1,
        "k3": 1,
    }
    store.close()


def test_released_lease_is_taken_at_once(sqlite_url: str, rx: Receiver) -> None:
    """A worker that stops cleanly releases the lease; the next worker need not wait for the ttl."""
    store: Any = open_store(sqlite_url)
    clock = Clock()
    a, b = _worker(store, rx, "a", clock), _worker(store, rx, "b", clock)
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
    holder = store.get_meta("alerts")["delivery_lease"]["worker"]
    store.close()
    assert holder == done.stdout.split()[0] != killed.stdout.split()[0]  # taken over from the dead
    assert Counter(r.headers["x-parley-alert-key"] for r in rx.requests) == dict.fromkeys(keys, 1)


def test_lease_of_a_dead_process_on_this_host_is_taken_at_once(
    sqlite_url: str, rx: Receiver
) -> None:
    """A restarted daemon need not wait for the ttl: a holder on this host whose process is gone is replaced."""
    import socket

    store: Any = open_store(sqlite_url)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    ghost = f"{socket.gethostname()}:{dead.stdout.strip()}:deadbeef"
    clock = Clock()
    store.put_meta(
        "alerts", "delivery_lease", {"worker": ghost, "until": clock.now.timestamp() + 3600}
    )
    _enqueue(store, ["k1"])
    assert asyncio.run(_worker(store, rx, "restarted", clock).run_once()).delivered == 1
    store.put_meta(
        "alerts",
        "delivery_lease",
        {"worker": "other-host:1:x", "until": clock.now.timestamp() + 3600},
    )
    _enqueue(store, ["k2"])
    assert asyncio.run(_worker(store, rx, "restarted", clock).run_once()).delivered == 0
    store.close()
