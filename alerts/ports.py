"""The alerts package's ports: the narrow interfaces channels and the delivery worker code against.

Adding a channel is one module in `alerts/channels/` implementing `Channel`, and one line in
`alerts/channels/__init__.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from alerts.model import Alert, Delivery
from store import ports as store_ports
from store.records import NewEvent, OutboxEntry, RecordedEvent


class Channel(Protocol):
    """Somewhere an alert can be sent: Slack, email, a webhook, the console, a mailbox file."""

    name: str  # the configured name, e.g. "desk-slack"; appears in logs and the trail

    async def send(self, alert: Alert) -> Delivery:
        """Deliver `alert` once and return the channel's receipt.

        Raises `alerts.errors.DeliveryError` with `retry_after` (seconds, when the channel said)
        and `permanent` (retrying cannot help). Never puts a secret in the error's message.
        """
        ...


class Outbox(Protocol):
    """What the delivery worker needs from the store (`store.ports.EventStore` provides all of it)."""

    def pending_outbox(self, limit: int = 100, *, now: datetime | None = None) -> list[OutboxEntry]:
        """Pending messages, oldest first, due at `now`."""
        ...

    def mark_outbox(
        self,
        key: str,
        *,
        status: str,
        attempts: int,
        next_attempt_at: datetime | None = None,
        error: str | None = None,
    ) -> None:
        """Record an attempt: "pending" (retry at `next_attempt_at`), "delivered" or "failed"."""
        ...

    def append(self, events: Sequence[NewEvent]) -> list[int]:
        """Append trail events (idempotent by key)."""
        ...

    def read_stream(self, stream_id: str) -> list[RecordedEvent]:
        """One message's trail so far."""
        ...


class LeaseStore(Outbox, store_ports.LeaseStore, Protocol):
    """An outbox that also keeps leases (both store backends do), for the delivery lease."""


class AlertMetrics(Protocol):
    """What the delivery worker reports for metrics (the daemon passes a Prometheus-backed one)."""

    def alert_raised(self, channel: str) -> None:
        """An `AlertRaised` was appended for one outbox message on `channel`."""

    def alert_delivered(self, channel: str, latencies: Sequence[float]) -> None:
        """Messages on `channel` were delivered, each `latency` seconds after it was raised."""

    def alert_retried(self, channel: str, count: int) -> None:
        """`count` messages on `channel` failed an attempt and will be retried."""

    def alert_failed(self, channel: str, count: int) -> None:
        """`count` messages on `channel` were given up on (`AlertFailed`)."""


class _NoAlertMetrics:
    """Counts nothing: the default, so the worker needs no metrics to run."""

    def alert_raised(self, channel: str) -> None:
        return None

    def alert_delivered(self, channel: str, latencies: Sequence[float]) -> None:
        return None

    def alert_retried(self, channel: str, count: int) -> None:
        return None

    def alert_failed(self, channel: str, count: int) -> None:
        return None


NO_ALERT_METRICS: AlertMetrics = _NoAlertMetrics()
