"""The Slack channel against a real HTTP receiver on 127.0.0.1 that checks Slack's payload rules."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.channels.slack import SlackChannel, escape, slack_message
from alerts.errors import DeliveryError
from alerts.secrets import Secret
from tests.alerts.samples import alert, hostile_alert
from tests.alerts.servers import Answer, http_receiver
from tests.alerts.slack_rules import slack_problems


def _send(channel: SlackChannel, a=None):  # type: ignore[no-untyped-def]
    return asyncio.run(channel.send(a or alert()))


def test_slack_alert_arrives_as_valid_block_kit_message() -> None:
    """A normal alert reaches the webhook as a payload that passes every Slack rule."""
    with http_receiver() as rx:
        delivery = _send(SlackChannel(name="desk", url=Secret(rx.url("/services/T/B/X"))))
    assert delivery.status == "200"
    assert delivery.answer == "ok"
    [req] = rx.requests
    assert req.path == "/services/T/B/X"
    payload = req.json()
    assert slack_problems(payload) == []
    kinds = [b["type"] for b in payload["blocks"]]
    assert kinds[0] == "header"
    assert "actions" in kinds
    body = str(payload)
    assert "RUS, UKR" in body
    assert "next week" in body
    assert ">Russia and Ukraine agreed" in body


def test_hostile_post_text_is_escaped_and_cannot_ping_or_link() -> None:
    """Mentions, links and HTML from a post arrive escaped; an unsafe post URL gets no button."""
    with http_receiver() as rx:
        _send(SlackChannel(name="desk", url=Secret(rx.url())), hostile_alert())
    payload = rx.requests[0].json()
    assert slack_problems(payload) == []
    raw = rx.requests[0].body.decode()
    for bad in ("<!channel>", "<!here>", "<!everyone>", "<https://evil", "<@U123>", "<script>"):
        assert bad not in raw
    assert "&lt;!channel&gt;" in raw
    assert "javascript:" not in raw
    assert all(b["type"] != "actions" for b in payload["blocks"])


def test_long_text_is_cut_to_slack_limits() -> None:
    """Huge titles, summaries, quotes and fields are cut so every block stays within Slack's limits."""
    huge = "&<>" * 5000 + "word " * 3000
    a = alert(title=huge, summary=huge, quote=huge, deadline=huge, parties=(huge,) * 3)
    payload = slack_message(a)
    assert slack_problems(payload) == []
    assert payload["blocks"][0]["text"]["text"].endswith("…")


@settings(max_examples=200, deadline=None)
@given(text=st.text(), limit=st.integers(min_value=1, max_value=400))
def test_escape_never_exceeds_limit_nor_splits_an_entity(text: str, limit: int) -> None:
    """Escaped text fits its limit, and cutting never leaves half an entity or a bare < > &."""
    out = escape(text, limit)
    assert len(out) <= limit
    assert slack_problems({"text": out, "blocks": []}) == []
    if len(escape(text)) <= limit:
        assert out == escape(text)


@given(text=st.text(min_size=1))
def test_any_text_in_any_field_passes_slack_rules(text: str) -> None:
    """Whatever a post says, the Slack message built from it is valid and escaped."""
    a = alert(title=text, summary=text, quote=text, deadline=text, parties=(text,), status=text)
    assert slack_problems(slack_message(a)) == []


def test_429_raises_retryable_error_with_retry_after() -> None:
    """Slack's rate limit answer becomes a retryable DeliveryError carrying Retry-After seconds."""
    with http_receiver() as rx:
        rx.script.append(Answer(status=429, body="rate_limited", headers={"Retry-After": "7"}))
        with pytest.raises(DeliveryError) as info:
            _send(SlackChannel(name="desk", url=Secret(rx.url())))
    assert info.value.retry_after == 7.0
    assert not info.value.permanent
    assert info.value.status == "429"


def test_500_is_retryable_and_404_is_permanent() -> None:
    """A server error may pass on retry; a missing webhook (404) never will."""
    with http_receiver() as rx:
        rx.script += [Answer(status=500, body="oops"), Answer(status=404, body="no_service")]
        channel = SlackChannel(name="desk", url=Secret(rx.url()))
        with pytest.raises(DeliveryError) as first:
            _send(channel)
        with pytest.raises(DeliveryError) as second:
            _send(channel)
    assert not first.value.permanent
    assert second.value.permanent
    assert "no_service" in str(second.value)


def test_timeout_is_retryable_and_error_never_shows_the_webhook_url() -> None:
    """A receiver that does not answer in time gives a retryable error without the secret URL."""
    with http_receiver() as rx:
        rx.script.append(Answer(delay=1.5))
        url = rx.url("/services/T000/B000/SECRETTOKEN")
        with pytest.raises(DeliveryError) as info:
            _send(SlackChannel(name="desk", url=Secret(url), timeout=0.3))
    assert not info.value.permanent
    assert "SECRETTOKEN" not in str(info.value)
    assert "SECRETTOKEN" not in repr(info.value.args)


def test_connection_refused_is_retryable_without_the_url() -> None:
    """Nothing listening is a retryable error whose message does not contain the webhook URL."""
    from tests.alerts.servers import free_port

    url = f"http://127.0.0.1:{free_port()}/services/SECRETTOKEN"
    with pytest.raises(DeliveryError) as info:
        _send(SlackChannel(name="desk", url=Secret(url), timeout=2))
    assert not info.value.permanent
    assert "SECRETTOKEN" not in str(info.value)
