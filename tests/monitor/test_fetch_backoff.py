"""Properties of the backoff policy and the Retry-After parser (pure functions, hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from hypothesis import given
from hypothesis import strategies as st

from monitor.fetch import Backoff, parse_retry_after

unit = st.floats(min_value=0.0, max_value=1.0)
failures = st.integers(min_value=1, max_value=200)
bases = st.floats(min_value=0.01, max_value=60.0)
caps = st.floats(min_value=1.0, max_value=86_400.0)


@given(n=failures, r=unit, base=bases, cap=caps)
def test_delay_is_within_zero_and_the_capped_exponential_ceiling(
    n: int, r: float, base: float, cap: float
) -> None:
    """Full jitter: the n-th failure waits between 0 and min(cap, base * 2**(n-1))."""
    delay = Backoff(base=base, cap=cap, random=lambda: r).delay(n)
    assert 0.0 <= delay <= min(cap, base * 2.0 ** (n - 1)) + 1e-9


@given(n=failures, base=bases, cap=caps)
def test_top_of_the_jitter_range_is_the_ceiling_and_never_shrinks(
    n: int, base: float, cap: float
) -> None:
    """With the random source at 1, delays are the ceiling, which does not decrease with more failures."""
    policy = Backoff(base=base, cap=cap, random=lambda: 1.0)
    assert policy.delay(n) == min(cap, base * 2.0 ** (n - 1))
    assert policy.delay(n + 1) >= policy.delay(n)


@given(
    n=st.integers(min_value=0, max_value=50),
    r=unit,
    retry_after=st.floats(min_value=0, max_value=10_000),
)
def test_retry_after_is_a_floor(n: int, r: float, retry_after: float) -> None:
    """A server's Retry-After is always waited out, whatever the jitter drew."""
    assert Backoff(random=lambda: r).delay(n, retry_after=retry_after) >= retry_after


@given(r=unit)
def test_success_resets_to_no_wait(r: float) -> None:
    """After a success (zero consecutive failures) there is no backoff."""
    assert Backoff(random=lambda: r).delay(0) == 0.0


def test_injected_random_makes_delays_reproducible() -> None:
    """The same random source gives the same sequence of delays."""
    import random

    a = Backoff(random=random.Random(7).random)
    b = Backoff(random=random.Random(7).random)
    assert [a.delay(i) for i in range(1, 10)] == [b.delay(i) for i in range(1, 10)]


@given(seconds=st.integers(min_value=0, max_value=10**7))
def test_retry_after_seconds_parse_exactly(seconds: int) -> None:
    """Delta-seconds Retry-After values parse to that many seconds."""
    assert parse_retry_after(str(seconds), datetime.now(UTC)) == seconds


@given(ahead=st.integers(min_value=-3600, max_value=10**6))
def test_retry_after_http_date_is_seconds_from_now_never_negative(ahead: int) -> None:
    """An HTTP-date gives the seconds until then; a date in the past gives 0."""
    now = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=ahead), usegmt=True)
    assert parse_retry_after(header, now) == max(0, ahead)


@given(value=st.text(max_size=40))
def test_retry_after_garbage_is_ignored(value: str) -> None:
    """Unreadable Retry-After values give None or a non-negative number, never an exception."""
    result = parse_retry_after(value, datetime.now(UTC))
    assert result is None or result >= 0
