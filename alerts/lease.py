"""One delivery worker per database: the alert worker's lease, held in the store's lease table.

Several daemons may share one PostgreSQL database. Each starts a delivery worker, but only the
worker holding the lease `alerts/delivery` delivers; the others check at every pass and take over
when the holder has released it (a clean stop) or stopped renewing it for `ttl` seconds (it died
or hangs). A holder that ran on this host and whose process is gone (a daemon restarted after a
crash) is replaced at once. The holder renews before every send, so `ttl` must be longer than
one send can take (the channel's timeout plus its rate-limit wait): `AlertsService` sees to that.

Taking and renewing are one compare-and-set in the database (`store.lease`), timed by the
database's clock, so two workers can never both hold the lease. The one window left: a holder
that stalls mid-send for longer than `ttl` (a frozen VM) may finish that send after another
worker took over and sent the same alert; receivers can drop it by its alert key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from store.lease import holder_id
from store.lease_keeper import SingleLease
from store.ports import LeaseStore

NAME = "alerts/delivery"
"""The lease's name in the store's lease table."""


def worker_id() -> str:
    """A name for this worker that no other process shares: host, pid and a random suffix."""
    return holder_id()


@dataclass(kw_only=True)
class Lease:
    """The delivery lease as seen by worker `me`. Construction does no I/O."""

    store: LeaseStore
    me: str = field(default_factory=worker_id)
    ttl: float = 30.0
    _lease: SingleLease | None = field(default=None, init=False, repr=False)

    def _single(self) -> SingleLease:
        if self._lease is None:
            self._lease = SingleLease(store=self.store, name=NAME, ttl=self.ttl, me=self.me)
        return self._lease

    def hold(self) -> bool:
        """Take or renew the lease; True when this worker holds it for the next `ttl` seconds."""
        return self._single().hold()

    def holder(self) -> str | None:
        """Who holds the lease now (None when nobody does), as the database sees it."""
        live = [x for x in self.store.leases(NAME) if x.name == NAME and x.live]
        return live[0].holder if live else None

    def release(self) -> None:
        """Give the lease up now (on a clean stop), so another worker need not wait for `ttl`."""
        self._single().release()
