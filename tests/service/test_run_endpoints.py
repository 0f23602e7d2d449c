"""`parley run` in a real subprocess against the simulator: its endpoints over real HTTP.

The daemon polls the seed page (and one source that always fails) on 127.0.0.1, raises alerts
into a mailbox file, and serves /healthz, /readyz and /metrics on a port it picks itself (port
0; the test reads it from the `endpoints_listening` JSON log line). /metrics is parsed with
prometheus_client's own parser.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitor.simulator import RunningServer, Simulator, bundled_page_path, load_page
from tests.service._helpers import log_lines, scrape, value, wait_for

PARLEY = str(Path(sys.executable).parent / "parley")
SPEED = 3000.0  # the seed page's 4.5 hours in about 5 seconds


@pytest.fixture
def sim() -> Iterator[tuple[Simulator, RunningServer]]:
    simulator = Simulator(load_page(bundled_page_path()), speed=SPEED)
    server = simulator.serve("127.0.0.1", 0)
    try:
        yield simulator, server
    finally:
        server.stop()


class Daemon:
    """`parley --log-format json run` in a subprocess, its log in a file."""

    def __init__(self, config: Path, log: Path, *args: str) -> None:
        self.log = log
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                [PARLEY, "--log-format", "json", "run", "--config", str(config), *args],
                stdout=out,
                stderr=out,
                env=dict(os.environ),
            )

    def output(self) -> str:
        return self.log.read_text()

    def line(self, event: str) -> dict[str, object] | None:
        if self.proc.poll() is not None:
            pytest.fail(f"parley run exited ({self.proc.returncode}):\n{self.output()}")
        return next((e for e in log_lines(self.log) if e.get("event") == event), None)

    def base(self) -> str:
        listening = wait_for(lambda: self.line("endpoints_listening"), "the endpoints", self.output)
        return str(listening["url"])

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def write_config(tmp_path: Path, server: RunningServer, *, listen: str = "127.0.0.1:0") -> Path:
    config = tmp_path / "parley.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "parley.db"}"\n\n'
        f'[service]\nlisten = "{listen}"\nmax_lag = 1000\n\n'
        "[defaults]\ninterval = 0.3\njitter = 0.05\nerror_max = 1\n\n"
        f'[[sources]]\nname = "sim-live"\nkind = "liveblog"\nurl = "{server.urls()["liveblog"]}"\n\n'
        f'[[sources]]\nname = "sim-broken"\nkind = "rss"\nurl = "{server.url}/fault/malformed"\n\n'
        "[alerts]\ngroup_wait = 0\n\n"
        f'[alerts.channels.box]\ntype = "mailbox"\npath = "{tmp_path / "alerts.mbox"}"\n'
    )
    return config


def test_run_serves_health_readiness_and_metrics_over_http(
    tmp_path: Path, sim: tuple[Simulator, RunningServer]
) -> None:
    """Polls, failures, success age, events, lag and alerts are scraped from a running daemon."""
    simulator, server = sim
    daemon = Daemon(write_config(tmp_path, server), tmp_path / "run.log")
    try:
        base = daemon.base()
        assert base.startswith("http://127.0.0.1:")
        health = httpx.get(f"{base}/healthz", timeout=30)
        assert health.status_code == 200
        assert health.json() == {"status": "alive"}
        posts = simulator.status()["total"]

        def settled() -> object:
            m = scrape(base)
            published = value(m, "parley_events_appended_total", type="PostPublished") or 0
            delivered = value(m, "parley_alerts_delivered_total", channel="box") or 0
            lag = value(m, "parley_projector_lag_events", projector="negotiation")
            return m if published >= posts and delivered >= 2 and lag == 0 else None

        m = wait_for(settled, "every post, caught-up views and delivered alerts", daemon.output)
        ready = httpx.get(f"{base}/readyz", timeout=30)
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ready"
        assert set(ready.json()["checks"]) == {"database", "scheduler", "projectors"}
        assert daemon.stop() == 0, daemon.output()
    finally:
        daemon.close()

    polls_ok = value(m, "parley_polls_total", source="sim-live")
    polls_bad = value(m, "parley_polls_total", source="sim-broken")
    assert polls_ok is not None
    assert polls_ok >= 1
    assert polls_bad is not None
    assert polls_bad >= 1
    assert value(m, "parley_poll_failures_total", source="sim-live") == 0
    assert value(m, "parley_poll_failures_total", source="sim-broken") == polls_bad
    assert value(m, "parley_source_last_success_timestamp_seconds", source="sim-live")
    assert value(m, "parley_source_last_success_timestamp_seconds", source="sim-broken") is None
    age = value(m, "parley_source_last_success_age_seconds", source="sim-live")
    assert age is not None
    assert age >= 0
    assert value(m, "parley_source_last_success_age_seconds", source="sim-broken") is not None
    assert value(m, "parley_events_appended_total", type="SourceAdded") == 2
    assert value(m, "parley_database_up") == 1
    assert value(m, "parley_scheduler_running") == 1
    head = value(m, "parley_log_head_position")
    assert head is not None
    assert head >= 2 + posts
    raised = value(m, "parley_alerts_raised_total", channel="box")
    delivered = value(m, "parley_alerts_delivered_total", channel="box")
    assert raised is not None
    assert delivered is not None
    assert delivered >= 2
    assert value(m, "parley_alerts_failed_total", channel="box") == 0
    # every delivered message had its latency observed once, in the histogram
    assert value(m, "parley_alert_delivery_latency_seconds_count", channel="box") == delivered
    assert value(m, "parley_alert_delivery_latency_seconds_bucket", channel="box", le="+Inf") == (
        delivered
    )
    polls = value(m, "parley_poll_duration_seconds_count")
    assert polls is not None
    assert polls >= 2  # one histogram for every source's polls


def _busy_port() -> tuple[socket.socket, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock, sock.getsockname()[1]


def test_run_stops_with_one_line_when_the_listen_address_is_taken(
    tmp_path: Path, sim: tuple[Simulator, RunningServer]
) -> None:
    """An address asked for with --listen that is in use: exit 1 naming it, before any poll."""
    _, server = sim
    sock, port = _busy_port()
    try:
        proc = subprocess.run(
            [
                PARLEY,
                "run",
                "--config",
                str(write_config(tmp_path, server)),
                "--listen",
                f"127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        sock.close()
    assert proc.returncode == 1, proc.stderr
    assert f"parley: error: cannot listen on http://127.0.0.1:{port}" in proc.stderr
    assert "source_polled" not in proc.stderr


def test_run_rejects_a_malformed_listen_option(
    tmp_path: Path, sim: tuple[Simulator, RunningServer]
) -> None:
    """--listen that is not HOST:PORT or off is a usage error naming the option."""
    _, server = sim
    proc = subprocess.run(
        [PARLEY, "run", "--config", str(write_config(tmp_path, server)), "--listen", "nowhere"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "--listen" in proc.stderr
    assert "HOST:PORT" in proc.stderr
