"""Holding leases over time: one lease for a singleton (`SingleLease`), a fair share of many
(`ShareKeeper`). Both sit on the `LeaseStore` port and call it synchronously: callers in an event
loop run them on their store thread.

**Timing.** `ttl` is the takeover bound: when a holder dies, its work is taken over within `ttl`
of the death (plus the first piece of work itself). To that end a lease row is written to lapse
`LAPSE x ttl` (2/3) after each renewal, and holders renew every `RENEW x ttl` (1/4): so a dead
holder's leases lapse between 5/12 and 2/3 of `ttl` after its death. Those who wait for a lease
do not look at a fixed rhythm: each round or attempt notes when the others' leases lapse (by the
database's clock, from the rows it reads anyway) and the next one comes `EXPIRY_GRACE` after
that moment, so the lease is taken within a few hundredths of a second of lapsing, leaving the
last third of `ttl` for the first poll or batch. A holder works only while its lease has more
than `ttl / 6` left by its own monotonic clock (renewed less than `ttl / 2` ago).

`SingleLease` is for work one process at a time does (a projector, the alert worker): `hold()`
takes or renews it, `release()` gives it up at once on a clean stop. `follow_while_held` runs a
projection only while its lease is held.

`ShareKeeper` divides a group of named items (the sources to poll) between the live processes:
each `round()` (every `ttl / 4` seconds, sooner when another's leases are about to lapse)
renews, in one statement, the process's membership lease and every item lease it holds; reads
the live members in one query; then

- counts the live members `m` (unexpired membership leases, this process included) and takes its
  fair share, `ceil(items / m)` (`fair_share`); holding exactly that (the steady state), it
  reads nothing else;
- holding more than that, it releases the surplus (never an item in hand: `busy`), so a daemon
  that joins gets work at its next round;
- holding fewer, it claims free items (missing or expired leases), up to the share, in an order
  of its own (rendezvous hashing on its holder name), so daemons that start together mostly ask
  for different items (each first asks for the free items it ranks above every other live
  member, then for the rest); a compare-and-set lost to another member is retried a tenth of a
  second later.

Both take back at once, on their first attempt only, a lease whose holder ran on this host under
a process that no longer exists (a daemon restarted after a crash); otherwise a dead holder's
leases are taken over when they expire. `holds(item)` is true only while the lease was renewed
less than `LAPSE x ttl - margin` seconds ago by this process's monotonic clock, which runs no
faster than the database's: so a process that cannot renew (database down, process stalled)
stops working on an item before anyone else may take it.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from store.errors import ConcurrencyError, StoreError
from store.lease import LeaseInfo, dead_here, holder_id
from store.ports import LeaseStore
from store.runner import ProjectionRunner

log = structlog.get_logger("store.lease")

DEFAULT_TTL = 15.0
"""Seconds within which a dead holder's work is taken over (see the module's "Timing")."""
LAPSE = 2 / 3
"""A lease row lapses this fraction of `ttl` after its last renewal."""
RENEW = 1 / 4
"""Holders renew every this fraction of `ttl`."""
MARGIN = 1 / 6
"""A holder starts work only while its lease has more than this fraction of `ttl` left."""
EXPIRY_GRACE = 0.05
"""Seconds after another's lease lapses (by the database's clock) before trying to take it."""
RETRY_AFTER_COLLISION = 0.1
"""Seconds before a round that lost items to another member's claim tries for others."""


def fair_share(items: int, members: int) -> int:
    """The most items one of `members` live processes takes: `ceil(items / members)`."""
    return math.ceil(items / max(1, members))


def _rank(holder: str, item: str) -> str:
    """This holder's preference for `item` (rendezvous hashing): lower is preferred."""
    return hashlib.blake2b(f"{holder}\x00{item}".encode(), digest_size=8).hexdigest()


def _others_lapse(leases: Sequence[LeaseInfo], me: str, after: float) -> float:
    """The monotonic moment (`after` + seconds) just past the soonest lapse of a live lease
    held by someone other than `me`; infinity when there is none."""
    left = [x.remaining for x in leases if x.live and x.holder != me]
    return after + min(left) + EXPIRY_GRACE if left else math.inf


@dataclass(kw_only=True)
class SingleLease:
    """One named lease, held by at most one process at a time. Construction does no I/O."""

    store: LeaseStore
    name: str
    ttl: float = DEFAULT_TTL
    me: str = field(default_factory=holder_id)
    monotonic: Callable[[], float] = time.monotonic
    token: int | None = field(default=None, init=False)  # the tenure's fencing token while held
    _until: float = field(default=0.0, init=False)
    _next: float = field(default=0.0, init=False)
    _tried: bool = field(default=False, init=False)

    @property
    def renew_every(self) -> float:
        """Seconds between renewals while held: a quarter of the ttl."""
        return self.ttl * RENEW

    def next_try(self) -> float:
        """Seconds until `hold()` should be called again: `renew_every` after the last call while
        held; while another holds it, no later than `EXPIRY_GRACE` after its lease lapses."""
        return max(0.0, self._next - self.monotonic())

    def hold(self) -> bool:
        """Take or renew the lease; True when this process holds it for the next `LAPSE x ttl`
        seconds. Not held, it reads when the holder's lease lapses (`next_try`).

        Raises `StoreError` when the database cannot be asked (the lease is then not renewed).
        """
        replacing: list[str] = []
        if not self._tried:  # first attempt: a dead predecessor on this host holds nothing
            self._tried = True
            replacing = [
                lease.holder
                for lease in self.store.leases(self.name)
                if lease.name == self.name and lease.live and lease.holder != self.me
                if dead_here(lease.holder)
            ]
        started = self.monotonic()
        self._next = started + self.renew_every  # also the retry after a failed call
        got = self.store.claim_leases([self.name], self.me, self.ttl * LAPSE, replacing=replacing)
        held = bool(got)
        if held and self.token != got[0].token:
            log.info("lease_taken", lease=self.name, holder=self.me, token=got[0].token)
        elif not held and self.token is not None:
            log.warning("lease_lost", lease=self.name, holder=self.me)
        self.token = got[0].token if held else None
        self._until = started + self.ttl * LAPSE if held else 0.0
        if not held:  # be there when the holder's lease lapses (a free one was lost to a race)
            current = [x for x in self.store.leases(self.name) if x.name == self.name]
            lapse = _others_lapse(current, self.me, self.monotonic())
            self._next = min(
                self._next, started + RETRY_AFTER_COLLISION if lapse == math.inf else lapse
            )
        return held

    @property
    def held(self) -> bool:
        """True while the lease has more than `ttl / 6` left by this process's clock (renewed
        less than `ttl / 2` ago): far enough from lapsing that a piece of work begun now ends,
        normally, before anyone may take over."""
        return self.token is not None and self.monotonic() < self._until - self.ttl * MARGIN

    def release(self) -> None:
        """Give the lease up now (a clean stop), so another process need not wait for `ttl`."""
        self.token, self._until = None, 0.0
        self.store.release_leases([self.name], self.me)


@dataclass(frozen=True, kw_only=True, slots=True)
class RoundResult:
    """What a `ShareKeeper.round()` changed: items gained and lost, and the share it aimed at."""

    gained: frozenset[str] = frozenset()
    lost: frozenset[str] = frozenset()
    share: int = 0
    members: int = 1
    wait: float = 0.0  # seconds until the next round should start (`ShareKeeper.run` waits them)


@dataclass(kw_only=True)
class ShareKeeper:
    """This process's fair share of the items of one group. Construction does no I/O."""

    store: LeaseStore
    group: str  # e.g. "sources": items are leased as "sources/NAME", members as "sources.members/HOLDER"
    items: Sequence[str]
    ttl: float = DEFAULT_TTL
    margin: float | None = None  # stop working this long before the lease would lapse; ttl/6
    me: str = field(default_factory=holder_id)
    monotonic: Callable[[], float] = time.monotonic
    held: set[str] = field(default_factory=set, init=False)
    _until: float = field(default=0.0, init=False)
    _rounds: int = field(default=0, init=False)

    @property
    def renew_every(self) -> float:
        """Seconds between rounds while no other member's lease is about to lapse: ttl / 4."""
        return self.ttl * RENEW

    def _lease(self, item: str) -> str:
        return f"{self.group}/{item}"

    def _member(self) -> str:
        return f"{self.group}.members/{self.me}"

    def holds(self, item: str) -> bool:
        """True when this process holds `item` and its lease is safely far from lapsing."""
        margin = self.ttl * MARGIN if self.margin is None else self.margin
        return item in self.held and self.monotonic() < self._until - margin

    def round(self, busy: Collection[str] = ()) -> RoundResult:
        """Renew, then take or give up items towards the fair share. `busy` items are not given up.

        The result's `wait` says when the next round should start: `renew_every` after this one
        began, or sooner: `EXPIRY_GRACE` after another member's (or a departed holder's item)
        lease lapses, so a dead member's items are taken the moment they are free, and
        `RETRY_AFTER_COLLISION` after losing items to another member's claim.

        Raises `StoreError` when the database cannot be asked; what was held stays held (by the
        local clock) until its lease would lapse, and the next round tries again.
        """
        first = self._rounds == 0
        self._rounds += 1
        before = set(self.held)
        started = self.monotonic()
        next_at = started + self.renew_every
        lapse = self.ttl * LAPSE
        renewed = self.store.claim_leases(
            [self._member(), *(self._lease(i) for i in self.held)], self.me, lapse
        )
        if any(lease.name == self._member() for lease in renewed):
            self._until = started + lapse
        prefix = f"{self.group}/"
        self.held = {
            lease.name[len(prefix) :] for lease in renewed if lease.name.startswith(prefix)
        }
        # Holding the share already (the steady state), only the members are read: a few rows.
        peers = self.store.leases(f"{self.group}.members/")
        dead = self._dead(peers) if first else set()
        live = [x for x in peers if x.live and x.holder not in dead]
        members = {x.holder for x in live} | {self.me}
        # A member that stops renewing leaves when its membership lapses: be there.
        next_at = min(next_at, _others_lapse(live, self.me, self.monotonic()))
        share = fair_share(len(self.items), len(members))
        if len(self.held) > share:
            self._shed(len(self.held) - share, busy)
        elif len(self.held) < share:
            leases = self.store.leases(prefix)
            read_at = self.monotonic()
            if first:
                dead |= self._dead(leases)
            taken = {
                lease.name[len(prefix) :]
                for lease in leases
                if lease.live and lease.holder not in dead
            }
            # Items still held by a holder that is no longer a member (its last items lapse a
            # little after its membership): be there when they lapse too.
            departed = [x for x in leases if x.holder not in members and x.holder not in dead]
            next_at = min(next_at, _others_lapse(departed, self.me, read_at))
            free = [i for i in self.items if i not in self.held and i not in taken]
            # First the free items no other live member ranks above this one (so members that
            # ask at the same moment mostly ask for different items), then the rest.
            others = sorted(members - {self.me})
            free.sort(
                key=lambda item: (self._preferred_by_other(item, others), _rank(self.me, item))
            )
            wanted = free[: share - len(self.held)]
            if wanted:
                # Their leases run from later than the renewal's: `_until` stays.
                got = self.store.claim_leases(
                    [self._lease(i) for i in wanted], self.me, lapse, replacing=dead
                )
                self.held |= {lease.name[len(prefix) :] for lease in got}
                if len(got) < len(wanted):  # another member was quicker: ask for others soon
                    next_at = min(next_at, self.monotonic() + RETRY_AFTER_COLLISION)
        result = RoundResult(
            gained=frozenset(self.held - before),
            lost=frozenset(before - self.held),
            share=share,
            members=len(members),
            wait=max(0.0, next_at - self.monotonic()),
        )
        if result.gained or result.lost:
            log.info(
                "leases_changed",
                group=self.group,
                holder=self.me,
                held=len(self.held),
                share=share,
                members=len(members),
                gained=len(result.gained),
                lost=len(result.lost),
            )
        return result

    def _preferred_by_other(self, item: str, others: Sequence[str]) -> bool:
        mine = _rank(self.me, item)
        return any(_rank(other, item) < mine for other in others)

    def _dead(self, leases: Sequence[LeaseInfo]) -> set[str]:
        holders = {lease.holder for lease in leases if lease.live and lease.holder != self.me}
        return {holder for holder in holders if dead_here(holder)}

    def _shed(self, count: int, busy: Collection[str]) -> None:
        idle = sorted(
            (i for i in self.held if i not in busy),
            key=lambda item: _rank(self.me, item),
            reverse=True,  # give up the items this process least prefers
        )[:count]
        if idle:
            self.held -= set(idle)
            self.store.release_leases([self._lease(i) for i in idle], self.me)

    def run(
        self,
        stop: threading.Event,
        on_change: Callable[[RoundResult], None],
        busy: Callable[[], Collection[str]] = frozenset,
    ) -> None:
        """Do rounds until `stop` is set (each when the last one's `wait` says: `renew_every`
        apart, sooner when another's leases are about to lapse), then release everything.

        Meant for a thread of its own, so renewals never queue behind other work (polls,
        appends). Calls `on_change(result)` (from this thread) after a round that gained or
        lost items. Never raises for the database: a failed round is logged and retried.
        """
        try:
            while not stop.is_set():
                wait = self.renew_every
                try:
                    result = self.round(busy())
                except StoreError as exc:  # held leases stay valid until they lapse
                    log.warning("leases_not_renewed", group=self.group, reason=str(exc))
                else:
                    wait = result.wait
                    if result.gained or result.lost:
                        on_change(result)
                stop.wait(wait)
        finally:
            try:  # at once, so the other processes need not wait for the leases to lapse
                self.release_all()
            except StoreError as exc:
                log.warning("leases_not_released", group=self.group, reason=str(exc))

    def release_all(self) -> None:
        """Give up every item and the membership now (a clean stop)."""
        items, self.held, self._until = sorted(self.held), set(), 0.0
        if items:
            self.store.release_leases([self._lease(i) for i in items], self.me)
        self.store.release_leases([self._member()], self.me, forget=True)


def follow_while_held(
    runner: ProjectionRunner[Any],
    lease: SingleLease,
    stop: threading.Event,
    *,
    wait_slice: float = 0.5,
) -> int:
    """Run a projection only while this process holds `lease`; return how many events it applied.

    A thread of its own renews the lease every `ttl / 4` seconds, so a long batch never keeps it
    from being renewed; while another holds it, that thread tries again the moment the holder's
    lease lapses (`SingleLease.next_try`). Until `stop` is set, while the lease is `held`,
    applies the log one batch at a time; while not, waits (up to `wait_slice` seconds at a time)
    for the heartbeat to take it.
    Another holder's runner moving the checkpoint (`ConcurrencyError`: a takeover) is not an
    error: the next batch starts from the new checkpoint. Releases the lease when it returns.
    Raises what the runner raises.
    """
    done = threading.Event()
    taken = threading.Event()  # set by the heartbeat when it holds the lease

    def heartbeat() -> None:
        while not done.is_set():
            try:
                if lease.hold():
                    taken.set()
            except StoreError as exc:  # not renewed: it lapses unless the next try works
                log.warning("lease_not_renewed", lease=lease.name, error=str(exc))
            done.wait(lease.next_try())

    beat = threading.Thread(target=heartbeat, name=f"parley-lease-{lease.name}", daemon=True)
    beat.start()
    total = 0
    try:
        while not stop.is_set():
            if not lease.held:
                taken.clear()
                if not lease.held:  # (the heartbeat may have taken it just now)
                    taken.wait(wait_slice)
                continue
            try:
                total += runner.catch_up(to_position=runner.position + runner.batch_size)
            except ConcurrencyError:
                log.info("projection_moved_elsewhere", projection=runner.projection.name)
                continue
            if not stop.is_set():
                runner.store.wait(runner.position, wait_slice)
    finally:
        done.set()
        beat.join()
        if lease.token is not None:
            try:
                lease.release()
            except StoreError as exc:  # the lease then lapses after its ttl
                log.warning("lease_not_released", lease=lease.name, error=str(exc))
    return total
