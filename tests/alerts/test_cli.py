"""`parley alerts test|list|retry`, run as real processes; secrets never appear in their output."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from alerts.channels.webhook import WebhookChannel, verify_signature
from alerts.delivery import DeliveryWorker
from alerts.outbox import message_for
from alerts.secrets import Secret
from store import open_store
from tests.alerts.samples import alert
from tests.alerts.servers import Answer, Receiver, http_receiver
from tests.alerts.slack_rules import slack_problems

PARLEY = str(Path(sys.executable).parent / "parley")
TOKEN = "T000-B000-SUPERSECRET"
SIGNING = "whsec-SIGNING-SECRET"


def parley(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PARLEY_LOG_FORMAT": "json", **(env or {})}
    return subprocess.run(
        [PARLEY, *args], capture_output=True, text=True, env=full_env, timeout=60, check=False
    )


@pytest.fixture
def rx() -> Any:
    with http_receiver() as receiver:
        yield receiver


def _config(tmp_path: Path, rx: Receiver) -> Path:
    path = tmp_path / "parley.toml"
    path.write_text(
        f"""
[alerts.channels.desk-slack]
type = "slack"
webhook_url_env = "DESK_SLACK_URL"

[alerts.channels.ops-hook]
type = "webhook"
url = "{rx.url("/ops")}"
secret_file = "{tmp_path / "signing"}"
"""
    )
    (tmp_path / "signing").write_text(SIGNING + "\n")
    return path


def test_alerts_test_sends_through_slack_and_never_prints_the_url(
    tmp_path: Path, rx: Receiver
) -> None:
    """The test alert reaches the Slack receiver as a valid, escaped payload; output names the answer only."""
    url = rx.url(f"/services/{TOKEN}")
    proc = parley(
        "alerts",
        "test",
        "desk-slack",
        "--config",
        str(_config(tmp_path, rx)),
        env={"DESK_SLACK_URL": url},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "sent a test alert through desk-slack: 200 ok"
    assert TOKEN not in proc.stdout + proc.stderr
    payload = rx.requests[0].json()
    assert slack_problems(payload) == []
    assert "&lt;markup&gt; &amp;" in str(payload)


def test_alerts_test_signs_webhooks_with_the_secret_from_a_file(
    tmp_path: Path, rx: Receiver
) -> None:
    """The webhook test is signed with the key read from secret_file, which is never printed."""
    proc = parley("alerts", "test", "ops-hook", "--config", str(_config(tmp_path, rx)))
    assert proc.returncode == 0, proc.stderr
    req = rx.requests[0]
    assert verify_signature(SIGNING, req.headers["x-parley-signature"], req.body, now=time.time())
    assert SIGNING not in proc.stdout + proc.stderr


def test_refused_test_alert_is_one_error_line_without_secrets(tmp_path: Path, rx: Receiver) -> None:
    """A channel that answers 404 exits 1 with one line naming the channel and answer, not the URL."""
    rx.script.append(Answer(status=404, body=f"no_service for /services/{TOKEN}"))
    url = rx.url(f"/services/{TOKEN}")
    proc = parley(
        "alerts",
        "test",
        "desk-slack",
        "--config",
        str(_config(tmp_path, rx)),
        env={"DESK_SLACK_URL": url},
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("parley: error: slack channel desk-slack: HTTP 404")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert TOKEN not in proc.stdout + proc.stderr


def test_unknown_channel_and_missing_secret_are_named(tmp_path: Path, rx: Receiver) -> None:
    """An unknown channel lists the configured ones; an unset variable is named, with no traceback."""
    config = str(_config(tmp_path, rx))
    unknown = parley("alerts", "test", "nope", "--config", config)
    assert unknown.returncode == 1
    assert "no alerts channel named 'nope' (configured: desk-slack, ops-hook)" in unknown.stderr
    missing_env = {k: v for k, v in os.environ.items() if k != "DESK_SLACK_URL"}
    missing = subprocess.run(
        [PARLEY, "alerts", "test", "desk-slack", "--config", config],
        capture_output=True,
        text=True,
        env=missing_env,
        check=False,
    )
    assert missing.returncode == 1
    assert "environment variable DESK_SLACK_URL (webhook_url_env) is not set" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_list_shows_the_trail_and_retry_requeues_a_failed_alert(
    sqlite_url: str, rx: Receiver
) -> None:
    """A failed alert is listed as failed; retry makes it pending; a delivered one cannot be retried."""
    store: Any = open_store(sqlite_url)
    bad = alert(title="<b>[red]Deal[/red]</b>")
    good = alert(key="other:new:1", row_key="other")
    store.commit_projection(
        "v",
        position=0,
        state=None,
        changes=[],
        outbox=[message_for(bad, "hook"), message_for(good, "hook")],
        expected_position=0,
    )
    rx.script += [Answer(status=400, body="bad"), Answer(status=200, body="ok")]
    hook = WebhookChannel(name="hook", url=Secret(rx.url(f"/in/{TOKEN}")), secret=Secret(SIGNING))
    asyncio.run(DeliveryWorker(outbox=store, channels={"hook": hook}).run_once())
    store.close()

    failed = parley("--db", sqlite_url, "alerts", "list", "--status", "failed", "--json")
    assert failed.returncode == 0, failed.stderr
    [line] = failed.stdout.splitlines()
    assert f'"id": "{bad.key}@hook"' in line
    assert '"status": "failed"' in line
    retried = parley("--db", sqlite_url, "alerts", "retry", f"{bad.key}@hook")
    assert retried.returncode == 0, retried.stderr
    table = parley("--db", sqlite_url, "alerts", "list")
    assert f"pending   {bad.key}@hook" in table.stdout  # re-queued
    assert f"delivered {good.key}@hook" in table.stdout
    assert "[red]Deal[/red]" in table.stdout  # post text printed literally, not as markup
    assert TOKEN not in failed.stdout + table.stdout + table.stderr
    again = parley("--db", sqlite_url, "alerts", "retry", f"{good.key}@hook")
    assert again.returncode == 1
    assert "already delivered" in again.stderr
    unknown = parley("--db", sqlite_url, "alerts", "retry", "no-such-alert")
    assert unknown.returncode == 1
    assert "no-such-alert" in unknown.stderr
