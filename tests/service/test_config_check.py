"""`parley config check FILE`: every error with its line, exit 1; a summary and exit 0 when fine.

Most cases call `check_text` directly (fast); the command itself runs in a subprocess, as an
operator (or systemd's ExecStartPre) would run it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.config_check import check_file, check_text

PARLEY = str(Path(sys.executable).parent / "parley")
ROOT = Path(__file__).resolve().parents[2]

BROKEN = """\
[database]
url = "mysql://db/parley"

[http]
max_bytes = -3

[defaults]
interval = "often"

[[sources]]
name = "fine"
kind = "rss"
url = "http://127.0.0.1/feed"

[[sources]]
name = "odd"
kind = "gopher"
url = "http://127.0.0.1/odd"
jitter = "a bit"

[[sources]]
kind = "rss"
url = "http://127.0.0.1/nameless"

[[sources]]
name = "fine"
kind = "atom"
url = "http://127.0.0.1/again"

[alerts.channels.desk]
type = "slack"
webhook_url_env = "PARLEY_CHECK_TEST_UNSET"

[alerts.channels.pager]
type = "carrier-pigeon"

[[alerts.rules]]
name = "ok"
channels = ["desk"]

[[alerts.rules]]
changes = ["nwe"]
channels = ["nowhere"]
"""

EXPECTED = [
    ("cfg.toml:2:", "database.url", "unsupported backend"),
    ("cfg.toml:5:", "http.max_bytes", "whole number >= 1"),
    ("cfg.toml:8:", "defaults.interval", "'often'"),
    ("cfg.toml:17:", "sources[2].kind", "'gopher'"),
    ("cfg.toml:19:", "sources[2].jitter", "'a bit'"),
    ("cfg.toml:21:", "sources[3].name", "is required"),
    ("cfg.toml:26:", "sources[4].name", "used by an earlier source"),
    (
        "cfg.toml:32:",
        "alerts channel 'desk'",
        "PARLEY_CHECK_TEST_UNSET (webhook_url_env) is not set",
    ),
    ("cfg.toml:35:", "alerts channel 'pager'", "'carrier-pigeon'"),
    ("cfg.toml:42:", "alerts.rules[1].changes", "unknown change 'nwe'"),
    ("cfg.toml:43:", "alerts.rules[1].channels", "'nowhere'"),
]


def test_every_error_of_a_broken_file_is_reported_with_its_line() -> None:
    """Eleven mistakes in every section: eleven errors, each at the line of its key."""
    report = check_text(BROKEN, path="cfg.toml", env={})
    errors = report.sorted_errors()
    assert len(errors) == len(EXPECTED), "\n".join(errors)
    for line, (where, key, what) in zip(errors, EXPECTED, strict=True):
        assert line.startswith(f"{where} {key}"), line
        assert what in line, line
    assert report.settings is None


def test_bad_toml_is_one_error_at_its_line_and_column() -> None:
    """A syntax error: the reader stops there, so one error, with line and column, saying so."""
    report = check_text('[http]\nmax_bytes = 3\nuser_agent = = "x"\n', path="cfg.toml", env={})
    assert len(report.errors) == 1
    assert report.errors[0].startswith("cfg.toml:3:14: not valid TOML")
    assert "stops at its first error" in report.errors[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[[sources]]\nname = "a"\nkind = "usenet"\nurl = "http://h/"\n',
            "cfg.toml:3: sources[1].kind",
        ),
        ('[defaults]\njitter = 1\nquiet_max = "5 min"\n', "cfg.toml:3: defaults.quiet_max"),
        ('[service]\nlisten = "everywhere"\n', "cfg.toml:2: service.listen"),
        ("[servce]\nlisten = 1\n", "cfg.toml:1: servce: unknown section"),
        ('[alerts]\ngroup_wait = "10s"\nretry_base = "now"\n', "cfg.toml:3: alerts.retry_base"),
        (
            '[alerts.slack]\nwebhook_url = "https://hooks.example/T/B/secretvalue"\n',
            "cfg.toml:2: alerts channel 'slack': webhook_url must not be written",
        ),
    ],
)
def test_one_mistake_is_named_at_its_line(text: str, expected: str) -> None:
    """Unknown kind, bad durations, a bad address, an unknown section, a literal secret."""
    report = check_text(text, path="cfg.toml", env={})
    assert len(report.errors) == 1, report.errors
    assert report.errors[0].startswith(expected), report.errors[0]


def test_a_secret_file_that_is_missing_is_named_and_a_secret_is_never_printed(
    tmp_path: Path,
) -> None:
    """A missing secret file names the file; a secret given in the environment never appears."""
    secret = "https://hooks.example/T0001/B0001/verysecrettoken"
    text = (
        '[alerts.channels.desk]\ntype = "slack"\nwebhook_url_env = "PARLEY_CHECK_HOOK"\n\n'
        '[alerts.channels.mail]\ntype = "email"\nhost = "127.0.0.1"\nfrom = "p@x"\n'
        f'to = "d@x"\nusername = "u"\npassword_file = "{tmp_path / "missing"}"\n'
    )
    report = check_text(text, path="cfg.toml", env={"PARLEY_CHECK_HOOK": secret})
    assert len(report.errors) == 1, report.errors
    assert report.errors[0].startswith(
        "cfg.toml:11: alerts channel 'mail': cannot read password_file"
    )
    assert secret not in repr(report)


def test_the_example_config_is_fine() -> None:
    """parley.example.toml (which the docs point to) checks clean."""
    report = check_file(ROOT / "parley.example.toml", {})
    assert report.errors == []
    assert report.settings is not None


def _check(path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PARLEY, "config", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **env},
    )


def test_the_command_prints_every_error_and_exits_1(tmp_path: Path) -> None:
    """The command lists each error on stderr, in line order, then the count; exit 1."""
    path = tmp_path / "cfg.toml"
    path.write_text(BROKEN)
    proc = _check(path, {})
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == len(EXPECTED) + 1, proc.stderr
    assert lines[0].startswith(f"{path}:2: database.url")
    assert lines[-1] == f"{path}: {len(EXPECTED)} errors"
    assert proc.stdout == ""


def test_the_command_summarises_a_good_file_and_exits_0(tmp_path: Path) -> None:
    """A good file: a short summary, the database password masked, the secret not shown; exit 0."""
    secret = "https://hooks.example/T0002/B0002/anothersecrettoken"
    path = tmp_path / "cfg.toml"
    path.write_text(
        '[database]\nurl = "postgresql://parley:hunter2@127.0.0.1/parley"\n\n'
        '[service]\nlisten = "127.0.0.1:9200"\n\n'
        '[[sources]]\nname = "live"\nkind = "liveblog"\nurl = "http://127.0.0.1:8800/live"\n\n'
        '[alerts.channels.desk]\ntype = "slack"\nwebhook_url_env = "PARLEY_CHECK_HOOK"\n'
    )
    proc = _check(path, {"PARLEY_CHECK_HOOK": secret})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == f"{path}: ok"
    assert "postgresql://parley:***@127.0.0.1/parley (not contacted)" in proc.stdout
    assert "desk (slack)" in proc.stdout
    assert "http://127.0.0.1:9200" in proc.stdout
    assert "hunter2" not in proc.stdout + proc.stderr
    assert secret not in proc.stdout + proc.stderr


def test_the_command_names_a_missing_file(tmp_path: Path) -> None:
    """No such file: one line naming it; exit 1."""
    proc = _check(tmp_path / "nope.toml", {})
    assert proc.returncode == 1
    assert f"{tmp_path / 'nope.toml'}: config file not found" in proc.stderr


def test_a_rules_file_that_does_not_load_is_reported_with_its_yaml_line(tmp_path: Path) -> None:
    """`[rules]` files are loaded as the daemon's views would load them: a broken actor file is
    named with its own line, and a good one passes."""
    (tmp_path / "actors.yaml").write_text("ZLF:\n  name: Zorvan\n  alias: [Zorvan]\n")
    config = tmp_path / "parley.toml"
    config.write_text('[rules]\nactors = ["actors.yaml"]\n')
    report = check_file(config, {})
    assert len(report.errors) == 1, report.errors
    assert "actors.yaml line 3" in report.errors[0]
    assert "unknown key 'alias'" in report.errors[0]
    (tmp_path / "actors.yaml").write_text("ZLF:\n  name: Zorvan\n  aliases: [Zorvan]\n")
    assert check_file(config, {}).errors == []
