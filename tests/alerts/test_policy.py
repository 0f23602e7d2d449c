"""The pure delivery policy: backoff with jitter, Retry-After, give-up, token bucket, grouping."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from alerts.errors import DeliveryError
from alerts.model import ChangeKind
from alerts.policy import (
    GiveUp,
    Pending,
    Retry,
    RetryPolicy,
    TokenBucket,
    backoff,
    decide,
    ready_batches,
)
from tests.alerts.samples import alert

T0 = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


def _err(**kw) -> DeliveryError:  # type: ignore[no-untyped-def]
    return DeliveryError("boom", channel="c", **kw)


@given(
    attempt=st.integers(min_value=1, max_value=200),
    r=st.floats(min_value=0, max_value=1, exclude_max=True),
)
def test_backoff_is_full_jitter_under_an_exponential_ceiling(attempt: int, r: float) -> None:
    """The delay is random() times min(cap, base * 2^(attempt-1)), never above the cap."""
    policy = RetryPolicy(base=2.0, cap=600.0, max_attempts=300)
    delay = backoff(attempt, policy, lambda: r)
    assert 0 <= delay <= 600.0
    assert delay == r * min(600.0, 2.0 * 2.0 ** (attempt - 1))


@given(
    retry_after=st.floats(min_value=0, max_value=10_000), r=st.floats(min_value=0, max_value=0.999)
)
def test_retry_after_is_a_floor_capped_by_the_policy(retry_after: float, r: float) -> None:
    """The wait is never shorter than Retry-After (up to the cap) and never longer than the cap."""
    policy = RetryPolicy(base=1.0, cap=300.0, max_attempts=5)
    decision = decide(1, _err(retry_after=retry_after), policy, lambda: r)
    assert isinstance(decision, Retry)
    assert decision.delay >= min(retry_after, 300.0)
    assert decision.delay <= 300.0


def test_permanent_errors_and_exhausted_attempts_give_up() -> None:
    """A permanent error gives up at once; a retryable one gives up after max_attempts."""
    policy = RetryPolicy(max_attempts=3)
    assert decide(1, _err(permanent=True), policy, lambda: 0.5) == GiveUp(reason="permanent")
    assert isinstance(decide(2, _err(), policy, lambda: 0.5), Retry)
    assert decide(3, _err(), policy, lambda: 0.5) == GiveUp(reason="3 attempts")


def test_token_bucket_spaces_sends_to_the_rate() -> None:
    """At one message a second, three sends at once wait 0, 1 and 2 seconds; idle time refills."""
    bucket = TokenBucket(rate=1.0, burst=1.0)
    assert [bucket.reserve(100.0) for _ in range(3)] == [0.0, 1.0, 2.0]
    assert bucket.reserve(110.0) == 0.0


@given(st.lists(st.floats(min_value=0, max_value=5), min_size=1, max_size=50))
def test_token_bucket_never_allows_more_than_rate_over_time(gaps: list[float]) -> None:
    """However requests arrive, the granted send times respect rate and burst."""
    bucket = TokenBucket(rate=2.0, burst=1.0)
    now = 0.0
    granted = []
    for gap in gaps:
        now += gap
        granted.append(now + bucket.reserve(now))
    for earlier, later in itertools.pairwise(granted):
        assert later - earlier >= 0.5 - 1e-9


def _p(
    key: str, row: str, change: ChangeKind, at: datetime, attempts: int = 0, channel: str = "c"
) -> Pending:
    a = alert(key=key, row_key=row, change=change, summary=f"{change} {key}")
    return Pending(
        message_key=f"{key}@{channel}", channel=channel, alert=a, created_at=at, attempts=attempts
    )


def test_changes_to_one_row_within_group_wait_go_out_as_one_alert() -> None:
    """Three changes to a row become one alert once the oldest is group_wait old; other rows stay apart."""
    pending = [
        _p("r1:new:1", "r1", "new", T0),
        _p("r1:changed:2", "r1", "changed", T0 + timedelta(seconds=5)),
        _p("r2:new:1", "r2", "new", T0 + timedelta(seconds=6)),
        _p("r1:status:3", "r1", "status", T0 + timedelta(seconds=8)),
    ]
    assert ready_batches(pending, now=T0 + timedelta(seconds=29), group_wait=30) == []
    [batch] = ready_batches(pending, now=T0 + timedelta(seconds=30), group_wait=30)
    assert batch.lead.message_key == "r1:status:3@c"
    assert batch.alert.change == "new"  # it still opens the row's thread
    assert batch.alert.summary == "new r1:new:1; changed r1:changed:2; status r1:status:3"
    assert len(batch.members) == 3
    assert len(ready_batches(pending, now=T0 + timedelta(seconds=40), group_wait=30)) == 2


def test_retried_batch_regroups_and_other_channels_stay_apart() -> None:
    """Members of a failed batch, rescheduled together, form the same batch again; channels never mix."""
    pending = [
        _p("r1:new:1", "r1", "new", T0, attempts=2),
        _p("r1:changed:2", "r1", "changed", T0 + timedelta(seconds=1), attempts=2),
        _p("r1:changed:2", "r1", "changed", T0, channel="other"),
    ]
    batches = ready_batches(pending, now=T0 + timedelta(seconds=60), group_wait=30)
    by_channel = {b.channel: b for b in batches}
    assert sorted(by_channel) == ["c", "other"]
    assert by_channel["c"].alert.change == "new"
    assert by_channel["c"].attempts == 2
    assert len(by_channel["c"].members) == 2
    assert len(by_channel["other"].members) == 1


def test_digest_channel_sends_one_summary_per_interval() -> None:
    """On a digest channel every alert of the interval, whatever its row, becomes one summary alert."""
    pending = [
        _p("a:new:1", "a", "new", T0, channel="mail"),
        _p("b:status:1", "b", "status", T0 + timedelta(minutes=10), channel="mail"),
        _p("a:new:1", "a", "new", T0, channel="slack"),
    ]
    digests = {"mail": 3600.0}
    early = ready_batches(pending, now=T0 + timedelta(minutes=30), group_wait=30, digests=digests)
    assert [b.channel for b in early] == ["slack"]
    [mail] = [
        b
        for b in ready_batches(pending, now=T0 + timedelta(hours=1), group_wait=30, digests=digests)
        if b.channel == "mail"
    ]
    assert mail.alert.change == "digest"
    assert mail.alert.title == "2 changes in the views"
    assert mail.alert.summary.splitlines() == [
        "New: Prisoner exchange: RUS, UKR: new a:new:1",
        "Status changed: Prisoner exchange: RUS, UKR: status b:status:1",
    ]
    again = ready_batches(pending, now=T0 + timedelta(hours=2), group_wait=30, digests=digests)
    assert [b.alert.key for b in again if b.channel == "mail"] == [mail.alert.key]  # stable key


@given(
    offsets=st.lists(st.integers(min_value=0, max_value=100), min_size=1, max_size=20),
    rows=st.lists(st.sampled_from(["a", "b", "c"]), min_size=20, max_size=20),
)
def test_grouping_covers_every_due_message_exactly_once(
    offsets: list[int], rows: list[str]
) -> None:
    """Every message whose group is due is in exactly one batch; none is lost or doubled."""
    pending = [
        _p(f"k{i}", rows[i], "changed", T0 + timedelta(seconds=o)) for i, o in enumerate(offsets)
    ]
    batches = ready_batches(pending, now=T0 + timedelta(seconds=1000), group_wait=30)
    keys = [m.message_key for b in batches for m in b.members]
    assert sorted(keys) == sorted(p.message_key for p in pending)
