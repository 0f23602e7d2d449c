"""One delivery worker per database: a renewable lease kept in the store's meta table.

Several daemons may share one PostgreSQL database. Each starts a delivery worker, but only the
worker holding the lease delivers; the others wait, and take over when the holder stops renewing
it (it died, or stopped) for `ttl` seconds; a holder that ran on this host and whose process is
gone (a daemon restarted after a crash) is replaced at once. The holder renews it before every send, so `ttl` must
only be longer than one send can take (the channel's timeout plus its rate-limit wait).

The meta table has no compare-and-set, so taking the lease is "check, write, wait `settle`, read
back": when two workers take it at once, the later write wins and the other sees that on the read
back. Two workers can still both deliver for a pass if one stalls for longer than `settle`
between its check and its write; a compare-and-set in the store would close that.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import structlog

from store.records import JSONValue

NAMESPACE = "alerts"
KEY = "delivery_lease"
log = structlog.get_logger("alerts.lease")


class _Meta(Protocol):
    def put_meta(self, namespace: str, key: str, value: JSONValue) -> None: ...

    def get_meta(self, namespace: str) -> dict[str, JSONValue]: ...


def worker_id() -> str:
    """A name for this worker that no other process shares: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _dead_here(holder: str | None) -> bool:
    """True when `holder` ran on this host under a process id that no longer exists.

    A daemon restarted after a crash takes its predecessor's lease at once instead of waiting
    for the ttl; a holder on another host is only replaced when its lease lapses.
    """
    host, _, rest = (holder or "").partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists but belongs to someone else
        return False
    return False


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(kw_only=True)
class Lease:
    """The delivery lease as seen by worker `me`."""

    store: _Meta
    me: str = field(default_factory=worker_id)
    ttl: float = 30.0
    settle: float = 0.5  # after taking the lease, wait this long and read it back once more
    clock: Callable[[], datetime] = _utcnow
    pause: Callable[[float], None] = time.sleep
    _held: bool = field(default=False, init=False)

    def _current(self) -> tuple[str | None, float]:
        value = self.store.get_meta(NAMESPACE).get(KEY)
        if not isinstance(value, dict):
            return None, 0.0
        holder = value.get("worker")
        until = value.get("until")
        return (holder if isinstance(holder, str) else None), (
            float(until) if isinstance(until, int | float) else 0.0
        )

    def hold(self) -> bool:
        """Take or renew the lease; True when this worker holds it for the next `ttl` seconds."""
        now = self.clock().timestamp()
        holder, until = self._current()
        if holder not in (None, self.me) and until > now and not _dead_here(holder):
            if self._held:
                log.warning("alerts_lease_lost", worker=self.me, holder=holder)
            self._held = False
            return False
        self.store.put_meta(NAMESPACE, KEY, {"worker": self.me, "until": now + self.ttl})
        held = self._current()[0] == self.me
        if held and not self._held:
            # Taking it (not renewing): a worker that read "free" just before our write may
            # still write; give it time to, and see who won.
            self.pause(self.settle)
            held = self._current()[0] == self.me
            if held:
                log.info("alerts_lease_taken", worker=self.me, ttl=self.ttl)
        self._held = held
        return held

    def release(self) -> None:
        """Give the lease up now (on a clean stop), so another worker need not wait for `ttl`."""
        if self._current()[0] == self.me:
            self.store.put_meta(NAMESPACE, KEY, {"worker": None, "until": 0})
        self._held = False
