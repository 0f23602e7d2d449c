"""`[daemon] lease_ttl`: how long a daemon's leases last unrenewed, read and checked with its line."""

from __future__ import annotations

import pytest

from monitor.config import parse_settings
from monitor.errors import ConfigError


def test_lease_ttl_defaults_to_15_seconds_and_takes_durations() -> None:
    """No key: 15 s. A number or a duration string is read as seconds."""
    assert parse_settings("", path="p.toml", env={}).lease_ttl == 15.0
    text = "[daemon]\nlease_ttl = 4\n"
    assert parse_settings(text, path="p.toml", env={}).lease_ttl == 4.0
    text = '[daemon]\nlease_ttl = "1m"\n'
    assert parse_settings(text, path="p.toml", env={}).lease_ttl == 60.0


@pytest.mark.parametrize(
    ("value", "why"),
    [("0.5", "must be at least 1 second, not 0.5"), ('"soon"', "must be a duration")],
)
def test_a_bad_lease_ttl_names_the_file_line_and_key(value: str, why: str) -> None:
    """A ttl under a second, or not a duration, is one error naming the file, line and key."""
    text = f"[daemon]\nparse_workers = 0\nlease_ttl = {value}\n"
    with pytest.raises(ConfigError) as info:
        parse_settings(text, path="p.toml", env={})
    message = str(info.value)
    assert "p.toml:3:" in message
    assert "daemon.lease_ttl" in message
    assert why in message
