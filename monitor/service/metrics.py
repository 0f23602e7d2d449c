"""Parley's Prometheus metrics: one `CollectorRegistry` per app, never the global one.

`Metrics` implements both `monitor.service.ports.PollMetrics` (the daemon) and
`alerts.ports.AlertMetrics` (the delivery worker); the endpoints service sets the log gauges
(head, projector lag, database and scheduler up) each time it probes. `render()` gives the text
exposition format. Every name and label is listed, with its meaning, in docs/metrics.md.

A registry per app (not prometheus_client's global `REGISTRY`) lets tests and several apps in
one process keep their own numbers. All instruments are thread-safe: the delivery worker reports
from the store thread, the daemon from the event loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from threading import Lock

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
"""The text exposition format `render()` writes (what every Prometheus server reads)."""

POLL_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# From a view change to the channel's answer: immediate sends take well under a second; grouping
# (group_wait, default 10 s), rate limits, digests and retries with backoff take minutes to hours.
DELIVERY_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0)


class _LastSuccessAge:
    """A collector computing each source's seconds since its last successful poll at scrape
    time (since the daemon started, for a source that has not succeeded yet)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._since: dict[str, float] = {}
        self._lock = Lock()

    def started(self, names: Sequence[str]) -> None:
        now = self._clock()
        with self._lock:
            for name in names:
                self._since.setdefault(name, now)

    def succeeded(self, name: str, at: float) -> None:
        with self._lock:
            self._since[name] = at

    def describe(self) -> list[Metric]:
        return [self._family()]

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        now = self._clock()
        with self._lock:
            since = sorted(self._since.items())
        for name, at in since:
            family.add_metric([name], max(0.0, now - at))
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "parley_source_last_success_age_seconds",
            "Seconds since the source's last successful poll (since the daemon started when none yet).",
            labels=["source"],
        )


class Metrics:
    """Every instrument of one app, in its own registry. Construction registers, does no I/O."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._clock = clock
        self.polls = Counter(
            "parley_polls", "Polls of a source that ended (ok or not).", ["source"], registry=r
        )
        self.poll_failures = Counter(
            "parley_poll_failures", "Polls of a source that failed.", ["source"], registry=r
        )
        self.poll_seconds = Histogram(
            "parley_poll_duration_seconds",
            "Time one poll took: fetch, parse, decide and append.",
            buckets=POLL_BUCKETS,
            registry=r,
        )
        self.last_success = Gauge(
            "parley_source_last_success_timestamp_seconds",
            "Unix time of the source's last successful poll.",
            ["source"],
            registry=r,
        )
        self._ages = _LastSuccessAge(clock)
        r.register(self._ages)
        self.events = Counter(
            "parley_events_appended",
            "Events this process appended to the log, by event type.",
            ["type"],
            registry=r,
        )
        self.head = Gauge(
            "parley_log_head_position", "Position of the newest event in the log.", registry=r
        )
        self.lag = Gauge(
            "parley_projector_lag_events",
            "Events in the log that the projector has not applied yet.",
            ["projector"],
            registry=r,
        )
        self.database_up = Gauge(
            "parley_database_up", "1 when the database answered the last probe, else 0.", registry=r
        )
        self.scheduler_running = Gauge(
            "parley_scheduler_running", "1 while the polling scheduler runs, else 0.", registry=r
        )
        self.raised = Counter(
            "parley_alerts_raised", "Alert messages raised (AlertRaised).", ["channel"], registry=r
        )
        self.delivered = Counter(
            "parley_alerts_delivered",
            "Alert messages delivered (sent, or grouped into an alert that was sent).",
            ["channel"],
            registry=r,
        )
        self.retried = Counter(
            "parley_alerts_retried",
            "Alert messages whose attempt failed and that wait for a retry.",
            ["channel"],
            registry=r,
        )
        self.failed = Counter(
            "parley_alerts_failed",
            "Alert messages given up on (AlertFailed).",
            ["channel"],
            registry=r,
        )
        self.delivery_seconds = Histogram(
            "parley_alert_delivery_latency_seconds",
            "From the view change writing the message to the outbox to the channel's answer.",
            ["channel"],
            buckets=DELIVERY_BUCKETS,
            registry=r,
        )

    def render(self) -> bytes:
        """The registry in the Prometheus text format (`CONTENT_TYPE`)."""
        return generate_latest(self.registry)

    # PollMetrics -------------------------------------------------------------------------------
    def sources(self, names: Sequence[str]) -> None:
        for name in names:  # a series at 0 from the start: rate() and absent() work at once
            self.polls.labels(source=name)
            self.poll_failures.labels(source=name)
        self._ages.started(names)

    def polled(self, source: str, *, ok: bool, seconds: float, events: Mapping[str, int]) -> None:
        self.polls.labels(source=source).inc()
        self.poll_seconds.observe(seconds)
        if ok:
            now = self._clock()
            self.last_success.labels(source=source).set(now)
            self._ages.succeeded(source, now)
        else:
            self.poll_failures.labels(source=source).inc()
        for event_type, count in events.items():
            if count:
                self.events.labels(type=event_type).inc(count)

    def appended(self, event_type: str, count: int) -> None:
        self.events.labels(type=event_type).inc(count)

    # AlertMetrics ------------------------------------------------------------------------------
    def alert_raised(self, channel: str) -> None:
        self.raised.labels(channel=channel).inc()
        self.events.labels(type="AlertRaised").inc()

    def alert_delivered(self, channel: str, latencies: Sequence[float]) -> None:
        self.delivered.labels(channel=channel).inc(len(latencies))
        self.events.labels(type="AlertDelivered").inc()  # one per send, for the lead message
        histogram = self.delivery_seconds.labels(channel=channel)
        for seconds in latencies:
            histogram.observe(seconds)

    def alert_retried(self, channel: str, count: int) -> None:
        self.retried.labels(channel=channel).inc(count)

    def alert_failed(self, channel: str, count: int) -> None:
        self.failed.labels(channel=channel).inc(count)
        if channel != "?":  # an unreadable outbox message is marked failed without a trail event
            self.events.labels(type="AlertFailed").inc()

    def channels(self, names: Sequence[str]) -> None:
        """The configured channels, so their series exist (at 0) before the first alert."""
        for name in names:
            for counter in (self.raised, self.delivered, self.retried, self.failed):
                counter.labels(channel=name)
            self.delivery_seconds.labels(channel=name)

    # Probes ------------------------------------------------------------------------------------
    def log_state(self, *, head: int, lags: Mapping[str, int]) -> None:
        """What the last probe of the database saw."""
        self.database_up.set(1)
        self.head.set(head)
        for projector, lag in lags.items():
            self.lag.labels(projector=projector).set(lag)
