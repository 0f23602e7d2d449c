"""The delivery policy, pure: when to retry, when to give up, how fast each channel may be used,
and which pending alerts about the same row go out together.

- Backoff: exponential with full jitter, `delay = random() * min(cap, base * 2**(attempt-1))`,
  never less than the channel's Retry-After.
- Give up after `max_attempts` attempts, or at once on a permanent error.
- Rate: a token bucket per channel (`rate` messages a second, bursts of `burst`).
- Grouping: alerts for the same row and channel wait `group_wait` seconds after the oldest was
  written, then go out as one alert (the newest's content; "new" when any of them was new).
- Digest: on a digest channel, every alert of an interval goes out as one summary alert.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from alerts.errors import DeliveryError
from alerts.model import Alert


@dataclass(frozen=True, kw_only=True, slots=True)
class RetryPolicy:
    """How often and how long to keep trying one alert on one channel."""

    base: float = 2.0  # seconds before the first retry, on average twice this at most
    cap: float = 600.0  # the longest wait between two attempts
    max_attempts: int = 8

    def __post_init__(self) -> None:
        if self.base <= 0 or self.cap < self.base or self.max_attempts < 1:
            raise ValueError("retry policy needs base > 0, cap >= base and max_attempts >= 1")


@dataclass(frozen=True, kw_only=True, slots=True)
class Retry:
    delay: float


@dataclass(frozen=True, kw_only=True, slots=True)
class GiveUp:
    reason: str


def backoff(attempt: int, policy: RetryPolicy, rand: Callable[[], float]) -> float:
    """The full-jitter delay after failed attempt number `attempt` (1-based)."""
    ceiling = min(policy.cap, policy.base * 2.0 ** min(attempt - 1, 62))
    return rand() * ceiling


def decide(
    attempts: int, error: DeliveryError, policy: RetryPolicy, rand: Callable[[], float]
) -> Retry | GiveUp:
    """After `attempts` attempts, the last of which raised `error`: retry after a delay, or give up."""
    if error.permanent:
        return GiveUp(reason="permanent")
    if attempts >= policy.max_attempts:
        return GiveUp(reason=f"{attempts} attempts")
    delay = backoff(attempts, policy, rand)
    if error.retry_after is not None:
        delay = max(delay, min(error.retry_after, policy.cap))
    return Retry(delay=delay)


@dataclass(kw_only=True, slots=True)
class TokenBucket:
    """At most `rate` sends a second on average, `burst` at once. `reserve(now)` says how long to wait.

    Mutable on purpose (one per channel, owned by the worker); time comes in as `now` (seconds on
    a monotonic clock), so it is tested without sleeping.
    """

    rate: float
    burst: float = 1.0
    tokens: float = field(default=-1.0)
    updated: float | None = None

    def reserve(self, now: float) -> float:
        """Take one token; return the seconds to wait before using it (0 when one is free)."""
        if self.rate <= 0:
            return 0.0
        if self.updated is None:
            self.tokens, self.updated = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


@dataclass(frozen=True, kw_only=True, slots=True)
class Pending:
    """One pending outbox message as the policy sees it."""

    message_key: str
    channel: str
    alert: Alert
    created_at: datetime
    attempts: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class Batch:
    """What to send now on one channel: `alert`, standing for every message in `members`."""

    channel: str
    alert: Alert
    lead: Pending  # the message whose key names the delivery (the newest)
    members: tuple[Pending, ...]

    @property
    def attempts(self) -> int:
        """Attempts made so far (members of a retried batch are rescheduled together)."""
        return max(m.attempts for m in self.members)


def merge(alerts: Sequence[Alert]) -> Alert:
    """Several alerts about one row, oldest first, as one: the newest's facts, "new" if any was new."""
    newest = alerts[-1]
    change = "new" if any(a.change == "new" for a in alerts) else newest.change
    summaries: list[str] = []
    for a in alerts:
        if a.summary and a.summary not in summaries:
            summaries.append(a.summary)
    return replace(newest, change=change, summary="; ".join(summaries))


def digest(channel: str, alerts: Sequence[Alert]) -> Alert:
    """Several alerts, oldest first, as one summary: a line per alert, keyed by the alerts it holds."""
    keys = "\n".join(sorted(a.key for a in alerts))
    lines = [a.headline + (f": {a.summary}" if a.summary else "") for a in alerts]
    count = len(alerts)
    return Alert(
        key=f"digest:{channel}:{hashlib.sha256(keys.encode()).hexdigest()[:16]}",
        view="digest",
        row_key=channel,
        change="digest",
        title=f"{count} change{'s' if count != 1 else ''} in the views",
        summary="\n".join(lines),
        occurred_at=max(a.occurred_at for a in alerts),
    )


def make_batch(channel: str, members: Sequence[Pending], *, is_digest: bool = False) -> Batch:
    """The batch standing for `members` (oldest first): merged per row, or a digest."""
    alerts = [m.alert for m in members]
    if is_digest:
        alert = digest(channel, alerts)
    elif len(alerts) == 1:
        alert = alerts[0]
    else:
        alert = merge(alerts)
    return Batch(channel=channel, alert=alert, lead=members[-1], members=tuple(members))


def ready_batches(
    pending: Sequence[Pending],
    *,
    now: datetime,
    group_wait: float,
    digests: Mapping[str, float] | None = None,
) -> list[Batch]:
    """The batches due at `now`, oldest first.

    Per (channel, row), once the oldest message is `group_wait` seconds old; on a digest channel
    (`digests`: channel -> interval in seconds), every message of the channel together, once the
    oldest is that interval old. With `group_wait <= 0`, each message of a non-digest channel goes
    on its own. Retried messages group like new ones: a failed batch's members are rescheduled
    together, so a retry sends what the first attempt sent.
    """
    digests = digests or {}
    groups: dict[tuple[str, str], list[Pending]] = {}
    batches: list[Batch] = []
    for p in sorted(pending, key=lambda p: (p.created_at, p.message_key)):
        if p.channel in digests:
            groups.setdefault((p.channel, ""), []).append(p)
        elif group_wait <= 0:
            batches.append(make_batch(p.channel, [p]))
        else:
            groups.setdefault((p.channel, p.alert.thread), []).append(p)
    for (channel, scope), members in groups.items():
        wait = timedelta(seconds=digests.get(channel, group_wait))
        if members[0].created_at + wait > now:
            continue
        batches.append(make_batch(channel, members, is_digest=not scope))
    return sorted(batches, key=lambda b: (b.members[0].created_at, b.lead.message_key))
