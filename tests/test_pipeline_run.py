"""`parley run` with views and alerts wired in: real processes, a real simulator, a real webhook receiver.

The daemon polls the seed page served by the simulator on 127.0.0.1; its views raise alerts in the
same transaction as each view change; its delivery worker posts them to a webhook receiver on
127.0.0.1 that counts what it accepted by `X-Parley-Alert-Key`. Killed with SIGKILL at bad
moments and restarted, the daemon never re-sends a delivered alert and never loses a raised one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from alerts.channels.webhook import verify_signature
from monitor.simulator import RunningServer, Simulator, bundled_page_path, load_page
from monitor.views import PROJECTION
from store import open_store

PARLEY = str(Path(sys.executable).parent / "parley")
SECRET = "pipeline-test-signing-key"
SPEED = 3000.0  # the seed page's 4.5 hours in about 5 seconds
DEADLINE = 120.0  # generous: the machine is shared; conditions are waited on, never slept on


@dataclass
class Hook:
    """A webhook receiver on 127.0.0.1: accepts signed alerts (200) and counts them by alert key.

    With `hold` set, the next request is held (not answered) until `release` is set, then
    answered 500: a delivery in flight when the daemon is killed, which the daemon never saw
    accepted.
    """

    port: int = 0
    accepted: Counter[str] = field(default_factory=Counter)
    post_urls: set[str] = field(default_factory=set)
    held: list[str] = field(default_factory=list)
    bad_signatures: int = 0
    hold: threading.Event = field(default_factory=threading.Event)
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def total(self) -> int:
        with self.lock:
            return sum(self.accepted.values())


@contextmanager
def webhook_receiver() -> Iterator[Hook]:
    hook = Hook()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            key = self.headers.get("X-Parley-Alert-Key", "")
            signed = verify_signature(
                SECRET, self.headers.get("X-Parley-Signature", ""), body, now=time.time()
            )
            status = 200
            with hook.lock:
                if not signed:
                    hook.bad_signatures += 1
                    status = 401
                elif hook.hold.is_set():
                    hook.hold.clear()
                    hook.held.append(key)
                    status = 500
            if status == 500:
                hook.holding.set()
                hook.release.wait(DEADLINE)
            try:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                self.wfile.flush()
            except OSError:
                return  # the daemon is gone: nothing was accepted
            if status == 200:
                with hook.lock:
                    hook.accepted[key] += 1
                    hook.post_urls.add(json.loads(body)["alert"]["post_url"])

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    hook.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        hook.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


class HeldClock:
    """The simulator's clock: stands still at the start until `go()`, so the page unfolds only
    once the daemon is polling (its start-up time on a loaded machine does not swallow the page)."""

    def __init__(self) -> None:
        self.t0 = time.time()
        self.go_at: float | None = None

    def go(self) -> None:
        self.go_at = time.time()

    def __call__(self) -> float:
        return self.t0 if self.go_at is None else self.t0 + time.time() - self.go_at


@contextmanager
def simulator() -> Iterator[tuple[Simulator, RunningServer, HeldClock]]:
    clock = HeldClock()
    sim = Simulator(load_page(bundled_page_path()), speed=SPEED, clock=clock)
    server = sim.serve("127.0.0.1", 0)
    try:
        yield sim, server, clock
    finally:
        server.stop()


def write_config(
    path: Path, *, db_url: str, server: RunningServer, hook: Hook, group_wait: float
) -> Path:
    path.write_text(
        f'[database]\nurl = "{db_url}"\n\n'
        "[defaults]\ninterval = 0.2\njitter = 0.05\n\n"
        f'[[sources]]\nname = "sim-liveblog"\nkind = "liveblog"\nurl = "{server.urls()["liveblog"]}"\n\n'
        f"[alerts]\ngroup_wait = {group_wait}\nretry_base = 0.2\nretry_cap = 1\n\n"
        f'[alerts.channels.hook]\ntype = "webhook"\nurl = "{hook.url()}"\n'
        'secret_env = "PARLEY_TEST_HOOK_SECRET"\ntimeout = 30\n'
    )
    return path


class Run:
    """`parley run --config FILE` in a subprocess, its output going to a file."""

    def __init__(self, config: Path, log: Path) -> None:
        self.log = log
        env = {**os.environ, "PARLEY_TEST_HOOK_SECRET": SECRET}
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                [PARLEY, "run", "--config", str(config)], stdout=out, stderr=out, env=env
            )

    def output(self) -> str:
        return self.log.read_text()

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def wait_until(condition: Callable[[], bool], what: str, run: Run | None = None) -> None:
    """Wait for `condition` (checked every 0.1 s) up to DEADLINE; fail naming `what` otherwise."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if run is not None and run.proc.poll() is not None:
            pytest.fail(f"parley run exited ({run.proc.returncode}) before {what}:\n{run.output()}")
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}" + (f":\n{run.output()}" if run else ""))
        time.sleep(0.1)


class Log:
    """Read-only questions the test asks of the daemon's database."""

    def __init__(self, url: str) -> None:
        self.store: Any = open_store(url)

    def posts(self) -> int:
        return sum(1 for _ in self.store.read(event_types=["PostPublished"]))

    def pending(self) -> int:
        return len(self.store.pending_outbox(10_000))

    def outbox_keys(self) -> set[str]:
        """The alert key of every message the views raised (from AlertRaised and the outbox)."""
        keys = {str(r.data["alert_key"]) for r in self.store.read(event_types=["AlertRaised"])}
        return keys | {str(e.payload["alert"]["key"]) for e in self.store.pending_outbox(10_000)}

    def delivered(self) -> Counter[str]:
        return Counter(
            str(r.data["alert_key"]) for r in self.store.read(event_types=["AlertDelivered"])
        )

    def settled(self, sim: Simulator) -> bool:
        """Every post in the log, the views caught up with it, and the outbox empty."""
        status = sim.status()
        if not status["done"] or self.posts() < len(status["shown"]):
            return False
        head = self.store.head().position
        return self.store.checkpoint(PROJECTION)[0] >= head and self.pending() == 0

    def close(self) -> None:
        self.store.close()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_parley_run_delivers_each_alert_once_to_a_webhook_and_stops_on_sigterm(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """With a webhook channel, every alert the views raise reaches the receiver once; SIGTERM exits 0."""
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    with webhook_receiver() as hook, simulator() as (sim, server, clock):
        config = write_config(
            tmp_path / "parley.toml", db_url=url, server=server, hook=hook, group_wait=0
        )
        run = Run(config, tmp_path / "run.log")
        db = Log(url)
        try:
            wait_until(lambda: "parley_running" in run.output(), "the daemon to start", run)
            clock.go()
            wait_until(lambda: db.settled(sim) and hook.total() > 0, "the alerts", run)
            assert run.terminate() == 0, run.output()
            raised = db.outbox_keys()
            delivered = db.delivered()
        finally:
            run.close()
            db.close()
    assert len(raised) >= 2  # at least the seed's two agreed exchanges
    assert hook.bad_signatures == 0
    assert dict(hook.accepted) == dict.fromkeys(raised, 1)
    assert dict(delivered) == dict.fromkeys(raised, 1)
    assert "Traceback" not in run.output()
    base = server.urls()["liveblog"].split("#")[0]
    assert all(url.startswith(base + "#post-") for url in hook.post_urls), hook.post_urls


def test_parley_run_refuses_a_bad_alerts_section_before_polling(
    sqlite_url: str, tmp_path: Path
) -> None:
    """A mistake in [alerts] is one error line naming the file and the key, exit 1, nothing appended."""
    config = tmp_path / "parley.toml"
    config.write_text(
        f'[database]\nurl = "{sqlite_url}"\n'
        '[[sources]]\nname = "s"\nkind = "rss"\nurl = "http://127.0.0.1:9/feed"\n'
        '[alerts.channels.screen]\ntype = "console"\n[[alerts.rules]]\nchanges = ["nwe"]\n'
    )
    proc = subprocess.run(
        [PARLEY, "run", "--config", str(config)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"parley: error: {config}: alerts.rules[0].changes: unknown change 'nwe' "
        "(new, changed, status, removed)"
    ]
    with open_store(sqlite_url) as store:
        assert store.head().position == 0


def test_parley_run_killed_after_raising_and_mid_delivery_sends_every_alert_exactly_once(
    sqlite_url: str, tmp_path: Path
) -> None:
    """SIGKILL with alerts in the outbox, then SIGKILL mid-send: restarts deliver each alert once."""
    with webhook_receiver() as hook, simulator() as (sim, server, clock):
        db = Log(sqlite_url)
        runs: list[Run] = []
        try:
            # 1. Alerts wait in the outbox (group_wait 60 s): killed right after they were written.
            slow = write_config(
                tmp_path / "slow.toml", db_url=sqlite_url, server=server, hook=hook, group_wait=60
            )
            runs.append(Run(slow, tmp_path / "run1.log"))
            wait_until(lambda: "parley_running" in runs[-1].output(), "the daemon", runs[-1])
            clock.go()
            wait_until(lambda: db.pending() > 0, "an alert in the outbox", runs[-1])
            runs[-1].kill()
            assert hook.total() == 0
            assert db.pending() > 0

            # 2. Sent at once, but the receiver holds the first request: killed mid-delivery.
            now = write_config(
                tmp_path / "now.toml", db_url=sqlite_url, server=server, hook=hook, group_wait=0
            )
            hook.hold.set()
            runs.append(Run(now, tmp_path / "run2.log"))
            wait_until(hook.holding.is_set, "a delivery in flight", runs[-1])
            runs[-1].kill()
            hook.release.set()

            # 3. Restarted: everything still pending goes out once; the rest of the page too.
            runs.append(Run(now, tmp_path / "run3.log"))
            wait_until(lambda: db.settled(sim) and hook.total() > 0, "the alerts", runs[-1])
            assert runs[-1].terminate() == 0, runs[-1].output()
            raised = db.outbox_keys()
            delivered = db.delivered()
        finally:
            for run in runs:
                run.close()
            db.close()
    assert len(hook.held) == 1
    assert hook.held[0] in raised
    assert hook.accepted[hook.held[0]] == 1  # ...was sent again after the restart, once
    assert dict(hook.accepted) == dict.fromkeys(raised, 1)  # none lost, none twice
    assert dict(delivered) == dict.fromkeys(raised, 1)


def test_sigterm_mid_page_leaves_the_views_caught_up_and_no_alert_lost(
    sqlite_url: str, tmp_path: Path
) -> None:
    """SIGTERM while posts arrive: exit 0 with the views holding every post; a restart sends the rest."""
    with webhook_receiver() as hook, simulator() as (sim, server, clock):
        config = write_config(
            tmp_path / "parley.toml", db_url=sqlite_url, server=server, hook=hook, group_wait=0
        )
        db = Log(sqlite_url)
        first = Run(config, tmp_path / "run1.log")
        second: Run | None = None
        try:
            wait_until(lambda: "parley_running" in first.output(), "the daemon to start", first)
            clock.go()
            wait_until(lambda: db.posts() >= 3, "the first posts", first)
            assert first.terminate() == 0, first.output()
            posts = list(db.store.read(event_types=["PostPublished", "PostRevised"]))
            assert db.store.checkpoint(PROJECTION)[0] >= posts[-1].position
            second = Run(config, tmp_path / "run2.log")
            wait_until(lambda: db.settled(sim) and hook.total() > 0, "the alerts", second)
            assert second.terminate() == 0, second.output()
            raised = db.outbox_keys()
        finally:
            first.close()
            if second is not None:
                second.close()
            db.close()
    assert len(raised) >= 2
    assert dict(hook.accepted) == dict.fromkeys(raised, 1)
