"""The endpoints service of `parley run`: /healthz, /readyz and /metrics on the configured address.

- `/healthz`: 200 `{"status": "alive"}` whenever it answers: it is served on the daemon's event
  loop, so an answer means the process is up and its loop turns.
- `/readyz`: 200 when the database answers, the scheduler runs and the projectors are within
  `max_lag` events of the head; otherwise 503. JSON either way (`monitor.service.health`).
- `/metrics`: the app's registry in the Prometheus text format, its log gauges refreshed first.

The database probe (head and checkpoints) runs on the store's thread, never on the loop, with a
timeout; concurrent requests share one probe, so a hung database never piles calls up behind it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from concurrent.futures import Executor
from typing import Any, Protocol

import structlog

from monitor.config import ServiceConfig
from monitor.errors import EndpointError
from monitor.service.health import LogState, judge
from monitor.service.http import HttpServer, Response
from monitor.service.metrics import CONTENT_TYPE, Metrics
from store.ports import EventStore

log = structlog.get_logger("monitor.service")


class _Named(Protocol):
    name: str


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


class EndpointsService:
    """Serves the three endpoints for the life of the app. Construction does no I/O.

    `services` is the app's live list of started services: the scheduler is found in the one
    named "monitor", and the projectors' lag is checked when one named "views" runs.
    """

    name = "endpoints"

    def __init__(
        self,
        *,
        config: ServiceConfig,
        metrics: Metrics,
        store: EventStore,
        executor: Executor,
        services: Sequence[_Named],
    ) -> None:
        if config.listen is None:
            raise ValueError('the endpoints are off ([service] listen = "off")')
        self._config = config
        self._host, self._port = config.listen
        self._metrics = metrics
        self._store = store
        self._executor = executor
        self._services = services
        self._server: HttpServer | None = None
        self._probe: asyncio.Future[LogState] | None = None
        self._ready: bool | None = None

    @property
    def port(self) -> int:
        """The port listened on (the free one picked when the config said 0)."""
        return self._server.port if self._server is not None else self._port

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Bind the address. Raises EndpointError when it cannot (in use, not on this machine) and the
        address was asked for; the default address taken (a second daemon on this machine) is
        logged as `endpoints_not_started` and the daemon runs without endpoints."""
        server = HttpServer(
            {"/healthz": self.healthz, "/readyz": self.readyz, "/metrics": self.metrics},
            host=self._host,
            port=self._port,
        )
        try:
            await server.start()
        except OSError as exc:
            if self._config.required:
                raise EndpointError(
                    f"cannot listen on {self.url} ([service] listen or --listen): "
                    f"{exc.strerror or exc}"
                ) from None
            log.warning(
                "endpoints_not_started",
                url=self.url,
                reason=exc.strerror or str(exc),
                hint='set [service] listen to a free HOST:PORT, or "off"',
            )
            return
        self._server = server
        log.info(
            "endpoints_listening",
            url=self.url,
            port=self.port,
            paths=["/healthz", "/readyz", "/metrics"],
        )

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.stop()
            self._server = None

    # Handlers ----------------------------------------------------------------------------------
    async def healthz(self) -> Response:
        return _json(200, {"status": "alive"})

    async def readyz(self) -> Response:
        verdict = await self._verdict()
        return _json(200 if verdict.ready else 503, verdict.body)

    async def metrics(self) -> Response:
        await self._verdict()  # refreshes the log, database and scheduler gauges
        body = await asyncio.get_running_loop().run_in_executor(None, self._metrics.render)
        return Response(status=200, body=body, content_type=CONTENT_TYPE)

    # Probing -----------------------------------------------------------------------------------
    async def _verdict(self) -> Any:
        state, error = await self._read_log()
        running = self._scheduler_running()
        self._metrics.scheduler_running.set(1 if running else 0)
        if state is None:
            self._metrics.database_up.set(0)
        else:
            self._metrics.log_state(head=state.head, lags=state.lags())
        verdict = judge(
            state,
            database_error=error,
            scheduler_running=running,
            max_lag=self._config.max_lag,
        )
        if verdict.ready != self._ready:
            if verdict.ready:
                log.info("service_ready")
            elif self._ready is not None:
                log.warning("service_not_ready", failed=verdict.body.get("failed", []))
            self._ready = verdict.ready
        return verdict

    async def _read_log(self) -> tuple[LogState | None, str]:
        """The log's state, or None and why (the probe failed or did not answer in time)."""
        if self._probe is None or self._probe.done():
            loop = asyncio.get_running_loop()
            probe = loop.run_in_executor(self._executor, self._probe_log, self._projectors())
            probe.add_done_callback(_consume)
            self._probe = probe
        timeout = self._config.check_timeout
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(self._probe), ""
        except TimeoutError:
            return None, f"the database did not answer within {timeout:g} s"
        except Exception as exc:
            return None, _one_line(f"{type(exc).__name__}: {exc}")

    def _probe_log(self, projectors: Sequence[str]) -> LogState:
        """Runs on the store's thread: the head and each projector's checkpoint."""
        head = self._store.head().position
        return LogState(
            head=head, checkpoints={p: self._store.checkpoint(p)[0] for p in projectors}
        )

    def _service(self, name: str) -> Any:
        return next((s for s in self._services if s.name == name), None)

    def _projectors(self) -> list[str]:
        if self._service("views") is None:
            return []
        from monitor.views import PROJECTION

        return [PROJECTION]

    def _scheduler_running(self) -> bool:
        daemon = getattr(self._service("monitor"), "daemon", None)
        return bool(getattr(daemon, "running", False))


def _consume(future: asyncio.Future[LogState]) -> None:
    # A probe that timed out may fail later with nobody awaiting it: retrieve its exception so
    # asyncio does not log "exception was never retrieved" (the next request probes again).
    if not future.cancelled():
        future.exception()


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(
        status=status,
        body=(json.dumps(body, sort_keys=True) + "\n").encode(),
        content_type="application/json",
    )
