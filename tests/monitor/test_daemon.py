"""The daemon: pacing, source events, failing sources, health, and `parley run` as a real process."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.bootstrap import MonitorService, start_app
from monitor.config import Schedule, Settings, SourceConfig
from monitor.daemon import HEALTH, Pace, logged_sources, next_pace, source_events
from monitor.poller import PollOutcome
from monitor.simulator import RunningServer, Simulator, bundled_page_path, load_page
from store import open_store
from store.verify import verify

PARLEY = str(Path(sys.executable).parent / "parley")
T0 = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
SCHEDULE = Schedule(
    interval=60, quiet_after=600, quiet_factor=2, quiet_max=300, error_factor=2, error_max=900
)


def _outcome(at: datetime, **kw: Any) -> PollOutcome:
    return PollOutcome(source="s", at=at, **kw)


# --- pacing (pure) ----------------------------------------------------------------------------


def test_active_source_keeps_its_interval() -> None:
    """New posts keep a source at its configured interval."""
    pace = Pace(interval=60, last_change=T0)
    for minute in range(1, 30):
        pace = next_pace(SCHEDULE, pace, _outcome(T0 + timedelta(minutes=minute), new_posts=1))
    assert pace.interval == 60


def test_quiet_source_backs_off_up_to_the_cap_and_speeds_up_on_a_post() -> None:
    """After quiet_after without changes each poll doubles the interval up to quiet_max; a post resets it."""
    pace = Pace(interval=60, last_change=T0)
    pace = next_pace(SCHEDULE, pace, _outcome(T0 + timedelta(minutes=5)))
    assert pace.interval == 60  # quiet, but not for long enough
    intervals = []
    for minute in (11, 13, 17, 25, 35):
        pace = next_pace(SCHEDULE, pace, _outcome(T0 + timedelta(minutes=minute)))
        intervals.append(pace.interval)
    assert intervals == [120, 240, 300, 300, 300]
    pace = next_pace(SCHEDULE, pace, _outcome(T0 + timedelta(minutes=40), new_posts=1))
    assert pace.interval == 60


def test_failing_source_backs_off_and_honours_retry_after() -> None:
    """Failures multiply the wait (capped); a longer Retry-After wins; success resets it."""
    pace = Pace(interval=60, last_change=T0)
    waits = []
    for n in range(1, 6):
        pace = next_pace(SCHEDULE, pace, _outcome(T0 + timedelta(minutes=n), error="HTTP 500"))
        waits.append(pace.interval)
    assert waits == [120, 240, 480, 900, 900]
    pace = next_pace(SCHEDULE, pace, _outcome(T0, error="HTTP 429", retry_after=3600))
    assert pace.interval == 3600
    pace = next_pace(SCHEDULE, pace, _outcome(T0 + timedelta(minutes=7)))
    assert (pace.interval, pace.failures) == (60, 0)


# --- source events ----------------------------------------------------------------------------


def _src(name: str, url: str = "http://127.0.0.1/x", **settings: Any) -> SourceConfig:
    return SourceConfig(name=name, kind="rss", url=url, settings=settings)


def test_config_changes_become_source_added_and_source_changed_once(db_url: str) -> None:
    """New sources are SourceAdded, changed ones SourceChanged, unchanged ones nothing; repeats are no-ops."""
    with open_store(db_url) as store:
        store.append(source_events([_src("a"), _src("b")], logged_sources(store)))
        assert source_events([_src("a"), _src("b")], logged_sources(store)) == []
        changed = [_src("a", "http://127.0.0.1/y"), _src("b", timezone="Europe/Kyiv")]
        batch = source_events(changed, logged_sources(store))
        store.append(batch)
        store.append(batch)  # a second daemon with the same config appends nothing more
        assert source_events(changed, logged_sources(store)) == []
        types = Counter(r.event_type for r in store.read())
    assert types == {"SourceAdded": 2, "SourceChanged": 2}


# --- the daemon in-process --------------------------------------------------------------------


@pytest.fixture
def live_server() -> Iterator[RunningServer]:
    """The seed page at high speed on the real clock: the whole page is out in about 4 s."""
    sim = Simulator(load_page(bundled_page_path()), speed=3000)
    with sim.serve("127.0.0.1", 0) as server:
        yield server


def _fast(**kw: Any) -> Schedule:
    return Schedule(interval=0.2, jitter=0.05, error_factor=2, error_max=0.5, misfire_grace=5, **kw)


def test_failing_source_is_retried_and_never_stops_the_others(
    sqlite_url: str, live_server: RunningServer
) -> None:
    """A source answering 500 keeps failing and being retried while the good ones record every post."""
    urls = live_server.urls()
    sources = (
        SourceConfig(name="good-live", kind="liveblog", url=urls["liveblog"], schedule=_fast()),
        SourceConfig(name="good-rss", kind="rss", url=urls["rss"], schedule=_fast()),
        SourceConfig(
            name="broken", kind="rss", url=live_server.url + "/fault/500", schedule=_fast()
        ),
        SourceConfig(
            name="garbage", kind="rss", url=live_server.url + "/fault/malformed", schedule=_fast()
        ),
    )

    async def main() -> dict[str, Any]:
        app = await start_app(Settings(path="t", sources=sources), database_url=sqlite_url)
        service = app.service("monitor")
        assert isinstance(service, MonitorService)
        assert service.daemon is not None
        deadline = time.monotonic() + 60  # a hang guard, not a speed requirement
        try:
            while time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                health = {h.source: h for h in service.daemon.health()}
                if all(health[n].posts_seen == 20 for n in ("good-live", "good-rss")) and all(
                    health[n].failures >= 3 for n in ("broken", "garbage")
                ):
                    break
        finally:
            await app.stop()
        with open_store(sqlite_url) as store:
            return store.get_meta(HEALTH)

    health = asyncio.run(main())
    assert health["good-live"]["posts_seen"] == 20
    assert health["good-rss"]["posts_seen"] == 20
    assert health["good-rss"]["last_error"] is None
    assert health["broken"]["failures"] >= 3
    assert "HTTP 500" in health["broken"]["last_error"]
    assert health["broken"]["last_success"] is None
    assert "malformed XML" in health["garbage"]["last_error"]


def test_retry_after_pushes_the_next_poll_out(sqlite_url: str, live_server: RunningServer) -> None:
    """A 429 with Retry-After: 120 schedules the source's next poll at least 120 s later."""
    src = SourceConfig(
        name="throttled", kind="rss", url=live_server.url + "/fault/429", schedule=_fast()
    )

    async def main() -> Any:
        app = await start_app(Settings(path="t", sources=(src,)), database_url=sqlite_url)
        service = app.service("monitor")
        assert isinstance(service, MonitorService)
        assert service.daemon is not None
        try:
            outcome = await service.daemon.poll_once("throttled")
            return outcome, service.daemon.health()[0]
        finally:
            await app.stop()

    outcome, health = asyncio.run(main())
    assert outcome.retry_after == 120
    assert health.interval >= 120
    assert datetime.fromisoformat(health.next_poll) >= outcome.at + timedelta(seconds=119)


# --- `parley run` as a real process -----------------------------------------------------------


def _config(tmp_path: Path, server: RunningServer, db_url: str, workers: int = 0) -> Path:
    urls = server.urls()
    lines = [
        f'[database]\nurl = "{db_url}"\n',
        "[defaults]\ninterval = 0.3\njitter = 0.1\n",
        f"[daemon]\nparse_workers = {workers}\n",
    ]
    for fmt, kind in (("liveblog", "liveblog"), ("atom", "atom"), ("jsonfeed", "jsonfeed")):
        lines.append(f'[[sources]]\nname = "sim-{fmt}"\nkind = "{kind}"\nurl = "{urls[fmt]}"\n')
    path = tmp_path / "parley.toml"
    path.write_text("\n".join(lines))
    return path


class Daemon:
    """`parley run` in a subprocess, its log lines going to a file (a pipe could fill and block it)."""

    def __init__(self, config: Path, log: Path) -> None:
        self.log = log
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                [PARLEY, "run", "--config", str(config)], stdout=out, stderr=out
            )

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=30)  # a hang guard; "a few seconds" is measured in bench

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def output(self) -> str:
        return self.log.read_text()


def _wait_for_events(db_url: str, at_least: int, daemon: Daemon) -> None:
    deadline = time.monotonic() + 60  # a hang guard, not a speed requirement
    while time.monotonic() < deadline:
        assert daemon.proc.poll() is None, daemon.output()
        with open_store(db_url) as store:
            if store.head().position >= at_least:
                return
        time.sleep(0.2)
    pytest.fail(f"fewer than {at_least} events after 60 s")


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_parley_run_with_exit_0_and_an_intact_log(
    tmp_path: Path, live_server: RunningServer, sqlite_url: str, sig: signal.Signals
) -> None:
    """SIGTERM/SIGINT stop a running `parley run`: exit 0, hash chain intact, health readable meanwhile."""
    # with a parse worker process, so stopping also stops the pool cleanly
    daemon = Daemon(_config(tmp_path, live_server, sqlite_url, workers=1), tmp_path / "run.log")
    try:
        _wait_for_events(sqlite_url, 10, daemon)
        listing = subprocess.run(
            [PARLEY, "--db", sqlite_url, "sources", "--json"],
            capture_output=True,
            text=True,
            check=True,
        )
        rows = {r["source"]: r for r in json.loads(listing.stdout)}
        assert set(rows) == {"sim-liveblog", "sim-atom", "sim-jsonfeed"}
        assert any(r["last_success"] for r in rows.values())
        code = daemon.stop(sig)
    finally:
        daemon.kill()
    assert code == 0, daemon.output()
    assert "daemon_stopped" in daemon.output()
    assert "Traceback" not in daemon.output()
    with open_store(sqlite_url) as store:
        report = verify(store)
    assert report.ok, report.problems


@pytest.mark.slow
def test_two_parley_run_processes_on_one_database_never_double_append(
    tmp_path: Path, live_server: RunningServer, db_url: str
) -> None:
    """Two daemons polling the same sources into one database record each post once per source."""
    config = _config(tmp_path, live_server, db_url)
    daemons = [Daemon(config, tmp_path / f"run{i}.log") for i in range(2)]
    try:
        _wait_for_events(db_url, 3 + 3 * 20, daemons[0])
        time.sleep(1.0)  # a few more rounds of both daemons over the finished page
        codes = [d.stop() for d in daemons]
    finally:
        for d in daemons:
            d.kill()
    assert codes == [0, 0], [d.output() for d in daemons]
    with open_store(db_url) as store:
        recorded = list(store.read())
        assert verify(store).ok
    kinds = Counter(r.event_type for r in recorded)
    assert kinds == {"SourceAdded": 3, "PostPublished": 60}
    per_post = Counter(
        (r.data["source"], r.data["post"]["post_id"])
        for r in recorded
        if r.event_type == "PostPublished"
    )
    assert set(per_post.values()) == {1}


def test_broken_config_exits_1_with_file_line_and_key(tmp_path: Path) -> None:
    """`parley run` with a mistake in the config prints one line naming file, line and key."""
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[sources]]\nname = "x"\nkind = "rss"\nurl = "http://127.0.0.1/f"\ninterval = "often"\n'
    )
    proc = subprocess.run(
        [PARLEY, "run", "--config", str(bad)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"parley: error: {bad}:5: sources[1].interval: must be a duration (seconds, or like '90s', '5m', '1h') >= 0, not 'often'"
    ]
    assert os.path.exists(bad)


# --- services ---------------------------------------------------------------------------------


class _Recorder:
    def __init__(self, name: str, trail: list[str], fail: bool = False) -> None:
        self.name, self._trail, self._fail = name, trail, fail

    async def start(self) -> None:
        if self._fail:
            raise RuntimeError(f"{self.name} cannot start")
        self._trail.append(f"start {self.name}")

    async def stop(self) -> None:
        self._trail.append(f"stop {self.name}")


def test_services_start_in_order_and_stop_in_reverse(sqlite_url: str) -> None:
    """start_app starts each service factory's service in order; stop() stops them in reverse."""
    trail: list[str] = []
    factories: list[Any] = [
        lambda w: _Recorder("a", trail),
        lambda w: None,  # a factory may leave its service out
        lambda w: _Recorder("b", trail),
    ]

    async def main() -> None:
        app = await start_app(Settings(path="t"), database_url=sqlite_url, services=factories)
        assert app.wiring.database_url == sqlite_url
        await app.stop()

    asyncio.run(main())
    assert trail == ["start a", "start b", "stop b", "stop a"]


def test_a_service_failing_to_start_stops_the_ones_already_started(sqlite_url: str) -> None:
    """If a service cannot start, those started before it are stopped and the error surfaces."""
    trail: list[str] = []
    factories: list[Any] = [
        lambda w: _Recorder("a", trail),
        lambda w: _Recorder("b", trail, fail=True),
    ]

    async def main() -> None:
        await start_app(Settings(path="t"), database_url=sqlite_url, services=factories)

    with pytest.raises(RuntimeError, match="b cannot start"):
        asyncio.run(main())
    assert trail == ["start a", "stop a"]
