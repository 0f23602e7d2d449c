"""A delivery worker (or views runner) process that SIGKILLs itself at a chosen step, for the crash tests.

    python -m tests.alerts.crash_worker deliver DB_URL HOOK_URL [CRASH_STEP [AFTER_N]]
    python -m tests.alerts.crash_worker deliver-leased DB_URL HOOK_URL [CRASH_STEP [AFTER_N]]
    python -m tests.alerts.crash_worker project DB_URL [KILL_AFTER_COMMITS]

Steps (deliver): `after_raised` (AlertRaised appended, nothing sent), `after_send` (the receiver
accepted, AlertDelivered not yet appended), `after_delivered` (AlertDelivered appended, outbox
not yet marked). The N-th time the step is reached, the process kills itself with SIGKILL: no
cleanup, no flush, exactly like `kill -9`. Without a step it delivers until nothing is pending.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Any

from alerts.channels.webhook import WebhookChannel
from alerts.delivery import DeliveryWorker
from alerts.lease import Lease
from alerts.model import Alert, Delivery
from alerts.secrets import Secret
from store import open_store

SIGNING = "crash-test-signing-key"


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class _Counter:
    def __init__(self, step: str, after: int) -> None:
        self.step, self.after, self.seen = step, after, 0

    def reached(self, step: str) -> None:
        if step == self.step:
            self.seen += 1
            if self.seen >= self.after:
                _die()


class _Store:
    """The real store, with a tripwire after appending trail events."""

    def __init__(self, store: Any, counter: _Counter) -> None:
        self._store, self._counter = store, counter

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def append(self, events: Any) -> Any:
        out = self._store.append(events)
        for e in events:
            if e.event_type == "AlertRaised":
                self._counter.reached("after_raised")
            if e.event_type == "AlertDelivered":
                self._counter.reached("after_delivered")
        return out


class _Channel:
    def __init__(self, inner: WebhookChannel, counter: _Counter) -> None:
        self.name, self._inner, self._counter = inner.name, inner, counter

    async def send(self, alert: Alert) -> Delivery:
        receipt = await self._inner.send(alert)
        self._counter.reached("after_send")
        return receipt


async def deliver(
    db_url: str, hook_url: str, step: str, after: int, *, leased: bool = False
) -> None:
    counter = _Counter(step, after)
    store = open_store(db_url)
    channel = _Channel(
        WebhookChannel(name="hook", url=Secret(hook_url), secret=Secret(SIGNING)), counter
    )
    # A short lease, so a replacement for a killed holder need not wait long.
    lease = Lease(store=store, ttl=3.0) if leased else None
    if lease is not None:
        print(lease.me, flush=True)  # the test checks who ended up holding the lease
    worker = DeliveryWorker(
        outbox=_Store(store, counter), channels={"hook": channel}, lease=lease, batch_size=5
    )
    while store.pending_outbox(1000):
        await worker.run_once()
        await asyncio.sleep(0.1)
    store.close()


def project(db_url: str, kill_after: int) -> None:
    from alerts.hook import outbox_hook
    from alerts.rules import DEFAULT_RULES
    from monitor.views import NegotiationProjection
    from store.runner import ProjectionRunner
    from tests.views._seed import gold_extractor

    store = open_store(db_url)
    commits = 0
    real = store.commit_projection

    def commit(*args: Any, **kwargs: Any) -> None:
        nonlocal commits
        real(*args, **kwargs)
        commits += 1
        if kill_after and commits >= kill_after:
            _die()

    store.commit_projection = commit  # type: ignore[method-assign]
    projection = NegotiationProjection(gold_extractor)
    hook = outbox_hook(store, projection.name, DEFAULT_RULES, channels=("hook",))
    ProjectionRunner(store, projection, batch_size=1, outbox_for=hook).catch_up()
    store.close()


if __name__ == "__main__":
    mode, db, *rest = sys.argv[1:]
    if mode.startswith("deliver"):
        step = rest[1] if len(rest) > 1 else ""
        count = int(rest[2]) if len(rest) > 2 else 1
        asyncio.run(deliver(db, rest[0], step, count, leased=mode == "deliver-leased"))
    else:
        project(db, int(rest[0]) if rest else 0)
