"""/readyz flips to 503 (and back) for each of its checks, over real HTTP, with `start_app` in-process.

- the database: a daemon on a real PostgreSQL database whose connections are then terminated;
- the projectors: a log more than `max_lag` events ahead of the views' checkpoint (the views
  service stands still here, the one stand-in: a projector that cannot keep up), then caught up
  by the real projection;
- the scheduler: once the monitor has stopped.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.bootstrap import endpoints_service, monitor_service, start_app, views_service
from monitor.config import ServiceConfig, Settings, SourceConfig
from monitor.daemon import source_events
from monitor.errors import EndpointError
from store import open_store
from tests.service._helpers import DEADLINE, samples, value


def settings(**service: Any) -> Settings:
    config = {"listen": ("127.0.0.1", 0), "max_lag": 5, "check_timeout": 2.0, **service}
    return Settings(path="test.toml", service=ServiceConfig(**config))


async def until(
    check: Callable[[], Awaitable[Any]], what: str, last: Callable[[], object] = str
) -> Any:
    """Await `check()` every 0.1 s until it returns something truthy, or fail naming `what`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            pytest.fail(f"gave up waiting for {what}: {last()}")
        await asyncio.sleep(0.1)


class Probe:
    """GETs an endpoint of the app and remembers the last answer."""

    def __init__(self, client: httpx.AsyncClient, base: str) -> None:
        self.client = client
        self.base = base
        self.last: httpx.Response | None = None

    async def get(self, path: str) -> httpx.Response:
        self.last = await self.client.get(self.base + path)
        return self.last

    def status(self, path: str, code: int) -> Callable[[], Awaitable[httpx.Response | None]]:
        async def check() -> httpx.Response | None:
            r = await self.get(path)
            return r if r.status_code == code else None

        return check

    def why(self) -> str:
        return "no answer" if self.last is None else f"{self.last.status_code} {self.last.text}"


def base_of(app: Any) -> str:
    return str(app.service("endpoints").url)


@pytest.mark.postgres
def test_readyz_says_503_naming_the_database_once_postgresql_drops_the_daemon(
    pg_url: str, pg_admin_url: str
) -> None:
    """The database refuses connections and drops the daemon's: /readyz 503 with the database check
    failed, /healthz 200; once it accepts connections again, the store reconnects and /readyz is 200
    without a restart."""
    import psycopg

    dbname = pg_url.rsplit("/", 1)[1]

    async def main() -> None:
        before = set(threading.enumerate())
        app = await start_app(
            settings(),
            database_url=pg_url,
            services=[endpoints_service, views_service, monitor_service],
        )
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                probe = Probe(client, base_of(app))
                ready = await until(probe.status("/readyz", 200), "ready", probe.why)
                assert ready.json()["checks"]["database"]["ok"] is True
                with psycopg.connect(pg_admin_url, autocommit=True) as admin:
                    admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
                    killed = admin.execute(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()",
                        [dbname],
                    ).fetchone()
                assert killed is not None
                assert killed[0] >= 1
                down = await until(probe.status("/readyz", 503), "not ready", probe.why)
                body = down.json()
                assert body["status"] == "not ready"
                assert "database" in body["failed"]
                assert body["checks"]["database"]["ok"] is False
                assert body["checks"]["database"]["error"]
                alive = await probe.get("/healthz")
                assert alive.status_code == 200
                m = samples((await probe.get("/metrics")).text)
                assert value(m, "parley_database_up") == 0
                with psycopg.connect(pg_admin_url, autocommit=True) as admin:
                    admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
                back = await until(probe.status("/readyz", 200), "ready again", probe.why)
                assert back.json()["checks"]["database"]["ok"] is True
        finally:
            with psycopg.connect(pg_admin_url, autocommit=True) as admin:
                admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
            await app.stop()
        # stopping with the database gone still ends the views' threads (their lease too)
        left = [t.name for t in set(threading.enumerate()) - before if t.name.startswith("parley-")]
        assert left == []

    asyncio.run(main())


class StalledViews:
    """A views service that never applies an event: the log runs ahead of its checkpoint."""

    name = "views"

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


def _record_sources(url: str, count: int) -> None:
    sources = [
        SourceConfig(name=f"s{i}", kind="rss", url=f"http://127.0.0.1/{i}") for i in range(count)
    ]
    with open_store(url) as store:
        store.append(source_events(sources, {}))


def test_readyz_says_503_while_the_views_lag_more_than_max_lag_then_200(sqlite_url: str) -> None:
    """20 events ahead of the views with max_lag 5: 503 naming the projectors; caught up: 200."""
    from monitor.claims import load_pack
    from monitor.views import PROJECTION, build_projection, catch_up

    _record_sources(sqlite_url, 20)

    async def main() -> None:
        app = await start_app(
            settings(max_lag=5),
            database_url=sqlite_url,
            services=[endpoints_service, lambda w: StalledViews(), monitor_service],
        )
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                probe = Probe(client, base_of(app))
                behind = await probe.get("/readyz")
                assert behind.status_code == 503, behind.text
                body = behind.json()
                assert body["failed"] == ["projectors"]
                assert body["checks"]["projectors"]["lag"] == {PROJECTION: 20}
                assert "20 events behind" in body["checks"]["projectors"]["error"]
                m = samples((await probe.get("/metrics")).text)
                assert value(m, "parley_projector_lag_events", projector=PROJECTION) == 20
                assert value(m, "parley_log_head_position") == 20

                def catch_up_now() -> int:
                    with open_store(sqlite_url) as store:
                        return catch_up(store, build_projection(load_pack()))

                assert await asyncio.to_thread(catch_up_now) == 20
                ready = await until(probe.status("/readyz", 200), "ready", probe.why)
                assert ready.json()["checks"]["projectors"]["lag"] == {PROJECTION: 0}
        finally:
            await app.stop()

    asyncio.run(main())


def test_readyz_says_503_once_the_scheduler_has_stopped(sqlite_url: str) -> None:
    """The monitor stopped (as at shutdown): 503 naming the scheduler; /healthz still 200."""

    async def main() -> None:
        app = await start_app(
            settings(), database_url=sqlite_url, services=[endpoints_service, monitor_service]
        )
        try:
            async with httpx.AsyncClient(timeout=30) as client:
                probe = Probe(client, base_of(app))
                assert (await probe.get("/readyz")).status_code == 200, probe.why()
                monitor = app.service("monitor")
                assert monitor is not None
                await monitor.stop()
                stopped = await probe.get("/readyz")
                assert stopped.status_code == 503
                assert stopped.json()["failed"] == ["scheduler"]
                assert (await probe.get("/healthz")).status_code == 200
        finally:
            await app.stop()

    asyncio.run(main())


def test_no_endpoints_when_listen_is_off(sqlite_url: str) -> None:
    """`[service] listen = "off"`: no endpoints service at all."""

    async def main() -> None:
        app = await start_app(
            settings(listen=None), database_url=sqlite_url, services=[endpoints_service]
        )
        try:
            assert app.service("endpoints") is None
        finally:
            await app.stop()

    asyncio.run(main())


def test_a_busy_address_stops_the_app_only_when_it_was_asked_for(sqlite_url: str) -> None:
    """Asked for (in the file or --listen): EndpointError; the default taken: a warning, no endpoints."""
    from structlog.testing import capture_logs

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    port = sock.getsockname()[1]

    async def main() -> None:
        with pytest.raises(EndpointError, match=f"cannot listen on http://127.0.0.1:{port}"):
            await start_app(
                settings(listen=("127.0.0.1", port)),
                database_url=sqlite_url,
                services=[endpoints_service, monitor_service],
            )
        with capture_logs() as logs:
            app = await start_app(
                settings(listen=("127.0.0.1", port), required=False),
                database_url=sqlite_url,
                services=[endpoints_service, monitor_service],
            )
        try:
            warned = [e for e in logs if e["event"] == "endpoints_not_started"]
            assert len(warned) == 1
            assert warned[0]["url"] == f"http://127.0.0.1:{port}"
            monitor = app.service("monitor")
            assert monitor is not None
            assert getattr(monitor, "daemon").running  # noqa: B009  (typed as a Service)
        finally:
            await app.stop()

    try:
        asyncio.run(main())
    finally:
        sock.close()


def test_two_apps_in_one_process_keep_their_own_metrics(tmp_path: Path) -> None:
    """Each app has its own registry: counts from one never show in the other's /metrics."""

    async def main() -> None:
        one = await start_app(
            settings(),
            database_url=f"sqlite:///{tmp_path / 'one.db'}",
            services=[endpoints_service],
        )
        two = await start_app(
            settings(),
            database_url=f"sqlite:///{tmp_path / 'two.db'}",
            services=[endpoints_service],
        )
        try:
            one.wiring.metrics.polled("only-in-one", ok=True, seconds=0.1, events={})
            async with httpx.AsyncClient(timeout=30) as client:
                m1 = samples((await client.get(base_of(one) + "/metrics")).text)
                m2 = samples((await client.get(base_of(two) + "/metrics")).text)
            assert value(m1, "parley_polls_total", source="only-in-one") == 1
            assert value(m2, "parley_polls_total", source="only-in-one") is None
        finally:
            await one.stop()
            await two.stop()

    asyncio.run(main())
