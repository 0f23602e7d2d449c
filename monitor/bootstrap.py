"""The one place where Parley is wired: settings, store, fetcher, sources, scheduler, services.

    app = await start_app(settings, database_url=url)    # opens the store, starts every service
    ...                                                  # until a signal
    await app.stop()                                     # reverse order; in-flight appends finish

Everything else receives its dependencies as arguments. A *service* is anything with an async
`start()` and `stop()` that runs beside the monitor; `SERVICES` lists the factories that build
them from the shared `Wiring`, in start order: the alerts' delivery worker (when `[alerts]`
names a channel), the endpoints (/healthz, /readyz, /metrics, when `[service] listen` is not
off), the views (following the log in a thread; their runner writes alerts to the outbox in the same
transaction as each view change), then the monitor. They stop in reverse: polling
stops and in-flight appends finish, the views catch up with the log, then the worker stops after
the alert in flight. A factory returns None to leave its service out.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

import httpx
import structlog

from monitor.config import Settings
from monitor.daemon import Daemon
from monitor.events import post_stream
from monitor.fetch import Fetcher, FetchLimits
from monitor.parse_pool import ParsePool
from monitor.poller import Poller, load_knowledge, parse_pool
from monitor.service.metrics import Metrics
from monitor.sources import KINDS
from store import open_store
from store.lease import lease_store
from store.lease_keeper import ShareKeeper
from store.ports import EventStore

if TYPE_CHECKING:
    from alerts.config import AlertsConfig
    from monitor.views import ViewsService

log = structlog.get_logger(__name__)


class Service(Protocol):
    """Something that runs beside the monitor for the life of the process."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True, kw_only=True, slots=True)
class Wiring:
    """What every service may use: the settings, the database URL (for a service that opens its
    own store), the open store, the fetcher, the thread the store's calls run on, the
    environment (where alert channels find their secrets), the app's metrics, and the services
    started so far (the endpoints look the scheduler and the views up there)."""

    settings: Settings
    database_url: str
    store: EventStore
    fetcher: Fetcher
    executor: ThreadPoolExecutor
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)
    metrics: Metrics = field(default_factory=Metrics, repr=False)
    services: list[Service] = field(default_factory=list, repr=False)


class MonitorService:
    """The polling daemon as a service: loads what the log knows, then schedules every source."""

    name = "monitor"

    def __init__(self, wiring: Wiring) -> None:
        self._w = wiring
        self.daemon: Daemon | None = None
        self._pool: ParsePool | None = None

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
            sources=w.settings.sources,
            poller=poller,
            fetcher=w.fetcher,
            store=w.store,
            metrics=w.metrics,
            keeper=ShareKeeper(
                store=lease_store(w.store),
                group="sources",
                items=[s.name for s in w.settings.sources if s.enabled],
                ttl=w.settings.lease_ttl,
            ),
        )
        await self.daemon.start()

    async def stop(self) -> None:
        if self.daemon is not None:
            await self.daemon.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def monitor_service(wiring: Wiring) -> Service | None:
    return MonitorService(wiring)


VIEWS_STOP_GRACE = 10.0
"""Seconds the views get at stop to catch up with the log (they resume from their checkpoint)."""
ALERTS_STOP_GRACE = 5.0
"""Seconds the delivery worker gets at stop to finish its pass (the rest waits in the outbox)."""


def alerts_config(settings: Settings) -> AlertsConfig:
    """The validated `[alerts]` section; raises `AlertConfigError` naming the file and the key."""
    from alerts.config import parse_alerts
    from alerts.errors import AlertConfigError

    try:
        return parse_alerts(settings.alerts)
    except AlertConfigError as exc:
        raise AlertConfigError(f"{settings.path}: {exc}") from None


def post_link(store: EventStore) -> Callable[[str, str], str]:
    """`link(source, post_id)`: the post's URL as its newest PostPublished/PostRevised gives it ("" if none)."""

    def link(source: str, post_id: str) -> str:
        url = ""
        for record in store.read_stream(post_stream(source, post_id)):
            post: Any = record.data.get("post")
            if isinstance(post, Mapping) and post.get("url"):
                url = str(post["url"])
        return url

    return link


class ViewsFollower:
    """The views service, stopped only once it has caught up with the log (within a grace period).

    Wraps `monitor.views.ViewsService`; with alerts configured its runner writes each batch's
    alerts to the outbox in the same transaction as the view change (`alerts.hook.outbox_hook`).
    """

    name = "views"

    def __init__(self, wiring: Wiring, inner: ViewsService, *, grace: float = VIEWS_STOP_GRACE):
        self._w = wiring
        self.inner = inner
        self._grace = grace

    async def start(self) -> None:
        await self.inner.start()

    async def behind(self, position: int | None = None) -> int:
        """How many log positions the views' checkpoint is behind `position` (default: the head)."""
        from monitor.views import PROJECTION

        store = self._w.store

        def gap() -> int:
            target = store.head().position if position is None else position
            return max(0, target - store.checkpoint(PROJECTION)[0])

        return await asyncio.get_running_loop().run_in_executor(self._w.executor, gap)

    async def stop(self) -> None:
        """Wait (up to the grace period) until the views hold every event appended so far, then
        stop them, also when the database cannot say how far they are (it is down): the views'
        thread must end either way."""
        from store.errors import StoreError

        store = self._w.store
        loop = asyncio.get_running_loop()
        try:
            target = await loop.run_in_executor(self._w.executor, lambda: store.head().position)
            deadline = time.monotonic() + self._grace
            while (gap := await self.behind(target)) > 0 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if gap:
                log.warning("views_stopped_behind", events=gap, seconds=self._grace)
        except StoreError as exc:
            log.warning("views_stopped_unchecked", reason=str(exc))
        await self.inner.stop()


def views_service(w: Wiring) -> Service | None:
    """The views, following the log; alerts ride along when `[alerts]` names a channel."""
    from monitor.claims import load_pack
    from monitor.views import PROJECTION, ViewsService, build_projection

    config = alerts_config(w.settings)
    outbox_for = None
    if config.channels:
        from alerts.hook import outbox_hook

        def outbox_for(store: EventStore) -> Any:
            return outbox_hook(
                store,
                PROJECTION,
                config.rules,
                channels=config.channel_names,
                link=post_link(store),
            )

    inner = ViewsService(
        w.database_url,
        build_projection(
            load_pack(actor_files=w.settings.rules.actors, rules_dirs=w.settings.rules.dirs),
            extract_workers=w.settings.extract_workers,
        ),
        outbox_for=outbox_for,
        lease_ttl=w.settings.lease_ttl,
    )
    return ViewsFollower(w, inner)


class AlertsWorker:
    """The alerts delivery worker (`alerts.service.AlertsService`), given a bounded stop."""

    name = "alerts"

    def __init__(self, inner: Any, *, grace: float = ALERTS_STOP_GRACE) -> None:
        self.inner = inner
        self._grace = grace

    async def start(self) -> None:
        await self.inner.start()

    async def stop(self) -> None:
        """Stop after the pass in progress; past the grace period the send in flight is cancelled
        (its message stays pending in the outbox and is sent again on the next start)."""
        try:
            await asyncio.wait_for(self.inner.stop(), timeout=self._grace)
        except TimeoutError:
            log.warning("alerts_stop_timeout", seconds=self._grace)


def alerts_service(w: Wiring) -> Service | None:
    """The delivery worker, when `[alerts]` names at least one channel (else None)."""
    config = alerts_config(w.settings)
    if not config.channels:
        return None
    from alerts.service import AlertsService

    w.metrics.channels(config.channel_names)
    return AlertsWorker(
        AlertsService(
            store=w.store,
            config=config,
            environ=w.environ,
            executor=w.executor,
            metrics=w.metrics,
            lease_ttl=w.settings.lease_ttl,
        )
    )


def endpoints_service(w: Wiring) -> Service | None:
    """/healthz, /readyz and /metrics (`monitor.service.endpoints`), unless `[service] listen` is off."""
    if w.settings.service.listen is None:
        return None
    from monitor.service.endpoints import EndpointsService

    return EndpointsService(
        config=w.settings.service,
        metrics=w.metrics,
        store=w.store,
        executor=w.executor,
        services=w.services,
    )


# Factories of the services `parley run` starts, in start order (stopped in reverse): the worker
# first (a bad [alerts] section or channel fails before anything else starts), the endpoints (a
# busy address fails before anything polls; /readyz says 503 until the monitor runs, and answers
# until the monitor and the views have stopped), the views, then the monitor; at stop the monitor
# ends its appends, the views catch up and raise the last alerts, and the worker stops.
SERVICES: list[Callable[[Wiring], Service | None]] = [
    alerts_service,
    endpoints_service,
    views_service,
    monitor_service,
]


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
    environ: Mapping[str, str] | None = None,
) -> App:
    """Open the store, build the fetcher and start every service (`environ`: where alert
    channels read secrets; default the process environment).

    Raises StoreError if the store cannot open, AlertConfigError/SecretError for a bad channel.
    """
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
        environ=os.environ if environ is None else environ,
    )
    app = App(wiring, wiring.services)
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
    settings: Settings,
    *,
    database_url: str,
    stop: asyncio.Event | None = None,
    environ: Mapping[str, str] | None = None,
) -> None:
    """Run every service until SIGTERM or SIGINT (or `stop` is set), then stop them cleanly."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        app = await start_app(settings, database_url=database_url, environ=environ)
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
