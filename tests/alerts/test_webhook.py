"""The webhook channel against a real HTTP receiver on 127.0.0.1 that verifies the signature."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime

import pytest

from alerts.channels.webhook import WebhookChannel, sign, verify_signature, webhook_body
from alerts.errors import DeliveryError
from alerts.model import Alert
from alerts.secrets import Secret
from tests.alerts.samples import alert, hostile_alert
from tests.alerts.servers import Answer, http_receiver

KEY = "whsec-test-key"


def test_receiver_verifies_signature_and_reads_the_alert() -> None:
    """The receiver recomputes the HMAC over "<t>.<body>" and gets back the same alert."""
    with http_receiver() as rx:
        channel = WebhookChannel(name="hook", url=Secret(rx.url()), secret=Secret(KEY))
        delivery = asyncio.run(channel.send(alert()))
    [req] = rx.requests
    assert delivery.status == "200"
    header = req.headers["x-parley-signature"]
    assert header.startswith(f"t={req.headers['x-parley-timestamp']},v1=")
    assert verify_signature(KEY, header, req.body, now=time.time())
    assert not verify_signature("wrong-key", header, req.body, now=time.time())
    assert not verify_signature(KEY, header, req.body + b" ", now=time.time())
    assert req.headers["x-parley-alert-key"] == alert().key
    doc = req.json()
    assert doc["type"] == "parley.alert"
    assert Alert.from_payload(doc["alert"]) == alert()


def test_old_signature_is_refused_as_a_replay() -> None:
    """A signature made longer ago than the tolerance does not verify."""
    body = webhook_body(alert())
    header = sign(KEY, body, 1_000_000)
    assert verify_signature(KEY, header, body, now=1_000_100)
    assert not verify_signature(KEY, header, body, now=1_000_000 + 301)
    assert not verify_signature(KEY, "garbage", body, now=1_000_000)


def test_hostile_text_is_json_data_not_markup() -> None:
    """Hostile post text travels as JSON string values, round-tripping exactly."""
    body = webhook_body(hostile_alert())
    doc = json.loads(body)
    assert doc["alert"]["quote"] == hostile_alert().quote


def test_webhook_errors_are_classified_and_never_show_secrets() -> None:
    """429 carries Retry-After, 500 is retryable, 400 is permanent; neither URL token nor key leaks."""
    with http_receiver() as rx:
        rx.script += [
            Answer(status=429, headers={"Retry-After": "3"}, body="slow down"),
            Answer(status=503, body=f"echo {KEY}"),
            Answer(status=400, body="bad"),
        ]
        channel = WebhookChannel(
            name="hook",
            url=Secret(rx.url("/in/TOKEN123")),
            secret=Secret(KEY),
            clock=lambda: datetime(2025, 6, 2, tzinfo=UTC),
        )
        errors = []
        for _ in range(3):
            with pytest.raises(DeliveryError) as info:
                asyncio.run(channel.send(alert()))
            errors.append(info.value)
    assert [e.retry_after for e in errors] == [3.0, None, None]
    assert [e.permanent for e in errors] == [False, False, True]
    for e in errors:
        assert KEY not in str(e)
        assert "TOKEN123" not in str(e)
    assert rx.requests[0].headers["x-parley-timestamp"] == str(
        int(datetime(2025, 6, 2, tzinfo=UTC).timestamp())
    )
