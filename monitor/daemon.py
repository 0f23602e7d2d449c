"""The daemon: one APScheduler job per source, paced by activity and failures, stopped cleanly.

Pacing (`next_pace`, pure): an active source is polled every `interval` (+ up to `jitter` at
random); after `quiet_after` seconds without a new, revised or withdrawn post each further poll
multiplies the interval by `quiet_factor` up to `quiet_max`, and the first change brings it back
to `interval`. A failing source waits `interval * error_factor ** failures` (capped at
`error_max`, never less than the server's Retry-After) and keeps being retried; its failures touch
no other job. Jobs run with `max_instances=1` and `coalesce=True`, so one source is never polled
twice at once and missed runs collapse into one.

Several daemons on one database divide the sources between them (`keeper`, a
`store.lease_keeper.ShareKeeper` over the group "sources"): every source keeps its job, but a job
runs only while this daemon holds the source's lease, paused otherwise. A thread of its own
(`ShareKeeper.run`, so renewals never queue behind polls and appends) does a round every
`ttl / 4` seconds, and one the moment another daemon's leases lapse: it renews the leases held,
in one statement, and takes or gives up sources towards the fair share; a source gained is
polled at once (its job's next run set to now, no jitter), and the daemon's other sources' polls
that come due meanwhile wait until every source gained has been polled once (at most a third of
the ttl, or half their interval), so a dead daemon's overdue sources get the connections and the
CPU first and are polled again within `ttl` of its death (`store.lease_keeper`, "Timing"). On stop, once the polls in flight
have ended, every lease is released. Without a keeper (tests, tools) it polls every source.

Health (last success, last error, next poll, posts seen) is written to the store's meta table
after every poll, so `parley sources` can read it from another process; HTTP validators (ETag,
Last-Modified) are kept there too (when they changed), so a restart still polls conditionally.
These writes are off the polls' path: a poll hands its source's health to one writer task, which
saves one source at a time on the store thread, the newest health of each (a source polled twice
meanwhile is written once), so appends never queue behind a burst of health writes (a takeover
polls a third of the sources at once); `stop()` saves what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_RUNNING
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import Schedule, SourceConfig
from monitor.events import SourceAdded, SourceChanged, source_stream
from monitor.fetch import Fetcher, Validators
from monitor.poller import Poller, PollOutcome
from monitor.service.ports import NO_POLL_METRICS, PollMetrics
from store.errors import StoreError
from store.lease_keeper import RoundResult, ShareKeeper
from store.mapper import to_new_event
from store.ports import EventStore
from store.records import NewEvent

log = structlog.get_logger(__name__)
HEALTH = "source_health"  # meta namespace: source name -> SourceHealth as JSON
VALIDATORS = "http_validators"  # meta namespace: URL -> {"etag", "last_modified"}


@dataclass(frozen=True, kw_only=True, slots=True)
class Pace:
    """A source's current polling rhythm: the interval in force, failures in a row, last change."""

    interval: float
    failures: int = 0
    last_change: datetime | None = None


def next_pace(schedule: Schedule, pace: Pace, outcome: PollOutcome) -> Pace:
    """The rhythm after `outcome`. Pure: the time is `outcome.at`."""
    if not outcome.ok:
        failures = pace.failures + 1
        wait = min(schedule.error_max, schedule.interval * schedule.error_factor**failures)
        return replace(pace, interval=max(wait, outcome.retry_after or 0.0), failures=failures)
    if outcome.changed or pace.last_change is None:
        return Pace(interval=schedule.interval, last_change=outcome.at)
    quiet_for = (outcome.at - pace.last_change).total_seconds()
    if quiet_for < schedule.quiet_after:
        return Pace(interval=schedule.interval, last_change=pace.last_change)
    current = schedule.interval if pace.failures else max(pace.interval, schedule.interval)
    cap = max(schedule.quiet_max, schedule.interval)
    return Pace(interval=min(cap, current * schedule.quiet_factor), last_change=pace.last_change)


@dataclass(frozen=True, kw_only=True, slots=True)
class SourceHealth:
    """What `parley sources` shows for one source; stored as JSON in the meta table."""

    source: str
    kind: str
    url: str
    last_poll: str | None = None
    last_success: str | None = None
    last_error: str | None = None
    last_error_at: str | None = None
    next_poll: str | None = None
    posts_seen: int = 0
    failures: int = 0
    interval: float = 0.0
    last_change: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SourceHealth:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})


def _fingerprint_hash(fingerprint: Mapping[str, Any]) -> str:
    raw = json.dumps(fingerprint, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def source_events(
    sources: Sequence[SourceConfig], logged: Mapping[str, tuple[dict[str, Any], int]]
) -> list[NewEvent]:
    """SourceAdded/SourceChanged for each configured source the log does not know as configured.

    `logged` maps a source name to its last recorded fingerprint and its stream version. Pure.
    """
    out: list[NewEvent] = []
    for s in sources:
        fp = s.fingerprint()
        before = logged.get(s.name)
        if before is not None and before[0] == fp:
            continue
        if before is None:
            event: Any = SourceAdded(source=s.name, **fp)
            key, version = f"SourceAdded:{s.name}", 0
        else:
            event = SourceChanged(source=s.name, **fp)
            version = before[1]
            key = f"SourceChanged:{s.name}:v{version}:{_fingerprint_hash(fp)}"
        out.append(
            to_new_event(
                event,
                stream_id=source_stream(s.name),
                idempotency_key=key,
                expected_version=version,
            )
        )
    return out


def logged_sources(store: EventStore) -> dict[str, tuple[dict[str, Any], int]]:
    """Each source's last recorded fingerprint (kind, url, settings) and stream version."""
    out: dict[str, tuple[dict[str, Any], int]] = {}
    for r in store.read(event_types=["SourceAdded", "SourceChanged"]):
        d = r.data
        fp = {"kind": d["kind"], "url": d["url"], "settings": dict(d["settings"])}
        out[str(d["source"])] = (fp, r.stream_version)
    return out


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


class Daemon:
    """Schedules every enabled source on an AsyncIOScheduler. Nothing happens before `start()`."""

    def __init__(
        self,
        *,
        sources: Sequence[SourceConfig],
        poller: Poller,
        fetcher: Fetcher,
        store: EventStore,
        scheduler_factory: Callable[[], AsyncIOScheduler] = AsyncIOScheduler,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: Callable[[], float] = random.random,
        metrics: PollMetrics = NO_POLL_METRICS,
        keeper: ShareKeeper | None = None,
    ) -> None:
        self._sources = {s.name: s for s in sources if s.enabled}
        self._keeper = keeper
        self._leasing: threading.Thread | None = None
        self._leasing_stop = threading.Event()
        self._polling: set[str] = set()  # sources being polled now (never given up mid-poll)
        self._polling_lock = threading.Lock()  # the keeper's thread reads `_polling`
        self._poller = poller
        self._fetcher = fetcher
        self._store = store
        self._scheduler_factory = scheduler_factory
        self._scheduler: AsyncIOScheduler | None = None
        self._clock = clock
        self._rng = rng
        self._metrics = metrics
        self._paces: dict[str, Pace] = {}
        self._health: dict[str, SourceHealth] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unsaved: dict[str, tuple[SourceHealth, str, Validators]] = {}  # by source
        self._saved_validators: dict[str, Validators] = {}  # by URL, as the meta table has them
        self._saving: asyncio.Task[None] | None = None
        self._taking_over: set[str] = set()  # sources gained and not yet polled since
        self._taken_over = asyncio.Event()  # set while `_taking_over` is empty
        self._taken_over.set()
        self.polls = 0  # completed polls, for the demo and tests

    async def start(self) -> None:
        """Record source configuration changes, restore health and validators, start the jobs."""
        store, now = self._store, self._clock()
        logged = await self._poller.in_store(partial(logged_sources, store))
        added = source_events(list(self._sources.values()), logged)
        if added:
            await self._poller.in_store(partial(store.append, added))
            log.info("sources_recorded", events=len(added))
            for e in added:
                self._metrics.appended(e.event_type, 1)
        self._metrics.sources(sorted(self._sources))
        saved = await self._poller.in_store(partial(store.get_meta, HEALTH))
        validators = await self._poller.in_store(partial(store.get_meta, VALIDATORS))
        urls = {s.url for s in self._sources.values()}
        for url, v in validators.items():
            if url in urls and isinstance(v, dict):
                kept = Validators(etag=v.get("etag"), last_modified=v.get("last_modified"))
                self._fetcher.validators.put(url, kept)
                self._saved_validators[url] = kept
        self._scheduler = self._scheduler_factory()
        for s in self._sources.values():
            old = (
                SourceHealth.from_json(saved[s.name])
                if isinstance(saved.get(s.name), dict)
                else None
            )
            last = datetime.fromisoformat(old.last_change) if old and old.last_change else None
            pace = Pace(interval=s.schedule.interval, last_change=last)
            self._paces[s.name] = pace
            self._health[s.name] = (
                replace(old, kind=s.kind, url=s.url)
                if old
                else SourceHealth(source=s.name, kind=s.kind, url=s.url, interval=pace.interval)
            )
            first = now + timedelta(
                seconds=self._rng() * min(s.schedule.jitter, s.schedule.interval)
            )
            self._scheduler.add_job(
                self._run,
                trigger=IntervalTrigger(seconds=pace.interval, jitter=s.schedule.jitter or None),
                args=[s.name],
                id=s.name,
                name=f"poll {s.name}",
                next_run_time=None if self._keeper else first,  # leased: paused until held
                max_instances=1,
                coalesce=True,
                misfire_grace_time=max(1, int(s.schedule.misfire_grace)),
            )
        self._scheduler.start()
        if self._keeper is not None:
            loop = asyncio.get_running_loop()
            self._leasing_stop.clear()
            self._leasing = threading.Thread(
                target=self._keeper.run,
                args=(
                    self._leasing_stop,
                    lambda result: loop.call_soon_threadsafe(self._apply_leases, result),
                    self._busy,
                ),
                name="parley-source-leases",
                daemon=True,
            )
            self._leasing.start()
        log.info("daemon_started", sources=len(self._sources))

    def _busy(self) -> frozenset[str]:
        with self._polling_lock:
            return frozenset(self._polling)

    def _apply_leases(self, result: RoundResult) -> None:
        """After a lease round (on the event loop): resume the jobs of sources gained, pause those lost."""
        scheduler = self._scheduler
        if scheduler is None or scheduler.state != STATE_RUNNING:
            return
        now = self._clock()
        for name in sorted(result.lost):
            scheduler.pause_job(name)
        for name in sorted(result.gained):  # at once: the takeover's time budget is ttl / 3
            scheduler.modify_job(name, next_run_time=now)
        self._taking_over = (self._taking_over | result.gained) - result.lost
        self._took_over(*result.lost)

    def _took_over(self, *names: str) -> None:
        """`names` were polled once since they were gained (or are gone): when no gained source
        is left unpolled, the polls held back for the takeover go on."""
        self._taking_over.difference_update(names)
        if self._taking_over:
            self._taken_over.clear()
        else:
            self._taken_over.set()

    async def _after_takeover(self, name: str) -> None:
        """Hold this source's regular poll back while sources just gained wait for their first
        poll (a dead daemon's, overdue), so they get the connections and the CPU first; never
        longer than a third of the ttl or half the source's interval."""
        if self._keeper is None or name in self._taking_over or self._taken_over.is_set():
            return
        limit = min(self._keeper.ttl / 3, self._sources[name].schedule.interval / 2)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._taken_over.wait(), limit)

    async def _run(self, name: str) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._after_takeover(name)
            if self._keeper is not None and not self._keeper.holds(name):
                return  # the lease lapsed or is about to: the next lease round decides
            with self._polling_lock:
                self._polling.add(name)
            await self.poll_once(name)
        except asyncio.CancelledError:
            return  # stopping: the poller lets a started append finish
        finally:
            self._took_over(name)
            with self._polling_lock:
                self._polling.discard(name)
            if task is not None:
                self._tasks.discard(task)

    async def poll_once(self, name: str) -> PollOutcome:
        """Poll one source now, update its pace and health, and persist both."""
        source = self._sources[name]
        started = time.monotonic()
        outcome = await self._poller.poll(source)
        self._metrics.polled(
            name,
            ok=outcome.ok,
            seconds=time.monotonic() - started,
            events={
                "PostPublished": outcome.new_posts,
                "PostRevised": outcome.revised,
                "PostWithdrawn": outcome.withdrawn,
            },
        )
        before = self._paces[name]
        pace = next_pace(source.schedule, before, outcome)
        self._paces[name] = pace
        nxt = self._reschedule(source, before, pace)
        h = self._health[name]
        h = replace(
            h,
            last_poll=_iso(outcome.at),
            posts_seen=outcome.posts_seen,
            failures=pace.failures,
            interval=pace.interval,
            next_poll=_iso(nxt),
            last_change=_iso(pace.last_change),
        )
        if outcome.ok:
            h = replace(h, last_success=_iso(outcome.at))
        else:
            h = replace(h, last_error=outcome.error, last_error_at=_iso(outcome.at))
        self._health[name] = h
        self._unsaved[name] = (h, source.url, self._fetcher.validators.get(source.url))
        if self._saving is None or self._saving.done():
            self._saving = asyncio.create_task(self._save_unsaved(), name="parley-health")
        self.polls += 1
        return outcome

    async def _save_unsaved(self) -> None:
        """Save the sources' health (and changed validators) one source at a time, the longest
        waiting first, until none is left; a poll's append submitted meanwhile waits for one
        source's writes at most."""
        while self._unsaved:
            name = next(iter(self._unsaved))
            health, url, validators = self._unsaved.pop(name)
            try:
                await self._poller.in_store(partial(self._persist, health, url, validators))
            except StoreError as exc:  # health is best effort: the next poll writes it again
                log.warning("health_not_saved", source=name, reason=str(exc))

    def _persist(self, health: SourceHealth, url: str, validators: Validators) -> None:
        self._store.put_meta(HEALTH, health.source, health.to_json())
        if self._saved_validators.get(url) != validators:
            self._store.put_meta(
                VALIDATORS,
                url,
                {"etag": validators.etag, "last_modified": validators.last_modified},
            )
            self._saved_validators[url] = validators

    def _reschedule(self, source: SourceConfig, before: Pace, pace: Pace) -> datetime | None:
        scheduler = self._scheduler
        if scheduler is None or not scheduler.running:
            return None
        if pace.interval != before.interval:
            jitter = source.schedule.jitter or None
            scheduler.reschedule_job(
                source.name, trigger=IntervalTrigger(seconds=pace.interval, jitter=jitter)
            )
            log.info(
                "source_paced", source=source.name, interval=pace.interval, failures=pace.failures
            )
        job = scheduler.get_job(source.name)
        return job.next_run_time if job is not None else None

    @property
    def running(self) -> bool:
        """True while the scheduler runs its jobs (False before start, once stopping, and after)."""
        return self._scheduler is not None and self._scheduler.state == STATE_RUNNING

    def health(self) -> list[SourceHealth]:
        """The health of every scheduled source, as last recorded."""
        return [self._health[n] for n in sorted(self._health)]

    async def stop(self, timeout: float = 5.0, grace: float = 1.0) -> None:
        """Stop polling: no new polls; polls in flight get `grace` seconds to end on their own,
        then their fetches are cancelled; appends already started always finish."""
        scheduler = self._scheduler
        if scheduler is not None and scheduler.running:
            scheduler.pause()  # no new polls
        await asyncio.sleep(0)  # polls just submitted start, and register in _tasks
        if self._tasks and grace > 0:
            await asyncio.wait(list(self._tasks), timeout=grace)
        for task in list(self._tasks):
            task.cancel()  # _run swallows the cancellation; a started append still finishes
        try:
            async with asyncio.timeout(timeout):
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
                await self._poller.drain()
                if self._saving is not None:  # the health of the last polls
                    await self._saving
        except TimeoutError:
            log.warning("daemon_stop_timeout", seconds=timeout)
        if scheduler is not None and scheduler.running:
            scheduler.shutdown(wait=False)  # every job has ended: nothing left to cancel
        if self._leasing is not None:  # the keeper's thread releases every lease as it ends
            self._leasing_stop.set()
            await asyncio.get_running_loop().run_in_executor(None, self._leasing.join, timeout)
        log.info("daemon_stopped", polls=self.polls)
