"""One delivery worker per database: the alert worker's lease, held in the store's lease table.

Several daemons may share one PostgreSQL database. Each starts a delivery worker, but only the
worker holding the lease `alerts/delivery` delivers; the others check at every pass and take over
when the holder has released it (a clean stop) or stopped renewing it (it died or hangs): within
`ttl` of the death (`store.lease_keeper`, "Timing": the lease row lapses 2/3 `ttl` after each
renewal, and a waiting worker tries again the moment it lapses). A holder that ran on this host
and whose process is gone (a daemon restarted after a crash) is replaced at once. Without
`heartbeat` the holder renews before every send. With `heartbeat` (the daemon's setting), a
thread of its own renews it every `ttl / 4` seconds, so a worker whose store calls queue behind
a busy daemon's polls keeps its lease, and a check before a send is only a look at when it was
last renewed: a send starts only while the lease has more than `ttl / 6` to run by this
process's clock, and the heartbeat goes on renewing it while the send lasts.

Taking and renewing are one compare-and-set in the database (`store.lease`), timed by the
database's clock, so two workers can never both hold the lease. The one window left: a holder
whose renewals stop mid-send (a frozen VM, the database unreachable from it alone) may finish
that send after another worker took over and sent the same alert; receivers can drop it by its
alert key, and the trail records it once (`AlertDelivered` is appended once per message, by
its idempotency key, whoever appends it).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import structlog

from store.errors import StoreError
from store.lease import holder_id
from store.lease_keeper import SingleLease
from store.ports import LeaseStore

NAME = "alerts/delivery"
"""The lease's name in the store's lease table."""

log = structlog.get_logger("alerts.lease")


def worker_id() -> str:
    """A name for this worker that no other process shares: host, pid and a random suffix."""
    return holder_id()


@dataclass(kw_only=True)
class Lease:
    """The delivery lease as seen by worker `me`. Construction does no I/O."""

    store: LeaseStore
    me: str = field(default_factory=worker_id)
    ttl: float = 30.0
    heartbeat: bool = False  # also renew from a thread of its own, every ttl / 4
    _lease: SingleLease | None = field(default=None, init=False, repr=False)
    _beat: threading.Thread | None = field(default=None, init=False, repr=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False, repr=False)

    def _single(self) -> SingleLease:
        if self._lease is None:
            self._lease = SingleLease(store=self.store, name=NAME, ttl=self.ttl, me=self.me)
        return self._lease

    def hold(self) -> bool:
        """Take or renew the lease; True when this worker holds it (see `SingleLease.hold`).

        With `heartbeat`, the first call starts the renewing thread; later calls only check
        that it renewed the lease recently (no database round trip).
        """
        if not self.heartbeat:
            return self._single().hold()
        if self._beat is None:
            held = self._single().hold()
            self._stop.clear()
            self._beat = threading.Thread(
                target=self._renew, name="parley-alerts-lease", daemon=True
            )
            self._beat.start()
            return held
        return self._single().held

    def _renew(self) -> None:
        while not self._stop.wait(self._single().next_try()):
            try:
                self._single().hold()
            except StoreError as exc:  # not renewed: it lapses unless the next try works
                log.warning("alerts_lease_not_renewed", worker=self.me, error=str(exc))

    def holder(self) -> str | None:
        """Who holds the lease now (None when nobody does), as the database sees it."""
        live = [x for x in self.store.leases(NAME) if x.name == NAME and x.live]
        return live[0].holder if live else None

    def release(self) -> None:
        """Give the lease up now (on a clean stop), so another worker need not wait for `ttl`."""
        if self._beat is not None:
            self._stop.set()
            self._beat.join()
            self._beat = None
        self._single().release()
