"""The one place where Parley is wired: settings, store, fetcher, sources, scheduler, services.

    app = await start_app(settings, database_url=url)    # opens the store, starts every service
    ...                                                  # until a signal
    await app.stop()                                     # reverse order; in-flight appends finish

Everything else receives its dependencies as arguments. A *service* is anything with an async
`start()` and `stop()` that runs beside the monitor; `SERVICES` lists the factories that build
them from the shared `Wiring`. To add one (the views' projection runner, the alerts' delivery
worker), write `def my_service(w: Wiring) -> Service | None` and append it to `SERVICES`, e.g.

    def views_service(w: Wiring) -> Service | None:
        return ViewsService(w.database_url, build_projection(load_pack()))

Return None to leave a service out (say, alerts when `w.settings.alerts` is empty).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Protocol

import httpx
import structlog

from monitor.config import Settings
from monitor.daemon import Daemon
from monitor.fetch import Fetcher, FetchLimits
from monitor.poller import Poller, load_knowledge, parse_pool
from monitor.sources import KINDS
from store import open_store
from store.ports import EventStore

log = structlog.get_logger(__name__)


class Service(Protocol):
    """Something that runs beside the monitor for the life of the process."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class Wiring:
    """What every service may use: the settings, the database URL (for a service that opens its
    own store), the open store, the fetcher, and the thread the store's calls run on."""

    settings: Settings
    database_url: str
    store: EventStore
    fetcher: Fetcher
    executor: ThreadPoolExecutor


class MonitorService:
    """The polling daemon as a service: loads what the log knows, then schedules every source."""

    name = "monitor"

    def __init__(self, wiring: Wiring) -> None:
        self._w = wiring
        self.daemon: Daemon | None = None
        self._pool: ProcessPoolExecutor | None = None

    async def start(self) -> None:
        w = self._w
        loop = asyncio.get_running_loop()
        knowledge = await loop.run_in_executor(w.executor, partial(load_knowledge, w.store))
        if w.settings.parse_workers:
            self._pool = parse_pool(w.settings.parse_workers)
        poller = Poller(
            store=w.store,
            fetcher=w.fetcher,
            kinds=KINDS,
            executor=w.executor,
            knowledge=knowledge,
            parse_pool=self._pool,
        )
        self.daemon = Daemon(
            sources=w.settings.sources, poller=poller, fetcher=w.fetcher, store=w.store
        )
        await self.daemon.start()

    async def stop(self) -> None:
        if self.daemon is not None:
            await self.daemon.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def monitor_service(wiring: Wiring) -> Service | None:
    return MonitorService(wiring)


# Factories of the services `parley run` starts, in start order (stopped in reverse).
SERVICES: list[Callable[[Wiring], Service | None]] = [monitor_service]


def make_fetcher(settings: Settings) -> Fetcher:
    """A fetcher with the [http] limits; its client is built on the first fetch."""
    h = settings.http
    limits = FetchLimits(
        user_agent=h.user_agent_header(),
        connect_timeout=h.connect_timeout,
        read_timeout=h.read_timeout,
        total_timeout=h.total_timeout,
        max_bytes=h.max_bytes,
        max_redirects=h.max_redirects,
        per_host_concurrency=h.per_host_concurrency,
    )

    def client() -> httpx.AsyncClient:
        return httpx.AsyncClient(
            limits=httpx.Limits(
                max_connections=h.max_concurrency, max_keepalive_connections=h.max_concurrency
            ),
            follow_redirects=False,
        )

    return Fetcher(client_factory=client, limits=limits)


class App:
    """The running process: the wiring and its services. Built by `start_app`."""

    def __init__(self, wiring: Wiring, services: list[Service]) -> None:
        self.wiring = wiring
        self.services = services

    def service(self, name: str) -> Service | None:
        return next((s for s in self.services if s.name == name), None)

    async def stop(self) -> None:
        """Stop services in reverse order, then close the fetcher, the store and its thread."""
        for s in reversed(self.services):
            try:
                await s.stop()
            except Exception as exc:  # one service failing to stop must not keep the others up
                log.error("service_stop_failed", service=s.name, error=str(exc))
        await self.wiring.fetcher.aclose()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self.wiring.executor, self.wiring.store.close)
        self.wiring.executor.shutdown(wait=True)


async def start_app(
    settings: Settings,
    *,
    database_url: str,
    services: list[Callable[[Wiring], Service | None]] | None = None,
    fetcher: Fetcher | None = None,
) -> App:
    """Open the store, build the fetcher and start every service. Raises StoreError if the store cannot open."""
    # Their per-run and per-request lines are noise beside `source_polled`; a run skipped because
    # the previous poll of that source is still going is expected (max_instances=1), not a warning.
    for noisy in ("apscheduler", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-store")
    loop = asyncio.get_running_loop()
    try:
        store: EventStore = await loop.run_in_executor(executor, open_store, database_url)
    except BaseException:
        executor.shutdown(wait=False)
        raise
    wiring = Wiring(
        settings=settings,
        database_url=database_url,
        store=store,
        fetcher=fetcher or make_fetcher(settings),
        executor=executor,
    )
    app = App(wiring, [])
    try:
        for factory in SERVICES if services is None else services:
            service = factory(wiring)
            if service is not None:
                await service.start()
                app.services.append(service)
                log.info("service_started", service=service.name)
    except BaseException:
        await app.stop()
        raise
    return app


async def run_until_signalled(
    settings: Settings, *, database_url: str, stop: asyncio.Event | None = None
) -> None:
    """Run every service until SIGTERM or SIGINT (or `stop` is set), then stop them cleanly."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        app = await start_app(settings, database_url=database_url)
        log.info(
            "parley_running",
            sources=len(settings.sources),
            database=app.wiring.store.url_for_display,
        )
        await stop.wait()
        log.info("parley_stopping")
        await app.stop()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
