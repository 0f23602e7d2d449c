"""Exactly once across SIGKILL: real worker processes killed at the worst moments, then restarted."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from alerts.outbox import message_for
from store import open_store
from tests.alerts.samples import alert
from tests.alerts.servers import Receiver, http_receiver
from tests.views._seed import new_events, published, seed_posts

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.alerts.crash_worker", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _enqueue(url: str, n: int) -> list[str]:
    store: Any = open_store(url)
    alerts = [alert(key=f"row{i}:new:v1", row_key=f"row{i}") for i in range(n)]
    store.commit_projection(
        "views",
        position=0,
        state=None,
        changes=[],
        outbox=[message_for(a, "hook") for a in alerts],
        expected_position=0,
    )
    store.close()
    return [a.key for a in alerts]


def _received(rx: Receiver) -> Counter[str]:
    return Counter(r.headers["x-parley-alert-key"] for r in rx.requests)


def _statuses(url: str, keys: list[str]) -> set[str]:
    store: Any = open_store(url)
    try:
        return {store.outbox_entry(f"{k}@hook").status for k in keys}
    finally:
        store.close()


@pytest.mark.parametrize("step", ["after_raised", "after_delivered"])
def test_worker_killed_before_sending_or_after_recording_sends_each_alert_once(
    db_url: str, step: str
) -> None:
    """SIGKILL after AlertRaised or after AlertDelivered: the restarted worker loses nothing and sends nothing twice."""
    keys = _enqueue(db_url, 4)
    with http_receiver() as rx:
        killed = _run("deliver", db_url, rx.url(), step, "2")
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        done = _run("deliver", db_url, rx.url())
        assert done.returncode == 0, done.stderr
    assert _received(rx) == Counter(dict.fromkeys(keys, 1))
    assert _statuses(db_url, keys) == {"delivered"}


def test_worker_killed_between_send_and_record_resends_only_that_alert(sqlite_url: str) -> None:
    """The documented window: killed after the receiver accepted, before AlertDelivered, that one alert goes twice."""
    keys = _enqueue(sqlite_url, 4)
    with http_receiver() as rx:
        killed = _run("deliver", sqlite_url, rx.url(), "after_send", "2")
        assert killed.returncode == -signal.SIGKILL
        assert _run("deliver", sqlite_url, rx.url()).returncode == 0
    received = _received(rx)
    assert sorted(received.values()) == [1, 1, 1, 2]
    assert received[keys[1]] == 2  # the second alert, in flight when the process died
    assert _statuses(sqlite_url, keys) == {"delivered"}


def test_views_runner_killed_between_commits_loses_no_alert_and_repeats_none(
    sqlite_url: str, tmp_path: Path, shared_dir: Path
) -> None:
    """Killing the projection after each of several commits, then finishing, gives the same outbox as one clean run."""
    clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
    events = new_events(published(p) for p in seed_posts(shared_dir))
    for url in (sqlite_url, clean_url):
        store: Any = open_store(url)
        store.append(events)
        store.close()
    assert _run("project", clean_url).returncode == 0
    for kill_after in (3, 5):  # each run dies after committing a few more batches
        proc = _run("project", sqlite_url, str(kill_after))
        assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert _run("project", sqlite_url).returncode == 0

    def outbox(url: str) -> list[str]:
        s: Any = open_store(url)
        try:
            return sorted(e.key for e in s.pending_outbox(1000))
        finally:
            s.close()

    assert outbox(sqlite_url) == outbox(clean_url)
    assert len(outbox(clean_url)) == 5
