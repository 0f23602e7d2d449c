"""The delivery worker: takes due alerts from the outbox, sends them, and writes the trail.

For each batch that `alerts.policy.ready_batches` says is due (one message, the messages about
one row grouped within `group_wait`, or a digest channel's messages of one interval):

1. members whose trail already shows `AlertDelivered`, or who are covered by one (a crash after
   sending, before marking), are marked delivered and not sent again;
2. the others get `AlertRaised` (idempotent), naming the message that carries them (the lead);
3. wait for the channel's token bucket, send the batch's alert;
4. on success append `AlertDelivered` for the lead (with the channel's answer, the alert as sent
   and the members it covers), then mark every member delivered; on a `DeliveryError`, either
   reschedule every member together with the backoff delay (so the retry sends the same alert),
   or give up: mark them failed, append `AlertFailed` for the lead, and log `alert_failed`
   (channel, key, error; never a secret).

The one window for a duplicate: a crash after the channel accepted the alert and before
`AlertDelivered` is appended. The restarted worker sends it again (webhooks carry
`X-Parley-Alert-Key` and emails a stable Message-ID so receivers can drop it).

With a `lease`, a pass delivers only while this worker holds it (`alerts.lease`): several
daemons on one database then deliver through one worker at a time. Construction does no I/O; `run_once()` does one pass, `run(stop)` loops until `stop` is set.
Store calls are synchronous; given an `executor` (the daemon's store thread) they run there,
so the event loop never blocks on the database. Sending is async.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TypeVar

import structlog

from alerts import events
from alerts.errors import AlertError, DeliveryError
from alerts.lease import Lease
from alerts.model import Delivery
from alerts.outbox import TOPIC, pending_from_entry
from alerts.policy import (
    Batch,
    GiveUp,
    Pending,
    RetryPolicy,
    TokenBucket,
    decide,
    make_batch,
    ready_batches,
)
from alerts.ports import NO_ALERT_METRICS, AlertMetrics, Channel, Outbox
from store.mapper import from_recorded

log = structlog.get_logger("alerts.delivery")
T = TypeVar("T")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True, slots=True)
class PassResult:
    """What one pass did: messages delivered, retried later, given up, skipped (already delivered)."""

    delivered: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0


@dataclass(kw_only=True)
class DeliveryWorker:
    """Delivers outbox alerts through `channels` (by configured name)."""

    outbox: Outbox
    channels: Mapping[str, Channel]
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    group_wait: float = 0.0
    rates: Mapping[str, float] = field(default_factory=dict)  # channel -> messages a second
    digests: Mapping[str, float] = field(default_factory=dict)  # channel -> digest interval, s
    batch_size: int = 100
    clock: Callable[[], datetime] = _utcnow
    monotonic: Callable[[], float] = time.monotonic
    rand: Callable[[], float] = random.random
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    executor: Executor | None = None  # where store calls run; None: inline in the event loop
    lease: Lease | None = None  # when several daemons share a database: deliver only while held
    metrics: AlertMetrics = NO_ALERT_METRICS  # raised/delivered/failed counts, delivery latency
    _buckets: dict[str, TokenBucket] = field(default_factory=dict, init=False)

    async def run(self, stop: asyncio.Event, *, poll_interval: float = 1.0) -> None:
        """Deliver until `stop` is set, polling the outbox every `poll_interval` seconds."""
        while not stop.is_set():
            await self.run_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll_interval)

    async def run_once(self) -> PassResult:
        """One pass over the due outbox messages; returns what it did."""
        if self.lease is not None and not await self._io(self.lease.hold):
            return PassResult()
        now = self.clock()
        pending: list[Pending] = []
        result = PassResult()
        entries = await self._io(partial(self.outbox.pending_outbox, self.batch_size, now=now))
        for entry in entries:
            if entry.topic != TOPIC:
                continue
            try:
                p = pending_from_entry(entry.key, entry.payload, entry.created_at, entry.attempts)
            except AlertError as exc:
                await self._io(
                    partial(self._give_up_unreadable, entry.key, entry.attempts, str(exc))
                )
                result = _add(result, failed=1)
                continue
            pending.append(p)
        for batch in ready_batches(
            pending, now=now, group_wait=self.group_wait, digests=self.digests
        ):
            # Renew before each send: a long pass (rate limits, slow channels) must not outlive it.
            if self.lease is not None and not await self._io(self.lease.hold):
                break
            result = _merge(result, await self._deliver(batch))
        return result

    async def _io(self, step: Callable[[], T]) -> T:
        """Run a store step: in `executor` when one is given (the daemon's store thread), else inline."""
        if self.executor is None:
            return step()
        return await asyncio.get_running_loop().run_in_executor(self.executor, step)

    async def _deliver(self, batch: Batch) -> PassResult:
        channel = self.channels.get(batch.channel)
        result, todo = await self._io(partial(self._prepare, batch))
        if todo is None:
            return result
        attempts = todo.attempts + 1
        if channel is None:
            error = DeliveryError(
                f"no channel named {todo.channel!r} is configured",
                channel=todo.channel,
                permanent=True,
            )
            return _merge(result, await self._io(partial(self._failed, todo, attempts, error)))
        wait = self._bucket(todo.channel).reserve(self.monotonic())
        if wait > 0:
            await self.sleep(wait)
        try:
            receipt = await channel.send(todo.alert)
        except DeliveryError as error:
            return _merge(result, await self._io(partial(self._failed, todo, attempts, error)))
        await self._io(partial(self._delivered, todo, attempts, receipt))
        return _add(result, delivered=len(todo.members))

    def _prepare(self, batch: Batch) -> tuple[PassResult, Batch | None]:
        """Mark members the trail shows delivered (a crash after sending); raise the rest.

        Returns what was skipped and the batch still to send (None when nothing is left).
        """
        done: set[str] = set()
        for member in batch.members:
            for e in self._trail(member.message_key):
                if isinstance(e, events.AlertDelivered):
                    done |= {member.message_key, *e.covers}
        left = [m for m in batch.members if m.message_key not in done]
        for member in batch.members:
            if member.message_key in done:
                self.outbox.mark_outbox(
                    member.message_key, status="delivered", attempts=member.attempts
                )
                log.info("alert_already_delivered", channel=batch.channel, key=member.message_key)
        skipped = PassResult(skipped=len(batch.members) - len(left))
        if not left:
            return skipped, None
        todo = (
            batch
            if len(left) == len(batch.members)
            else make_batch(batch.channel, left, is_digest=batch.alert.change == "digest")
        )
        for member in todo.members:
            grouped = "" if member is todo.lead else todo.lead.message_key
            self._raise(member, grouped_into=grouped)
        return skipped, todo

    def _bucket(self, name: str) -> TokenBucket:
        if name not in self._buckets:
            self._buckets[name] = TokenBucket(rate=self.rates.get(name, 0.0))
        return self._buckets[name]

    def _raise(self, p: Pending, *, grouped_into: str) -> None:
        if p.attempts > 0:
            return  # raised before its first attempt
        self.outbox.append(
            [
                events.raised(
                    events.AlertRaised(
                        message_key=p.message_key,
                        alert_key=p.alert.key,
                        channel=p.channel,
                        alert=p.alert.to_payload(),
                        raised_at=self.clock().isoformat(),
                        grouped_into=grouped_into,
                    )
                )
            ]
        )
        self.metrics.alert_raised(p.channel)

    def _trail(self, message_key: str) -> list[object]:
        return [from_recorded(r) for r in self.outbox.read_stream(events.alert_stream(message_key))]

    def _already_delivered(self, message_key: str) -> bool:
        return any(isinstance(e, events.AlertDelivered) for e in self._trail(message_key))

    def _delivered(self, batch: Batch, attempts: int, receipt: Delivery) -> None:
        lead = batch.lead
        self.outbox.append(
            [
                events.delivered(
                    events.AlertDelivered(
                        message_key=lead.message_key,
                        alert_key=lead.alert.key,
                        channel=batch.channel,
                        status=receipt.status,
                        answer=receipt.answer,
                        attempts=attempts,
                        delivered_at=receipt.at.isoformat(),
                        covers=[m.message_key for m in batch.members if m is not lead],
                        alert=batch.alert.to_payload(),
                    )
                )
            ]
        )
        for member in batch.members:
            self.outbox.mark_outbox(
                member.message_key,
                status="delivered",
                attempts=attempts,
                error=None if member is lead else f"grouped into {lead.message_key}",
            )
        self.metrics.alert_delivered(
            batch.channel,
            [_seconds_between(m.created_at, receipt.at) for m in batch.members],
        )
        log.info(
            "alert_delivered",
            channel=batch.channel,
            key=lead.message_key,
            row=batch.alert.thread,
            post_url=batch.alert.post_url,
            status=receipt.status,
            attempts=attempts,
            grouped=len(batch.members),
        )

    def _failed(self, batch: Batch, attempts: int, error: DeliveryError) -> PassResult:
        decision = decide(attempts, error, self.policy, self.rand)
        if not isinstance(decision, GiveUp):
            retry_at = self.clock() + timedelta(seconds=decision.delay)
            for member in batch.members:  # together, so the retry sends what this attempt did
                self.outbox.mark_outbox(
                    member.message_key,
                    status="pending",
                    attempts=attempts,
                    next_attempt_at=retry_at,
                    error=str(error),
                )
            log.warning(
                "alert_retry",
                channel=batch.channel,
                key=batch.lead.message_key,
                row=batch.alert.thread,
                attempts=attempts,
                delay=round(decision.delay, 3),
                error=str(error),
            )
            self.metrics.alert_retried(batch.channel, len(batch.members))
            return PassResult(retried=len(batch.members))
        covers = [m.message_key for m in batch.members if m is not batch.lead]
        for member in batch.members:
            if member is not batch.lead:
                self.outbox.mark_outbox(
                    member.message_key,
                    status="failed",
                    attempts=attempts,
                    error=f"grouped into {batch.lead.message_key}: {error}",
                )
        self._record_failure(
            batch.lead,
            attempts=attempts,
            error=str(error),
            permanent=error.permanent,
            reason=decision.reason,
            covers=covers,
        )
        self.metrics.alert_failed(batch.channel, len(batch.members))
        return PassResult(failed=len(batch.members))

    def _record_failure(
        self,
        p: Pending,
        *,
        attempts: int,
        error: str,
        permanent: bool,
        reason: str,
        covers: list[str] | None = None,
    ) -> None:
        rounds = sum(isinstance(e, events.AlertFailed) for e in self._trail(p.message_key))
        self.outbox.append(
            [
                events.failed(
                    events.AlertFailed(
                        message_key=p.message_key,
                        alert_key=p.alert.key,
                        channel=p.channel,
                        error=error,
                        attempts=attempts,
                        permanent=permanent,
                        failed_at=self.clock().isoformat(),
                        round=rounds + 1,
                        covers=covers or [],
                    )
                )
            ]
        )
        self.outbox.mark_outbox(p.message_key, status="failed", attempts=attempts, error=error)
        log.error(
            "alert_failed",
            channel=p.channel,
            key=p.message_key,
            row=p.alert.thread,
            post_url=p.alert.post_url,
            attempts=attempts,
            reason=reason,
            error=error,
        )

    def _give_up_unreadable(self, key: str, attempts: int, error: str) -> None:
        self.outbox.mark_outbox(key, status="failed", attempts=attempts, error=error)
        log.error("alert_failed", channel="?", key=key, reason="unreadable", error=error)
        self.metrics.alert_failed("?", 1)


def _seconds_between(start: datetime, end: datetime) -> float:
    """Seconds from `start` to `end` (a naive time is taken as UTC), never negative."""
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    return max(0.0, (end - start).total_seconds())


def _add(r: PassResult, **more: int) -> PassResult:
    return PassResult(
        delivered=r.delivered + more.get("delivered", 0),
        retried=r.retried + more.get("retried", 0),
        failed=r.failed + more.get("failed", 0),
        skipped=r.skipped + more.get("skipped", 0),
    )


def _merge(a: PassResult, b: PassResult) -> PassResult:
    return _add(a, delivered=b.delivered, retried=b.retried, failed=b.failed, skipped=b.skipped)
