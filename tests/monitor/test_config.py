"""The TOML configuration: valid files become typed settings, broken ones a clear error with the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import Schedule, load_settings, parse_duration, parse_settings
from monitor.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

GOOD = """\
[database]
url = "sqlite:///parley.db"

[http]
user_agent = "Parley/0.1"
contact = "desk@example.org"
max_bytes = 2000000

[defaults]
interval = "2m"
jitter = 3

[[sources]]
name = "bbc-live"
kind = "liveblog"
url = "https://example.org/live"
interval = 30

[[sources]]
name = "bbc-html"
kind = "html"
url = "https://example.org/page"

[sources.settings]
post = "article.post"
title = "h2"

[alerts.email]
to = ["desk@example.org"]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "parley.toml"
    path.write_text(text)
    return path


def _error(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(_write(tmp_path, text), env or {})
    return str(info.value)


def test_valid_file_gives_typed_settings_with_defaults(tmp_path: Path) -> None:
    """Every key read, section defaults applied to sources, per-source values override them."""
    s = load_settings(_write(tmp_path, GOOD), {})
    assert s.database_url == "sqlite:///parley.db"
    assert s.http.max_bytes == 2000000
    assert s.http.user_agent_header() == "Parley/0.1 desk@example.org"
    live, html = s.sources
    assert live.schedule.interval == 30.0
    assert live.schedule.jitter == 3.0
    assert html.schedule.interval == 120.0
    assert html.schedule.quiet_factor == Schedule().quiet_factor
    assert dict(html.settings) == {"post": "article.post", "title": "h2"}
    assert s.alerts == {"email": {"to": ["desk@example.org"]}}


def test_environment_overrides_secrets_and_database(tmp_path: Path) -> None:
    """PARLEY_DATABASE_URL, PARLEY_SMTP_PASSWORD and PARLEY_SLACK_WEBHOOK_URL win over the file."""
    env = {
        "PARLEY_DATABASE_URL": "postgresql://u@h/db",
        "PARLEY_SMTP_PASSWORD": "s3cret",
        "PARLEY_SLACK_WEBHOOK_URL": "https://hooks.example/x",
    }
    s = load_settings(_write(tmp_path, GOOD), env)
    assert s.database_url == "postgresql://u@h/db"
    assert s.alerts["email"] == {"to": ["desk@example.org"], "password": "s3cret"}
    assert s.alerts["slack"] == {"webhook_url": "https://hooks.example/x"}
    assert "s3cret" not in repr(s)
    assert "postgresql://u@h/db" not in repr(s)


def test_toml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    """A TOML syntax error reports where it is."""
    message = _error(tmp_path, '[database]\nurl = "sqlite:///x.db"\n\n[[sources]\nname = 1\n')
    assert "parley.toml:4:" in message
    assert "not valid TOML" in message


def test_bad_value_names_line_and_key(tmp_path: Path) -> None:
    """A value of the wrong kind in the second source names that source's line and key."""
    text = GOOD.replace(
        'url = "https://example.org/page"', 'url = "https://example.org/page"\ninterval = "soon"'
    )
    message = _error(tmp_path, text)
    assert "sources[2].interval" in message
    line = text.splitlines().index('interval = "soon"') + 1
    assert f"parley.toml:{line}:" in message


def test_missing_required_key_names_the_source(tmp_path: Path) -> None:
    """A source without a url is rejected, naming the source table's line."""
    message = _error(tmp_path, '[[sources]]\nname = "a"\nkind = "rss"\n')
    assert message.endswith("parley.toml:1: sources[1].url: is required")


def test_unknown_kind_and_unknown_key_are_rejected(tmp_path: Path) -> None:
    """Typos are errors, not silently ignored settings."""
    assert "is not one of" in _error(
        tmp_path, '[[sources]]\nname="a"\nkind="podcast"\nurl="http://x"\n'
    )
    message = _error(tmp_path, '[[sources]]\nname="a"\nkind="rss"\nurl="http://x"\nintervall=3\n')
    assert "parley.toml:5: sources[1].intervall: unknown key" in message
    assert "unknown section" in _error(tmp_path, "[datbase]\nurl='x'\n")


def test_duplicate_source_names_are_rejected(tmp_path: Path) -> None:
    """Two sources with one name would share post streams: rejected."""
    text = '[[sources]]\nname="a"\nkind="rss"\nurl="http://x"\n[[sources]]\nname="a"\nkind="atom"\nurl="http://y"\n'
    message = _error(tmp_path, text)
    assert "parley.toml:6: sources[2].name" in message
    assert "earlier source" in message


def test_bad_names_urls_and_factors_are_rejected(tmp_path: Path) -> None:
    """Names go into stream ids, URLs must be http(s), backoff factors cannot speed polling up."""
    assert "sources[1].name" in _error(
        tmp_path, '[[sources]]\nname="a b:c"\nkind="rss"\nurl="http://x"\n'
    )
    assert "sources[1].url" in _error(
        tmp_path, '[[sources]]\nname="a"\nkind="rss"\nurl="ftp://x"\n'
    )
    assert "defaults.quiet_factor" in _error(tmp_path, "[defaults]\nquiet_factor = 0.5\n")
    assert "http.max_bytes" in _error(tmp_path, "[http]\nmax_bytes = -1\n")
    assert "database.url" in _error(tmp_path, "[database]\nurl = 'parley.db'\n")


def test_missing_and_non_utf8_files_give_clear_errors(tmp_path: Path) -> None:
    """The file itself is named when it is missing or not text."""
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.toml", {})
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'[database]\nurl = "\xff"\n')
    with pytest.raises(ConfigError, match=r"bad.toml:2: config file is not UTF-8"):
        load_settings(bad, {})


def test_durations_accept_numbers_and_units() -> None:
    """90, "90s", "1m30s" and "1h" are durations; "soon" and true are not."""
    assert parse_duration(90) == 90.0
    assert parse_duration("90s") == 90.0
    assert parse_duration("1m30s") == 90.0
    assert parse_duration("1h") == 3600.0
    assert parse_duration("soon") is None
    assert parse_duration(True) is None


def test_example_config_in_the_repository_is_valid() -> None:
    """parley.example.toml, which the docs point to, loads without error."""
    s = load_settings(ROOT / "parley.example.toml", {})
    assert s.sources
    assert {src.kind for src in s.sources} >= {"liveblog", "rss"}


def test_empty_file_is_valid_and_has_no_sources() -> None:
    """An empty config is valid: no sources, defaults everywhere."""
    s = parse_settings("", path="empty.toml", env={})
    assert s.sources == ()
    assert s.database_url is None


def test_parse_workers_is_read_and_checked(tmp_path: Path) -> None:
    """[daemon] parse_workers is a small whole number; anything else names the key."""
    assert parse_settings("[daemon]\nparse_workers = 2\n", path="p.toml", env={}).parse_workers == 2
    assert "p.toml:2: daemon.parse_workers" in _error_text("[daemon]\nparse_workers = -1\n")


def _error_text(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_settings(text, path="p.toml", env={})
    return str(info.value)


def test_extract_workers_is_read_and_checked() -> None:
    """[daemon] extract_workers: unset keeps the default (None), else 0 to 64."""
    assert parse_settings("", path="p.toml", env={}).extract_workers is None
    text = "[daemon]\nextract_workers = 0\n"
    assert parse_settings(text, path="p.toml", env={}).extract_workers == 0
    assert "p.toml:2: daemon.extract_workers" in _error_text("[daemon]\nextract_workers = true\n")
    assert "from 0 to 64" in _error_text("[daemon]\nextract_workers = 65\n")


def test_rules_paths_are_resolved_against_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "desk").mkdir()
    (tmp_path / "desk" / "people.yaml").write_text("{}\n")
    (tmp_path / "rules").mkdir()
    text = '[rules]\nactors = ["desk/people.yaml"]\ndirs = "rules"\n'
    rules = load_settings(_write(tmp_path, text), {}).rules
    assert rules.actors == (str(tmp_path / "desk" / "people.yaml"),)
    assert rules.dirs == (str(tmp_path / "rules"),)
    assert parse_settings("", path="p.toml", env={}).rules.actors == ()


def test_rules_that_are_missing_or_malformed_name_the_key_and_line(tmp_path: Path) -> None:
    (tmp_path / "a-file.yaml").write_text("{}\n")
    missing = _error(tmp_path, '[log]\nlevel = "INFO"\n\n[rules]\nactors = ["nowhere.yaml"]\n')
    assert "parley.toml:5: rules.actors: 'nowhere.yaml' is not a file" in missing
    assert str(tmp_path / "nowhere.yaml") in missing
    not_a_dir = _error(tmp_path, '[rules]\ndirs = ["a-file.yaml"]\n')
    assert "parley.toml:2: rules.dirs: 'a-file.yaml' is not a folder" in not_a_dir
    assert "must be a path or a list of paths" in _error(tmp_path, "[rules]\nactors = 3\n")
    assert "rules.people: unknown key" in _error(tmp_path, '[rules]\npeople = "x.yaml"\n')
