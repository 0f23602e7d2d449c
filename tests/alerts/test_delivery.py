"""The delivery worker against a real store (SQLite and PostgreSQL) and a real HTTP receiver."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog

from alerts import events
from alerts.channels.webhook import WebhookChannel
from alerts.delivery import DeliveryWorker
from alerts.outbox import message_for
from alerts.policy import RetryPolicy
from alerts.secrets import Secret
from alerts.trail import trail_rows
from store import open_store
from store.mapper import from_recorded, to_new_event
from tests.alerts.samples import alert
from tests.alerts.servers import Answer, Receiver, http_receiver

TOKEN = "tok-SUPERSECRET-123"


class Clock:
    """A settable clock starting at the real time (the store stamps outbox rows with real time)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def rx() -> Iterator[Receiver]:
    with http_receiver() as receiver:
        yield receiver


@pytest.fixture
def store(db_url: str) -> Iterator[Any]:
    s = open_store(db_url)
    yield s
    s.close()


def _enqueue(store: Any, *alerts_and_channels: tuple[Any, str]) -> None:
    store.commit_projection(
        "views",
        position=0,
        state=None,
        changes=[],
        outbox=[message_for(a, ch) for a, ch in alerts_and_channels],
        expected_position=0,
    )


def _worker(store: Any, rx: Receiver, clock: Clock, **kw: Any) -> DeliveryWorker:
    channel = WebhookChannel(
        name="hook", url=Secret(rx.url(f"/in/{TOKEN}")), secret=Secret("signing-key-42"), timeout=2
    )
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    worker = DeliveryWorker(
        outbox=store,
        channels={"hook": channel},
        clock=clock,
        rand=lambda: 0.5,
        sleep=fake_sleep,
        **kw,
    )
    worker.sleeps = sleeps  # type: ignore[attr-defined]
    return worker


def _trail(store: Any, key: str) -> list[Any]:
    return [from_recorded(r) for r in store.read_stream(events.alert_stream(key))]


def test_pending_alert_is_delivered_once_with_its_trail(store: Any, rx: Receiver) -> None:
    """One pass sends the alert, marks it delivered and writes Raised then Delivered; a second pass sends nothing."""
    a = alert()
    _enqueue(store, (a, "hook"))
    _enqueue(store, (a, "hook"))  # the same change written twice is stored once
    clock = Clock()
    worker = _worker(store, rx, clock)
    result = asyncio.run(worker.run_once())
    again = asyncio.run(worker.run_once())
    assert (result.delivered, again.delivered) == (1, 0)
    assert len(rx.requests) == 1
    key = f"{a.key}@hook"
    assert store.outbox_entry(key).status == "delivered"
    raised, delivered = _trail(store, key)
    assert isinstance(raised, events.AlertRaised)
    assert raised.alert == a.to_payload()
    assert isinstance(delivered, events.AlertDelivered)
    assert (delivered.status, delivered.answer, delivered.attempts) == ("200", "ok", 1)


def test_rate_limited_alert_waits_retry_after_then_is_delivered(store: Any, rx: Receiver) -> None:
    """A 429 reschedules the alert no sooner than Retry-After; once due it is sent and counted as attempt 2."""
    rx.script.append(Answer(status=429, headers={"Retry-After": "30"}, body="slow down"))
    _enqueue(store, (alert(), "hook"))
    clock = Clock()
    worker = _worker(store, rx, clock, policy=RetryPolicy(base=1, cap=600, max_attempts=5))
    assert asyncio.run(worker.run_once()).retried == 1
    entry = store.outbox_entry(f"{alert().key}@hook")
    assert entry.status == "pending"
    assert entry.next_attempt_at >= clock.now + timedelta(seconds=30) - timedelta(milliseconds=1)
    assert "429" in entry.last_error
    clock.advance(10)
    assert asyncio.run(worker.run_once()).delivered == 0  # not due yet
    clock.advance(25)
    assert asyncio.run(worker.run_once()).delivered == 1
    assert _trail(store, f"{alert().key}@hook")[-1].attempts == 2


def test_permanent_failure_is_recorded_and_operator_told_without_secrets(
    store: Any, rx: Receiver
) -> None:
    """A 400 gives up at once: outbox failed, AlertFailed in the log, alert_failed logged, no token anywhere."""
    rx.script.append(Answer(status=400, body=f"bad request to /in/{TOKEN}"))
    _enqueue(store, (alert(), "hook"))
    with structlog.testing.capture_logs() as logs:
        result = asyncio.run(_worker(store, rx, Clock()).run_once())
    assert result.failed == 1
    key = f"{alert().key}@hook"
    assert store.outbox_entry(key).status == "failed"
    failed = _trail(store, key)[-1]
    assert isinstance(failed, events.AlertFailed)
    assert failed.permanent
    assert failed.round == 1
    [told] = [e for e in logs if e["event"] == "alert_failed"]
    assert told["channel"] == "hook"
    assert told["key"] == key
    assert told["log_level"] == "error"
    everything = (
        repr(logs)
        + repr(store.read_stream(events.alert_stream(key)))
        + repr(store.outbox_entry(key))
    )
    assert TOKEN not in everything


def test_retryable_failures_give_up_after_max_attempts(store: Any, rx: Receiver) -> None:
    """500 every time: retried with backoff, then failed after max_attempts, sending exactly that many times."""
    rx.script += [Answer(status=500), Answer(status=500), Answer(status=500)]
    _enqueue(store, (alert(), "hook"))
    clock = Clock()
    worker = _worker(store, rx, clock, policy=RetryPolicy(base=1, cap=10, max_attempts=3))
    outcomes = []
    for _ in range(5):
        r = asyncio.run(worker.run_once())
        outcomes.append((r.retried, r.failed))
        clock.advance(60)
    assert outcomes == [(1, 0), (1, 0), (0, 1), (0, 0), (0, 0)]
    assert len(rx.requests) == 3
    failed = _trail(store, f"{alert().key}@hook")[-1]
    assert (failed.attempts, failed.permanent) == (3, False)


def test_alert_already_delivered_in_the_trail_is_not_sent_again(store: Any, rx: Receiver) -> None:
    """After a crash between AlertDelivered and marking the outbox, a restart marks it and sends nothing."""
    a = alert()
    key = f"{a.key}@hook"
    _enqueue(store, (a, "hook"))
    store.append(
        [
            events.delivered(
                events.AlertDelivered(
                    message_key=key,
                    alert_key=a.key,
                    channel="hook",
                    status="200",
                    answer="ok",
                    attempts=1,
                    delivered_at=datetime.now(UTC).isoformat(),
                )
            )
        ]
    )
    result = asyncio.run(_worker(store, rx, Clock()).run_once())
    assert result.skipped == 1
    assert rx.requests == []
    assert store.outbox_entry(key).status == "delivered"


def test_changes_to_one_row_within_group_wait_are_one_message(store: Any, rx: Receiver) -> None:
    """Three changes to the same row written close together reach the receiver as one alert."""
    first = alert()
    second = alert(key="x:changed:2", change="changed", summary="count now 1200")
    third = alert(key="x:status:3", change="status", summary="carried out")
    _enqueue(store, (first, "hook"), (second, "hook"), (third, "hook"))
    clock = Clock()
    worker = _worker(store, rx, clock, group_wait=30)
    assert asyncio.run(worker.run_once()).delivered == 0
    clock.advance(31)
    assert asyncio.run(worker.run_once()).delivered == 3
    [req] = rx.requests
    sent = req.json()["alert"]
    assert sent["key"] == "x:status:3"
    assert sent["change"] == "new"
    assert "count now 1200" in sent["summary"]
    delivered = _trail(store, "x:status:3@hook")[-1]
    assert sorted(delivered.covers) == [f"{first.key}@hook", "x:changed:2@hook"]
    assert delivered.alert["change"] == "new"  # the trail keeps the alert exactly as sent
    assert store.outbox_entry("x:changed:2@hook").status == "delivered"
    rows = trail_rows([from_recorded(r) for r in store.read(event_types=list(events.TRAIL_TYPES))])
    assert [(r.id, r.status, r.detail) for r in rows] == [
        (f"{first.key}@hook", "delivered", "grouped into x:status:3@hook"),
        ("x:changed:2@hook", "delivered", "grouped into x:status:3@hook"),
        ("x:status:3@hook", "delivered", "200 ok"),
    ]
    assert rows[2].title.startswith("New: ")


def test_rate_limit_spaces_sends_on_one_channel(store: Any, rx: Receiver) -> None:
    """With one message a second, three alerts for three rows wait 0, 1 and 2 seconds before sending."""
    _enqueue(store, *[(alert(key=f"k{i}", row_key=f"row{i}"), "hook") for i in range(3)])
    worker = _worker(store, rx, Clock(), rates={"hook": 1.0}, monotonic=lambda: 500.0)
    assert asyncio.run(worker.run_once()).delivered == 3
    assert worker.sleeps == [1.0, 2.0]  # type: ignore[attr-defined]


def test_alert_for_an_unconfigured_channel_fails_permanently(store: Any, rx: Receiver) -> None:
    """A message naming a channel no longer configured is failed with a clear error, not retried."""
    _enqueue(store, (alert(), "gone"))
    result = asyncio.run(_worker(store, rx, Clock()).run_once())
    assert result.failed == 1
    failed = _trail(store, f"{alert().key}@gone")[-1]
    assert "no channel named 'gone'" in failed.error


def test_requeued_alert_that_fails_again_is_recorded_as_round_two(store: Any, rx: Receiver) -> None:
    """`alerts retry` re-queues a failed alert; a second give-up is a second AlertFailed, not lost."""
    rx.script += [Answer(status=404), Answer(status=404)]
    _enqueue(store, (alert(), "hook"))
    worker = _worker(store, rx, Clock())
    asyncio.run(worker.run_once())
    key = f"{alert().key}@hook"
    store.mark_outbox(key, status="pending", attempts=0)
    asyncio.run(worker.run_once())
    rounds = [e.round for e in _trail(store, key) if isinstance(e, events.AlertFailed)]
    assert rounds == [1, 2]


def test_trail_events_round_trip_through_the_mapper() -> None:
    """Each trail event is registered and reads back equal."""
    from store.records import RecordedEvent

    e = events.AlertFailed(
        message_key="m",
        alert_key="a",
        channel="c",
        error="e",
        attempts=1,
        permanent=True,
        failed_at="t",
    )
    new = events.failed(e)
    rec = RecordedEvent(
        position=1,
        stream_id=new.stream_id,
        stream_version=1,
        event_type=new.event_type,
        schema_version=1,
        recorded_at=datetime.now(UTC),
        idempotency_key=new.idempotency_key,
        data=new.data,
        prev_hash="",
        hash="",
    )
    assert from_recorded(rec) == e
    assert to_new_event(e, stream_id="s", idempotency_key="k").event_type == "AlertFailed"


def test_worker_runs_store_calls_in_the_given_executor(store: Any, rx: Receiver) -> None:
    """Given the daemon's store thread, the worker delivers the same way without blocking the loop on I/O."""
    from concurrent.futures import ThreadPoolExecutor

    _enqueue(store, (alert(), "hook"))
    with ThreadPoolExecutor(max_workers=1) as pool:
        worker = _worker(store, rx, Clock(), executor=pool)
        assert asyncio.run(worker.run_once()).delivered == 1
    assert store.outbox_entry(f"{alert().key}@hook").status == "delivered"


def test_alerts_service_delivers_until_stopped(sqlite_url: str, rx: Receiver) -> None:
    """The service builds channels from config, delivers what the outbox holds, and stops cleanly."""
    from alerts.config import parse_alerts
    from alerts.service import AlertsService

    store: Any = open_store(sqlite_url)
    _enqueue(store, (alert(), "hook"))
    config = parse_alerts(
        {
            "group_wait": 0,
            "channels": {"hook": {"type": "webhook", "url": rx.url(), "secret_env": "K"}},
        }
    )

    async def main() -> None:
        service = AlertsService(
            store=store, config=config, environ={"K": "signing-key-1"}, poll_interval=0.05
        )
        await service.start()
        for _ in range(200):  # wait for the delivery, however long the machine takes (bounded)
            if rx.requests:
                break
            await asyncio.sleep(0.05)
        await service.stop()

    asyncio.run(main())
    assert len(rx.requests) == 1
    assert store.outbox_entry(f"{alert().key}@hook").status == "delivered"
    store.close()


def test_retry_of_a_grouped_batch_sends_the_same_alert_and_failure_covers_every_member(
    store: Any, rx: Receiver
) -> None:
    """A grouped batch that fails is retried whole (same merged alert); when it gives up, every member is failed."""
    rx.script += [Answer(status=503), Answer(status=503)]
    first = alert()
    second = alert(key="x:changed:2", change="changed", summary="count now 1200")
    _enqueue(store, (first, "hook"), (second, "hook"))
    clock = Clock()
    clock.advance(60)
    worker = _worker(
        store, rx, clock, group_wait=30, policy=RetryPolicy(base=1, cap=5, max_attempts=2)
    )
    assert asyncio.run(worker.run_once()).retried == 2
    clock.advance(60)
    assert asyncio.run(worker.run_once()).failed == 2
    sent = [r.json()["alert"] for r in rx.requests]
    assert sent[0] == sent[1]
    assert sent[0]["change"] == "new"
    assert {store.outbox_entry(k).status for k in (f"{first.key}@hook", "x:changed:2@hook")} == {
        "failed"
    }
    failed = _trail(store, "x:changed:2@hook")[-1]
    assert failed.covers == [f"{first.key}@hook"]
    rows = {
        r.id: r
        for r in trail_rows(
            [from_recorded(r) for r in store.read(event_types=list(events.TRAIL_TYPES))]
        )
    }
    assert rows[f"{first.key}@hook"].status == "failed"


def test_digest_channel_gets_one_email_per_interval(store: Any, tmp_path: Path) -> None:
    """Three changes to three rows reach a digest mailbox as one message listing all three."""
    import email.message
    import mailbox

    from alerts.channels.mailbox import MailboxChannel

    _enqueue(
        store,
        *[(alert(key=f"k{i}", row_key=f"row{i}", summary=f"change {i}"), "box") for i in range(3)],
    )
    clock = Clock()
    path = tmp_path / "digest.mbox"
    worker = DeliveryWorker(
        outbox=store,
        channels={"box": MailboxChannel(name="box", path=path)},
        digests={"box": 3600},
        clock=clock,
    )
    assert asyncio.run(worker.run_once()).delivered == 0
    clock.advance(3601)
    assert asyncio.run(worker.run_once()).delivered == 3
    box = mailbox.mbox(path)
    [msg] = list(box)
    box.close()
    assert msg["Subject"] == "[Parley] 3 changes in the views"
    assert msg["In-Reply-To"] is None
    text = msg.get_payload(0)
    assert isinstance(text, email.message.Message)
    body = bytes(text.get_payload(decode=True)).decode()
    assert all(f"change {i}" in body for i in range(3))
