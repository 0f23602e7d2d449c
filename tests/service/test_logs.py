"""Log lines are JSON with `source`, `post` and `position` bound where they apply.

Real parts: the simulator on 127.0.0.1, a SQLite log, the real poller and delivery worker, and
the process's own logging set-up (`configure_logging`) writing JSON lines into a buffer.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import structlog

from alerts.channels.mailbox import from_config as mailbox_channel
from alerts.delivery import DeliveryWorker
from alerts.model import Alert
from alerts.outbox import message_for
from monitor.config import SourceConfig
from monitor.fetch import Fetcher
from monitor.log_setup import configure_logging
from monitor.poller import Poller, load_knowledge
from monitor.simulator import Simulator, bundled_page_path, load_page
from monitor.sources import KINDS
from store import open_store


@contextmanager
def process_logging() -> Iterator[None]:
    """Let a test call `configure_logging`; structlog and the root logger are put back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        structlog.reset_defaults()
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The process's JSON log, at DEBUG, written into a buffer."""
    buffer = io.StringIO()
    with process_logging():
        configure_logging("json", "DEBUG", stream=buffer)
        yield buffer


def lines(buffer: io.StringIO, event: str) -> list[dict[str, Any]]:
    """The structlog JSON lines of `event` (the standard library's lines are plain text)."""
    text = buffer.getvalue().splitlines()
    out = [json.loads(line) for line in text if line.startswith("{")]
    return [e for e in out if e.get("event") == event]


def test_a_poll_logs_each_post_with_its_source_and_log_position(
    json_log: io.StringIO, sqlite_url: str
) -> None:
    """post_recorded: source, post and the position the log gave it; the fetcher's line has the source."""
    sim = Simulator(load_page(bundled_page_path()), speed=1e9)  # the whole page at once
    with sim.serve("127.0.0.1", 0) as server:
        store = open_store(sqlite_url)
        executor = ThreadPoolExecutor(max_workers=1)
        fetcher = Fetcher()
        poller = Poller(
            store=store,
            fetcher=fetcher,
            kinds=KINDS,
            executor=executor,
            knowledge=load_knowledge(store),
        )
        live = SourceConfig(name="live", kind="liveblog", url=server.urls()["liveblog"])
        broken = SourceConfig(name="broken", kind="rss", url=f"{server.url}/fault/malformed")

        async def main() -> None:
            try:
                assert (await poller.poll(live)).new_posts > 0
                assert not (await poller.poll(broken)).ok
            finally:
                await fetcher.aclose()

        try:
            asyncio.run(main())
            stored = {
                r.stream_id.split(":", 2)[2]: r.position
                for r in store.read(event_types=["PostPublished"])
            }
        finally:
            executor.shutdown(wait=True)
            store.close()
    recorded = lines(json_log, "post_recorded")
    assert len(recorded) == len(stored) > 0
    for line in recorded:
        assert line["source"] == "live"
        assert line["type"] == "PostPublished"
        assert line["position"] == stored[line["post"]]
        assert line["level"] == "info"
    polled = lines(json_log, "source_polled")
    assert [p["source"] for p in polled] == ["live"]
    fetched = lines(json_log, "fetched")
    assert fetched
    for f in fetched:  # bound for the poll: the fetcher itself knows only the URL
        assert f["source"] == ("broken" if "/fault/" in f["url"] else "live"), f
    failed = lines(json_log, "source_failed")
    assert len(failed) == 1
    assert failed[0]["source"] == "broken"
    assert "malformed" in failed[0]["reason"]


def test_a_delivered_alert_logs_its_channel_row_and_post(
    json_log: io.StringIO, sqlite_url: str, tmp_path: Path
) -> None:
    """alert_delivered: the channel, the message key, the view row and the post's URL."""
    from datetime import UTC, datetime

    alert = Alert(
        key="agreed_exchanges:bodies_return|RUS+UKR:new:1",
        view="agreed_exchanges",
        row_key="bodies_return|RUS+UKR|demo-rss|post-12",
        change="new",
        title="Bodies return: RUS & UKR",
        post_url="http://127.0.0.1/liveblog.html#post-12",
        occurred_at=datetime(2025, 6, 2, 14, 56, tzinfo=UTC),
    )
    store = open_store(sqlite_url)
    try:
        store.commit_projection(
            "views",
            position=0,
            state=None,
            changes=[],
            outbox=[message_for(alert, "box")],
            expected_position=0,
        )
        box = mailbox_channel("box", {"path": str(tmp_path / "alerts.mbox")}, {})
        worker = DeliveryWorker(outbox=store, channels={"box": box})
        assert asyncio.run(worker.run_once()).delivered == 1
    finally:
        store.close()
    (line,) = lines(json_log, "alert_delivered")
    assert line["channel"] == "box"
    assert line["row"] == "agreed_exchanges:bodies_return|RUS+UKR|demo-rss|post-12"
    assert line["post_url"] == "http://127.0.0.1/liveblog.html#post-12"
    assert line["key"]


def test_post_text_in_a_console_log_line_cannot_drive_the_terminal() -> None:
    """ESC and bidi overrides in a value are shown escaped on the console; JSON escapes them too."""
    hostile = "post-1\x1b[2J\x1b]0;pwned\x07\u202etxt.exe"
    console = io.StringIO()
    json_out = io.StringIO()
    with process_logging():
        configure_logging("console", "INFO", stream=console)
        structlog.get_logger().info("post_recorded", post=hostile)
        configure_logging("json", "INFO", stream=json_out)
        structlog.get_logger().info("post_recorded", post=hostile)
    shown = console.getvalue()
    assert "\x1b" not in shown
    assert "\x07" not in shown
    assert "\u202e" not in shown
    assert "post-1\\x1b[2J\\x1b]0;pwned\\x07\\u202etxt.exe" in shown
    assert json.loads(json_out.getvalue())["post"] == hostile
    assert "\x1b" not in json_out.getvalue()
