"""Secrets come from the environment or files, and never show in reprs, errors or logs."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
import structlog

from alerts.channels import build_channel
from alerts.errors import SecretError
from alerts.secrets import Secret, resolve

VALUE = "https://hooks.slack.test/services/T0/B0/SUPERSECRET"


def test_secret_masks_itself_everywhere_it_could_be_printed() -> None:
    """str, repr, f-strings and a dataclass repr show *** and never the value."""
    s = Secret(VALUE)
    channel = build_channel("desk", {"type": "slack", "webhook_url_env": "U"}, {"U": VALUE})
    for shown in (str(s), repr(s), f"{s}", f"{s!r}", repr(channel), str([s])):
        assert "SUPERSECRET" not in shown
    assert s.reveal() == VALUE
    assert s.scrub(f"POST {VALUE} failed") == "POST *** failed"
    with pytest.raises(TypeError):
        pickle.dumps(s)


def test_structlog_never_sees_the_value() -> None:
    """Logging a channel or a secret as a field records the mask only."""
    channel = build_channel("desk", {"type": "slack", "webhook_url_env": "U"}, {"U": VALUE})
    with structlog.testing.capture_logs() as logs:
        structlog.get_logger().info("channel_ready", channel=channel, url=Secret(VALUE))
    assert "SUPERSECRET" not in repr(logs)
    assert "SUPERSECRET" not in str({k: str(v) for k, v in logs[0].items()})


def test_secret_is_read_from_environment_or_file(tmp_path: Path) -> None:
    """`<key>_env` names a variable, `<key>_file` a file whose stripped content is the secret."""
    f = tmp_path / "pw"
    f.write_text("from-file\n")
    from_env = resolve({"password_env": "PW"}, "password", environ={"PW": "from-env"}, where="w")
    from_file = resolve({"password_file": str(f)}, "password", environ={}, where="w")
    assert from_env is not None
    assert from_env.reveal() == "from-env"
    assert from_file is not None
    assert from_file.reveal() == "from-file"
    assert resolve({}, "password", environ={}, where="w", required=False) is None


@pytest.mark.parametrize(
    ("settings", "environ", "message"),
    [
        ({"password": "hunter2"}, {}, "must not be written in the configuration"),
        ({"password_env": "NOPE"}, {}, "environment variable NOPE (password_env) is not set"),
        ({"password_env": "EMPTY"}, {"EMPTY": " "}, "environment variable EMPTY is empty"),
        ({"password_file": "/nonexistent/pw"}, {}, "cannot read password_file /nonexistent/pw"),
        ({"password_env": "A", "password_file": "/x"}, {"A": "v"}, "give only one of"),
        ({}, {}, "missing password_env or password_file"),
    ],
)
def test_bad_secret_configuration_names_where_and_never_the_value(
    settings: dict[str, str], environ: dict[str, str], message: str
) -> None:
    """Each mistake is a SecretError naming the channel and the variable or file, not a value."""
    with pytest.raises(SecretError) as info:
        resolve(settings, "password", environ=environ, where="alerts channel 'mail'")
    assert message in str(info.value)
    assert str(info.value).startswith("alerts channel 'mail'")
    assert "hunter2" not in str(info.value)


def test_http_library_logs_never_carry_the_webhook_url(caplog: pytest.LogCaptureFixture) -> None:
    """httpx logs each request's URL at INFO; while a channel sends, those lines are dropped."""
    import asyncio
    import logging

    from alerts.channels.slack import SlackChannel
    from alerts.channels.webhook import WebhookChannel
    from tests.alerts.samples import alert
    from tests.alerts.servers import http_receiver

    with caplog.at_level(logging.DEBUG), http_receiver() as rx:
        url = Secret(rx.url("/services/T0/B0/SUPERSECRET"))
        asyncio.run(SlackChannel(name="s", url=url).send(alert()))
        asyncio.run(WebhookChannel(name="w", url=url, secret=Secret("signing-key")).send(alert()))
    assert len(rx.requests) == 2
    assert "SUPERSECRET" not in caplog.text
