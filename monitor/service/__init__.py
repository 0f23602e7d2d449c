"""What `parley run` shows the outside world: /healthz, /readyz and /metrics, and its counters.

- `ports`: the small interface the daemon increments (`PollMetrics`), with a no-op default, so
  the poller and daemon stay testable without any of this.
- `metrics`: `Metrics`, one Prometheus `CollectorRegistry` per app with every instrument.
- `health`: the readiness verdict, a pure function of what the probes saw.
- `http`: a small asyncio HTTP/1.1 server (GET and HEAD, one request per connection).
- `endpoints`: the bootstrap service that binds the three endpoints together.

Imported lazily: this package's `__init__` imports nothing heavy.
"""
