"""The [alerts] configuration: channels, rules, durations, and the mistakes it names."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from alerts.config import build_channels, load_alerts_config, parse_alerts
from alerts.errors import AlertConfigError, SecretError
from alerts.rules import DEFAULT_RULES

EXAMPLE = """
[alerts]
group_wait = "30s"
max_attempts = 5
retry_cap = "5m"

[alerts.slack]
webhook_url_env = "PARLEY_SLACK_WEBHOOK_URL"

[alerts.channels.desk-mail]
type = "email"
host = "smtp.example.org"
from = "parley@example.org"
to = ["desk@example.org"]
username = "parley"
password_file = "{pw}"

[alerts.channels.ops-hook]
type = "webhook"
url = "https://ops.example.org/parley"
secret_env = "OPS_HOOK_SECRET"
rate_per_second = 5
digest = "1h"

[[alerts.rules]]
name = "carried-out"
views = ["agreed_exchanges"]
changes = ["status"]
statuses = ["carried_out", "partly_carried_out"]
channels = ["desk-mail"]

[[alerts.rules]]
name = "ukraine"
actors = ["UKR"]
topics = ["prisoner_exchange"]
"""


def test_example_configuration_parses_and_builds_every_channel(tmp_path: Path) -> None:
    """The documented example gives its channels, rules, durations and rates; secrets resolve."""
    pw = tmp_path / "smtp_password"
    pw.write_text("mail-pass\n")
    path = tmp_path / "parley.toml"
    path.write_text(EXAMPLE.format(pw=pw))
    config = load_alerts_config(path)
    assert config.channel_names == ["slack", "desk-mail", "ops-hook"]
    assert config.group_wait == 30.0
    assert (config.retry.max_attempts, config.retry.cap) == (5, 300.0)
    assert config.rates == {"slack": 1.0, "desk-mail": 0.0, "ops-hook": 5.0}
    assert config.digests == {"ops-hook": 3600.0}
    assert [r.name for r in config.rules] == ["carried-out", "ukraine"]
    assert config.rules[0].statuses == ("carried_out", "partly_carried_out")
    env = {"PARLEY_SLACK_WEBHOOK_URL": "https://hooks.example/T/B/X", "OPS_HOOK_SECRET": "s"}
    channels = build_channels(config, env)
    assert sorted(channels) == ["desk-mail", "ops-hook", "slack"]
    assert "mail-pass" not in repr(channels)


def test_no_rules_means_the_default_rules() -> None:
    """Without [[alerts.rules]], new/changed exchanges and demand status changes go everywhere."""
    assert parse_alerts({}).rules == DEFAULT_RULES


def test_secret_injected_by_the_monitor_config_from_the_environment_is_accepted() -> None:
    """The monitor's loader copies PARLEY_SLACK_WEBHOOK_URL into [alerts.slack]; that is not a literal secret."""
    url = "https://hooks.example/T/B/SECRET"
    config = parse_alerts({"slack": {"webhook_url": url}})
    [channel] = build_channels(config, {"PARLEY_SLACK_WEBHOOK_URL": url}).values()
    assert channel.name == "slack"
    with pytest.raises(SecretError, match="must not be written in the configuration"):
        build_channels(config, {})


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('colour = "red"', "alerts: unknown key 'colour'"),
        ('group_wait = "soon"', "alerts.group_wait: 'soon' is not a duration"),
        ("max_attempts = 0", "alerts.max_attempts: must be a whole number of at least 1"),
        ('[channels.x]\nhost = "h"', "alerts.channels.x: missing type"),
        ('[[rules]]\nchanges = ["nwe"]', "alerts.rules[0].changes: unknown change 'nwe'"),
        ('[[rules]]\nchanges = ["digest"]', "alerts.rules[0].changes: unknown change 'digest'"),
        (
            '[channels.x]\ntype = "console"\ndigest = "often"',
            "alerts channel 'x': digest: 'often' is not a duration",
        ),
        (
            '[[rules]]\nchannels = ["nowhere"]',
            "alerts.rules[0].channels: no channel named 'nowhere'",
        ),
        ('[[rules]]\nview = "typo"', "alerts.rules[0]: unknown key 'view'"),
        ('[channels.x]\ntype = "pigeon"', "alerts channel 'x': type must be one of"),
    ],
)
def test_mistakes_are_named_by_key(toml: str, message: str) -> None:
    """Each mistake raises AlertConfigError naming the key at fault."""

    def load() -> None:
        build_channels(parse_alerts(tomllib.loads(toml)), {})

    with pytest.raises(AlertConfigError) as info:
        load()
    assert message in str(info.value)


def test_unreadable_or_invalid_file_names_the_file(tmp_path: Path) -> None:
    """A missing file or bad TOML is an error naming the file."""
    with pytest.raises(AlertConfigError, match=r"nope\.toml: cannot read"):
        load_alerts_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[alerts\n")
    with pytest.raises(AlertConfigError, match=r"bad\.toml: not valid TOML"):
        load_alerts_config(bad)
