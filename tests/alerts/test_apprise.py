"""The Apprise channel, through Apprise's generic json:// service to a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging

import pytest

from alerts.channels.apprise import WORD_JOINER, AppriseChannel
from alerts.errors import DeliveryError
from alerts.secrets import Secret
from tests.alerts.samples import alert, hostile_alert
from tests.alerts.servers import Answer, http_receiver

TOKEN = "APPRISE-TOKEN-123"


def _url(port: int) -> Secret:
    return Secret(f"json://127.0.0.1:{port}/notify/{TOKEN}")


def test_alert_arrives_through_apprise_with_title_and_body() -> None:
    """Apprise posts the headline as title and the text body as message."""
    with http_receiver() as rx:
        delivery = asyncio.run(AppriseChannel(name="ops", url=_url(rx.port)).send(alert()))
    assert delivery.status == "sent"
    [req] = rx.requests
    assert req.path == f"/notify/{TOKEN}"
    doc = req.json()
    assert doc["title"] == "New: Prisoner exchange: RUS, UKR"
    assert "Parties: RUS, UKR" in doc["message"]


def test_mentions_in_post_text_are_defused() -> None:
    """Every @ in post text reaches the service followed by a word joiner, so @everyone cannot ping."""
    with http_receiver() as rx:
        asyncio.run(
            AppriseChannel(name="ops", url=_url(rx.port)).send(
                hostile_alert(summary="@everyone look")
            )
        )
    message = rx.requests[0].json()["message"]
    assert "@everyone" not in message
    assert f"@{WORD_JOINER}everyone" in message


def test_refusal_is_retryable_and_logs_never_show_the_url(caplog: pytest.LogCaptureFixture) -> None:
    """A 500 from the service is a retryable error; Apprise's and urllib3's URL-bearing logs are dropped."""
    with caplog.at_level(logging.DEBUG), http_receiver() as rx:
        rx.script.append(Answer(status=500, body="down"))
        with pytest.raises(DeliveryError) as info:
            asyncio.run(AppriseChannel(name="ops", url=_url(rx.port)).send(alert()))
    assert not info.value.permanent
    assert TOKEN not in caplog.text
    assert TOKEN not in str(info.value)


def test_url_apprise_does_not_understand_is_permanent() -> None:
    """An unknown scheme is a permanent error that does not show the URL."""
    with pytest.raises(DeliveryError) as info:
        asyncio.run(
            AppriseChannel(name="ops", url=Secret(f"nosuchservice://{TOKEN}")).send(alert())
        )
    assert info.value.permanent
    assert TOKEN not in str(info.value)
