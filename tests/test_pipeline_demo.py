"""`parley demo --until-done` end to end in a subprocess: the seed page's alerts on the console and in the mbox.

The demo serves the seed page in five formats to five sources, keeps the views as `parley run`
does, and sends their alerts to the console and to an mbox file. With a `--group-wait` longer
than the page takes, every alerted row is one alert per channel.
"""

from __future__ import annotations

import mailbox
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from monitor.views import PROJECTION
from store import open_store
from tests.views._seed import gold_views, view_mismatches

PARLEY = str(Path(sys.executable).parent / "parley")
CHANNELS = ("console", "mailbox")


def _trail(url: str) -> tuple[list[Any], list[Any], dict[str, list[dict[str, Any]]], int]:
    from monitor.views import read_views

    with open_store(url) as store:
        raised = [r.data for r in store.read(event_types=["AlertRaised"])]
        delivered = [r.data for r in store.read(event_types=["AlertDelivered"])]
        views = {name: v["rows"] for name, v in read_views(store).items()}
        assert store.checkpoint(PROJECTION)[0] == store.head().position  # views caught up
        pending = len(store.pending_outbox(10_000))
    return raised, delivered, views, pending


def _row(alert_key: str) -> tuple[str, str]:
    """(view, row key) of an alert key `<view>:<row key>:<change>:<version>`."""
    view, rest = alert_key.split(":", 1)
    return view, rest.rsplit(":", 2)[0]


def test_demo_until_done_prints_each_alert_once_and_the_mailbox_holds_them(
    sqlite_url: str, shared_dir: Path
) -> None:
    """Each alerted row is one alert per channel, printed and in the mbox; none twice, none pending."""
    args = ["demo", "--until-done", "--speed", "2000", "--group-wait", "20"]
    proc = subprocess.run(
        [PARLEY, "--db", sqlite_url, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    raised, delivered, views, pending = _trail(sqlite_url)
    assert pending == 0  # --until-done waits for the outbox to drain

    for channel in CHANNELS:
        mine = [d for d in delivered if d["channel"] == channel]
        keys = [d["alert_key"] for d in mine]
        assert len(keys) == len(set(keys)), channel  # no alert sent twice
        rows = [_row(k) for k in keys]
        assert len(rows) == len(set(rows)), channel  # one alert per row (grouped)
        messages = {r["message_key"] for r in raised if r["channel"] == channel}
        covered = {d["message_key"] for d in mine} | {c for d in mine for c in d["covers"]}
        assert covered == messages, channel  # every raised message went out in some alert

    console = [d for d in delivered if d["channel"] == "console"]
    box = [d for d in delivered if d["channel"] == "mailbox"]
    assert sorted(d["alert_key"] for d in console) == sorted(d["alert_key"] for d in box)
    # Exactly one alert per agreed exchange and per demand status change of the seed's gold (two
    # exchanges, Ukraine's ceasefire demand rejected by Russia): 3 on each channel, whatever the
    # order the five sources were polled in and however the views batched them.
    gold = gold_views(shared_dir)
    settled = [d for d in gold["open_demands"] if d.get("rejected_by") or d.get("met_by")]
    expected = len(gold["agreed_exchanges"]) + len(settled)
    assert expected == 3
    assert len(console) == len(box) == expected
    alerted = {_row(d["alert_key"]) for d in console}
    exchanges = {("agreed_exchanges", str(r["key"])) for r in views["agreed_exchanges"]}
    demands = {("open_demands", f"{d['actor']}|{d['topic']}|*") for d in settled}
    assert alerted == exchanges | demands
    # the views the alerts describe are the gold's rows, read from five sources at once
    assert view_mismatches({v: {"rows": rows} for v, rows in views.items()}, gold) == []

    # The console printed one panel per alert, headlines as sent; the summary counts them.
    headlines = [m.group(1).strip() for m in re.finditer(r"╭─+ (.+?) ─+╮", out)]
    assert len(headlines) == len(console)
    for channel, n in Counter(d["channel"] for d in delivered).items():
        messages = sum(1 for r in raised if r["channel"] == channel)
        assert re.search(rf"│ {channel}\s+│ {messages}\s+│ {messages}\s+│ {n}\s+│ 0\s+│ 0\s+│", out)

    path = Path(re.search(r"alerts mailbox: (\S+)", out).group(1))  # type: ignore[union-attr]
    mbox = mailbox.mbox(path)
    try:
        mails = list(mbox)
    finally:
        mbox.close()
    assert len(mails) == len(box)
    assert len({m["Message-ID"] for m in mails}) == len(mails)
    subjects = sorted(
        str(m["Subject"]).removeprefix("Re: ").removeprefix("[Parley] ") for m in mails
    )
    assert len(subjects) == len(headlines)
