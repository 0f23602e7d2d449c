"""`parley verify` and `parley log` through the real command line app."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from monitor.cli import app
from store import NewEvent, open_store
from tests.store._helpers import drop_guards, event, raw_sql

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _seed(url: str) -> None:
    with open_store(url) as store:
        store.append([event(1, stream="a"), event(2, stream="b"), event(3, stream="a")])
        store.append(
            [
                NewEvent(
                    stream_id="post:[red]x",
                    event_type="Marked",
                    data={"text": "[bold]boo[/bold]\x1b[2J"},
                    idempotency_key="m",
                )
            ]
        )


def test_verify_prints_head_position_and_hash(db_url: str) -> None:
    """On an intact log, verify exits 0 and prints the head digest."""
    _seed(db_url)
    with open_store(db_url) as store:
        head = store.head()
    result = runner.invoke(app, ["--db", db_url, "verify"])
    assert result.exit_code == 0, result.output
    assert f"head position: {head.position}" in result.output
    assert f"head hash: {head.hash}" in result.output
    ok = runner.invoke(app, ["--db", db_url, "verify", "--expect", f"{head.position}:{head.hash}"])
    assert ok.exit_code == 0
    assert "expected digest holds" in ok.output


def test_verify_exits_non_zero_naming_the_first_bad_position(db_url: str) -> None:
    """After a forced edit, verify fails and names the edited position."""
    _seed(db_url)
    drop_guards(db_url)
    raw_sql(db_url, "UPDATE events SET data = '{\"n\":20}' WHERE position = 2")
    result = runner.invoke(app, ["--db", db_url, "verify"])
    assert result.exit_code == 2
    assert "first bad position: 2" in result.output


def test_verify_rejects_a_malformed_expectation(sqlite_url: str) -> None:
    """--expect must be POSITION:HASH with 64 hex characters."""
    result = runner.invoke(app, ["--db", sqlite_url, "verify", "--expect", "3:abc"])
    assert result.exit_code == 2
    assert "POSITION:HASH" in result.output


def test_log_json_lines_filter_by_stream_type_and_position(db_url: str) -> None:
    """--json prints one object per event; --stream, --type, --from and --limit filter."""
    _seed(db_url)
    result = runner.invoke(app, ["--db", db_url, "log", "--json"])
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["position"] for line in lines] == [1, 2, 3, 4]
    assert lines[0]["data"] == {"n": 1}
    by_stream = runner.invoke(
        app, ["--db", db_url, "log", "--json", "--stream", "a", "--from", "2"]
    )
    assert [json.loads(x)["position"] for x in by_stream.output.splitlines()] == [3]
    by_type = runner.invoke(app, ["--db", db_url, "log", "--json", "--type", "Marked"])
    assert [json.loads(x)["position"] for x in by_type.output.splitlines()] == [4]
    limited = runner.invoke(app, ["--db", db_url, "log", "--json", "--limit", "2", "--from", "2"])
    assert [json.loads(x)["position"] for x in limited.output.splitlines()] == [2, 3]


def test_log_table_shows_post_text_escaped(sqlite_url: str) -> None:
    """Markup and control characters from a post are printed as plain text, never interpreted."""
    _seed(sqlite_url)
    result = runner.invoke(app, ["--db", sqlite_url, "log"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    assert "[bold]boo[/bold]" in result.output
    assert "post:[red]x" in result.output
    assert "\x1b" not in result.output


def test_cli_reports_an_unreachable_database_in_one_line() -> None:
    """A store error becomes one 'parley: error:' line with the masked URL and exit code 1."""
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from monitor.cli import main; main()",
            "--db",
            "postgresql://u:pw@127.0.0.1:1/x",
            "log",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("parley: error: postgresql://u:***@127.0.0.1:1/x")
    assert "pw@" not in proc.stderr
    assert "Traceback" not in proc.stderr
