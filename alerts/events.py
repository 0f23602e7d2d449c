"""The delivery trail in the event log: `AlertRaised`, `AlertDelivered`, `AlertFailed`.

One stream per outbox message, `alert:<message key>` (the message key is `<alert key>@<channel>`).
Idempotency keys are per (message key, outcome), so a worker that crashes and repeats a step never
writes the same fact twice; `AlertFailed` also carries its round (1 for the first failure, 2 after
`parley alerts retry` re-queued it and it failed again), so each give-up is recorded once.
Replaying these events changes no view and sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from store.mapper import domain_event, to_new_event
from store.records import NewEvent


def alert_stream(message_key: str) -> str:
    """The stream holding the trail of one outbox message."""
    return f"alert:{message_key}"


@domain_event("AlertRaised", version=1)
@dataclass(frozen=True, kw_only=True, slots=True)
class AlertRaised:
    """The worker took an alert from the outbox for a channel (before the first attempt)."""

    message_key: str
    alert_key: str
    channel: str
    alert: dict[str, Any]
    raised_at: str  # ISO 8601
    grouped_into: str = ""  # the message key that carries this one, when grouped with others


@domain_event("AlertDelivered", version=1)
@dataclass(frozen=True, kw_only=True, slots=True)
class AlertDelivered:
    """A channel accepted the alert: its status code and answer, after how many attempts."""

    message_key: str
    alert_key: str
    channel: str
    status: str
    answer: str
    attempts: int
    delivered_at: str
    covers: list[str] = field(default_factory=list)  # message keys grouped into this one
    alert: dict[str, Any] = field(
        default_factory=dict
    )  # the alert exactly as sent (merged if grouped)


@domain_event("AlertFailed", version=1)
@dataclass(frozen=True, kw_only=True, slots=True)
class AlertFailed:
    """The worker gave up on an alert: the last error (secrets scrubbed), attempts, whether permanent."""

    message_key: str
    alert_key: str
    channel: str
    error: str
    attempts: int
    permanent: bool
    failed_at: str
    round: int = 1
    covers: list[str] = field(default_factory=list)  # message keys grouped into this one


def raised(event: AlertRaised) -> NewEvent:
    return to_new_event(
        event,
        stream_id=alert_stream(event.message_key),
        idempotency_key=f"alert:{event.message_key}:raised",
    )


def delivered(event: AlertDelivered) -> NewEvent:
    return to_new_event(
        event,
        stream_id=alert_stream(event.message_key),
        idempotency_key=f"alert:{event.message_key}:delivered",
    )


def failed(event: AlertFailed) -> NewEvent:
    return to_new_event(
        event,
        stream_id=alert_stream(event.message_key),
        idempotency_key=f"alert:{event.message_key}:failed:{event.round}",
    )


TRAIL_TYPES = ("AlertRaised", "AlertDelivered", "AlertFailed")
"""The event types of the delivery trail, for `EventStore.read(event_types=...)`."""
