"""The delivery worker: takes due alerts from the outbox, sends them, and writes the trail.

For each batch that `alerts.policy.ready_batches` says is due, per outbox message:

1. append `AlertRaised` (idempotent), unless the trail already shows it;
2. if the trail already has `AlertDelivered` (a crash after sending, before marking), mark the
   message delivered and send nothing;
3. wait for the channel's token bucket, send;
4. on success append `AlertDelivered` with the channel's answer, then mark the messages delivered;
   on a `DeliveryError`, either mark it pending again with the backoff delay, or give up: mark it
   failed, append `AlertFailed`, and log `alert_failed` (channel, key, error; never a secret).

The one window for a duplicate: a crash after the channel accepted the alert and before
`AlertDelivered` is appended. The restarted worker sends it again (webhooks carry
`X-Parley-Alert-Key` and emails a stable Message-ID so receivers can drop it).

Construction does no I/O; `run_once()` does one pass, `run(stop)` loops until `stop` is set.
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
from alerts.model import Delivery
from alerts.outbox import TOPIC, pending_from_entry
from alerts.policy import (
    Batch,
    GiveUp,
    Pending,
    RetryPolicy,
    TokenBucket,
    decide,
    ready_batches,
)
from alerts.ports import Channel, Outbox
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
    batch_size: int = 100
    clock: Callable[[], datetime] = _utcnow
    monotonic: Callable[[], float] = time.monotonic
    rand: Callable[[], float] = random.random
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    executor: Executor | None = None  # where store calls run; None: inline in the event loop
    _buckets: dict[str, TokenBucket] = field(default_factory=dict, init=False)

    async def run(self, stop: asyncio.Event, *, poll_interval: float = 1.0) -> None:
        """Deliver until `stop` is set, polling the outbox every `poll_interval` seconds."""
        while not stop.is_set():
            await self.run_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll_interval)

    async def run_once(self) -> PassResult:
        """One pass over the due outbox messages; returns what it did."""
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
        for batch in ready_batches(pending, now=now, group_wait=self.group_wait):
            result = _merge(result, await self._deliver(batch))
        return result

    async def _io(self, step: Callable[[], T]) -> T:
        """Run a store step: in `executor` when one is given (the daemon's store thread), else inline."""
        if self.executor is None:
            return step()
        return await asyncio.get_running_loop().run_in_executor(self.executor, step)

    async def _deliver(self, batch: Batch) -> PassResult:
        lead = batch.lead
        attempts = lead.attempts + 1
        channel = self.channels.get(batch.channel)
        skipped = await self._io(partial(self._prepare, batch, known=channel is not None))
        if skipped is not None:
            return skipped
        if channel is None:
            error = DeliveryError(
                f"no channel named {batch.channel!r} is configured",
                channel=batch.channel,
                permanent=True,
            )
            return await self._io(partial(self._failed, batch, attempts, error))
        wait = self._bucket(batch.channel).reserve(self.monotonic())
        if wait > 0:
            await self.sleep(wait)
        try:
            receipt = await channel.send(batch.alert)
        except DeliveryError as error:
            return await self._io(partial(self._failed, batch, attempts, error))
        await self._io(partial(self._delivered, batch, attempts, receipt))
        return PassResult(delivered=len(batch.members))

    def _prepare(self, batch: Batch, *, known: bool) -> PassResult | None:
        """Raise each member, skip a batch the trail shows delivered, fold members into the lead."""
        lead = batch.lead
        for member in batch.members:
            self._raise(member, grouped_into="" if member is lead else lead.message_key)
        if self._already_delivered(lead.message_key):
            for member in batch.members:
                self.outbox.mark_outbox(
                    member.message_key, status="delivered", attempts=member.attempts
                )
            log.info("alert_already_delivered", channel=batch.channel, key=lead.message_key)
            return PassResult(skipped=len(batch.members))
        if known:
            for member in batch.members:
                if member is not lead:  # from here on the lead carries them: its trail lists them
                    self.outbox.mark_outbox(
                        member.message_key,
                        status="delivered",
                        attempts=member.attempts,
                        error=f"grouped into {lead.message_key}",
                    )
        return None

    def _bucket(self, name: str) -> TokenBucket:
        if name not in self._buckets:
            self._buckets[name] = TokenBucket(rate=self.rates.get(name, 0.0))
        return self._buckets[name]

    def _raise(self, p: Pending, *, grouped_into: str) -> None:
        if p.attempts > 0:
            return  # raised on the first attempt
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
        self.outbox.mark_outbox(lead.message_key, status="delivered", attempts=attempts)
        log.info(
            "alert_delivered",
            channel=batch.channel,
            key=lead.message_key,
            status=receipt.status,
            attempts=attempts,
            grouped=len(batch.members),
        )

    def _failed(self, batch: Batch, attempts: int, error: DeliveryError) -> PassResult:
        decision = decide(attempts, error, self.policy, self.rand)
        if not isinstance(decision, GiveUp):
            self.outbox.mark_outbox(
                batch.lead.message_key,
                status="pending",
                attempts=attempts,
                next_attempt_at=self.clock() + timedelta(seconds=decision.delay),
                error=str(error),
            )
            log.warning(
                "alert_retry",
                channel=batch.channel,
                key=batch.lead.message_key,
                attempts=attempts,
                delay=round(decision.delay, 3),
                error=str(error),
            )
            return PassResult(retried=len(batch.members))
        covers = [m.message_key for m in batch.members if m is not batch.lead]
        self._record_failure(
            batch.lead,
            attempts=attempts,
            error=str(error),
            permanent=error.permanent,
            reason=decision.reason,
            covers=covers,
        )
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
            attempts=attempts,
            reason=reason,
            error=error,
        )

    def _give_up_unreadable(self, key: str, attempts: int, error: str) -> None:
        self.outbox.mark_outbox(key, status="failed", attempts=attempts, error=error)
        log.error("alert_failed", channel="?", key=key, reason="unreadable", error=error)


def _add(r: PassResult, **more: int) -> PassResult:
    return PassResult(
        delivered=r.delivered + more.get("delivered", 0),
        retried=r.retried + more.get("retried", 0),
        failed=r.failed + more.get("failed", 0),
        skipped=r.skipped + more.get("skipped", 0),
    )


def _merge(a: PassResult, b: PassResult) -> PassResult:
    return _add(a, delivered=b.delivered, retried=b.retried, failed=b.failed, skipped=b.skipped)
