"""The alerts delivery worker as a daemon service: `start()` builds the channels and starts the worker.

Wiring (in the daemon's bootstrap; alerts knows nothing of the monitor):

    config = parse_alerts(settings.alerts)
    service = AlertsService(store=store, config=config, environ=os.environ, executor=store_thread)
    await service.start()          # raises AlertConfigError/SecretError for a bad channel
    ...
    await service.stop()           # lets the alert in flight finish, then returns

and, for the views' runner, `outbox_for=outbox_hook(store, PROJECTION, config.rules,
channels=config.channel_names, link=...)` so view changes raise alerts in the same transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from concurrent.futures import Executor

import structlog

from alerts.config import AlertsConfig, build_channels
from alerts.delivery import DeliveryWorker
from alerts.lease import Lease
from alerts.ports import NO_ALERT_METRICS, AlertMetrics, Outbox
from store.errors import ConfigurationError
from store.lease import lease_store
from store.ports import LeaseStore

log = structlog.get_logger("alerts.service")

LEASE_TTL = 15.0
"""Seconds within which another worker takes over from a dead one: the daemon passes
`[daemon] lease_ttl` (see `store.lease_keeper`, "Timing")."""


class AlertsService:
    """Runs a `DeliveryWorker` for the life of the process. Construction does no I/O."""

    name = "alerts"

    def __init__(
        self,
        *,
        store: Outbox,
        config: AlertsConfig,
        environ: Mapping[str, str],
        executor: Executor | None = None,
        poll_interval: float = 1.0,
        metrics: AlertMetrics = NO_ALERT_METRICS,
        leases: LeaseStore | None = None,
        lease_ttl: float = LEASE_TTL,
    ) -> None:
        self._store = store
        self._leases = leases
        self._lease_ttl = lease_ttl
        self._config = config
        self._environ = environ
        self._executor = executor
        self._poll_interval = poll_interval
        self._metrics = metrics
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.worker: DeliveryWorker | None = None

    async def start(self) -> None:
        """Build every channel (resolving secrets) and start delivering.

        Raises `AlertConfigError` or `SecretError` naming the channel when one cannot be built.
        """
        channels = build_channels(self._config, self._environ)
        self.worker = DeliveryWorker(
            outbox=self._store,
            channels=channels,
            policy=self._config.retry,
            group_wait=self._config.group_wait,
            rates=self._config.rates,
            digests=self._config.digests,
            executor=self._executor,
            lease=self._lease(),
            metrics=self._metrics,
        )
        self._stop.clear()
        self._task = asyncio.create_task(self._run(self.worker), name="alerts-delivery")
        log.info("alerts_started", channels=sorted(channels), rules=len(self._config.rules))

    def _lease(self) -> Lease | None:
        """The delivery lease (`alerts.lease`), when the store keeps leases (both backends do).

        Its ttl is `lease_ttl`, whatever the channels' timeouts: a heartbeat thread renews it
        while a send lasts (a send starts only while it was renewed recently), so a slow send
        does not let it lapse; only a holder whose renewals stop mid-send (a frozen VM, the
        database unreachable from it alone) can be overtaken, the window of `alerts.lease`.
        """
        leases = self._leases
        if leases is None:
            try:
                leases = lease_store(self._store)
            except ConfigurationError:
                return None
        return Lease(store=leases, ttl=self._lease_ttl, heartbeat=True)

    async def _run(self, worker: DeliveryWorker) -> None:
        while not self._stop.is_set():
            try:
                await worker.run(self._stop, poll_interval=self._poll_interval)
            except Exception as exc:  # a database hiccup must not end delivery for good
                log.error("alerts_pass_failed", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(self._poll_interval)

    async def stop(self) -> None:
        """Stop after the pass in progress (an alert being sent finishes and is recorded)."""
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self.worker is not None and self.worker.lease is not None:
            lease = self.worker.lease
            try:
                if self._executor is None:
                    lease.release()
                else:
                    await asyncio.get_running_loop().run_in_executor(self._executor, lease.release)
            except Exception as exc:  # the lease then simply expires after its ttl
                log.warning("alerts_lease_not_released", error=f"{type(exc).__name__}: {exc}")
