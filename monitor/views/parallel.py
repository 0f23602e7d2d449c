"""Claims read ahead in worker processes, while the fold goes on in log order.

Reading a post into claims (`monitor.claims.extract`) is a pure function of the post and the
rules pack, and it is most of a replay's cost; the fold after it is sequential. So a long
catch-up or replay hands the posts to a small pool of worker processes, a chunk at a time and a
few chunks ahead, and folds each event as before, in log order, with the claims the workers
read for it:

    pool = ExtractPool(pack, workers=2)
    for event in pool.prefetch(store.read(1)):      # the same events, in the same order
        claims = pool.claims_for(event)             # read ahead by a worker (None: read it here)

The claims are the same as reading in-process (the same function, on the same payload); the
tests fold the seed and a generated log both ways and compare the views byte for byte. A short
read (fewer than `min_events` events) never starts the pool: the daemon following the log live
reads each new post in its own process. The workers are started on first use with the
`forkserver` method (never `fork`: the daemon has threads) and given the pack once; they stop
with `close()` or at exit.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import pickle
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from typing import Any

import structlog

from monitor.claims import Claim, RulesPack, extract
from monitor.posts import Post
from store.records import RecordedEvent

POST_EVENTS = frozenset({"PostPublished", "PostRevised"})
CHUNK = 250
"""Events per task: large enough that a task's overhead (pickling, a queue round trip) is small."""
AHEAD = 4
"""Chunks in flight per worker: the workers keep ahead of the fold without holding the whole log."""
MIN_EVENTS = 1_000
"""A read shorter than this is folded in-process (starting workers costs more than it saves)."""

ENV = "PARLEY_EXTRACT_WORKERS"
_PRELOAD = ("monitor.views.parallel", "monitor.claims", "monitor.posts")

ClaimRow = tuple[Any, ...]
_POOL_FAILURES = (BrokenProcessPool, OSError, RuntimeError, EOFError)

log = structlog.get_logger("monitor.views")


def default_workers() -> int:
    """Worker processes for catch-up and replay: `PARLEY_EXTRACT_WORKERS` when set, else 2 on a
    machine with 2 CPUs or more, else 0 (in-process). 0 and 1 both mean in-process."""
    text = os.environ.get(ENV, "").strip()
    if text:
        try:
            return max(0, int(text))
        except ValueError as exc:
            raise ValueError(f"{ENV} must be a whole number of processes, not {text!r}") from exc
    return 2 if (os.cpu_count() or 1) >= 2 else 0


# The worker side ---------------------------------------------------------------------------------
_WORKER: dict[str, RulesPack] = {}  # the pack a worker process reads with


def _start_worker(pack_bytes: bytes, parent: int) -> None:
    _WORKER["pack"] = pickle.loads(pack_bytes)  # noqa: S301 - our own pack, from our parent
    threading.Thread(
        target=_watch, args=(parent,), name="parley-extract-watch", daemon=True
    ).start()


def _watch(parent: int) -> None:
    """Exit when the process that started us is gone (killed, so it could not stop us): an
    orphaned worker would otherwise wait on its queue forever."""
    while True:
        time.sleep(2.0)
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            continue


def _read_chunk(posts: list[dict[str, Any]]) -> list[list[ClaimRow]]:
    """Each post payload's claims, as plain tuples (cheaper to send back than the dataclasses)."""
    pack = _WORKER["pack"]
    return [
        [
            (c.post_id, c.kind, c.actor, c.topic, c.parties, c.attrs, c.quote, c.span, c.rule)
            for c in extract(Post.from_payload(post), pack)
        ]
        for post in posts
    ]


def _claims(rows: list[ClaimRow]) -> list[Claim]:
    return [
        Claim(
            post_id=p,
            kind=k,
            actor=a,
            topic=t,
            parties=parties,
            attrs=attrs,
            quote=q,
            span=span,
            rule=rule,
        )
        for p, k, a, t, parties, attrs, q, span, rule in rows
    ]


# The parent side ---------------------------------------------------------------------------------
class ExtractPool:
    """Reads posts into claims in `workers` processes, ahead of an in-order fold.

    `workers` 0 or 1 reads in-process (`prefetch` returns the events untouched). Not thread-safe:
    one fold at a time uses it.
    """

    def __init__(
        self,
        pack: RulesPack,
        workers: int,
        *,
        chunk: int = CHUNK,
        min_events: int = MIN_EVENTS,
    ) -> None:
        if workers < 0:
            raise ValueError("workers must be 0 or more")
        self.pack = pack
        self.workers = workers if workers >= 2 else 0
        self.chunk = chunk
        self.min_events = min_events
        self._executor: ProcessPoolExecutor | None = None
        self._ready: dict[int, list[Claim]] = {}
        self._lock = threading.Lock()

    def claims_for(self, event: RecordedEvent) -> list[Claim] | None:
        """The claims a worker read for `event` (once), or None when it was not read ahead."""
        rows = self._ready.pop(event.position, None)
        return None if rows is None else rows

    def prefetch(
        self, events: Iterable[RecordedEvent], *, expected: int | None = None
    ) -> Iterator[RecordedEvent]:
        """`events`, in order, with their posts read ahead by the workers (see `claims_for`).

        `expected` is how many events the caller will read, when it knows: a short read stays
        in-process. Otherwise the first `min_events` events decide.
        """
        if self.workers < 2 or (expected is not None and expected < self.min_events):
            yield from events
            return
        source = iter(events)
        head = list(islice(source, self.min_events))
        if len(head) < self.min_events:
            yield from head
            return
        yield from self._ahead(_chain(head, source))

    def _ahead(self, source: Iterator[RecordedEvent]) -> Iterator[RecordedEvent]:
        try:
            executor = self._pool()
        except _POOL_FAILURES as exc:  # no process, pipe or semaphore to be had: read here
            log.warning("extract_workers_failed", error=str(exc) or type(exc).__name__)
            self.workers = 0
            yield from source
            return
        pending: deque[tuple[list[RecordedEvent], Future[list[list[ClaimRow]]] | None]] = deque()
        limit = AHEAD * self.workers

        def submit() -> bool:
            batch = list(islice(source, self.chunk))
            if not batch:
                return False
            posts = [e.data["post"] for e in batch if e.event_type in POST_EVENTS]
            future: Future[list[list[ClaimRow]]] | None = None
            if posts:
                try:
                    future = executor.submit(_read_chunk, posts)
                except _POOL_FAILURES as exc:  # reported where its result is asked for
                    future = Future()
                    future.set_exception(exc)
            pending.append((batch, future))
            return True

        more = True
        try:
            while True:
                while more and len(pending) < limit:
                    more = submit()  # what reading the log raises goes to the caller
                if not pending:
                    return
                batch, future = pending[0]
                try:
                    rows = future.result() if future is not None else []
                    pending.popleft()
                except _POOL_FAILURES as exc:
                    # the workers could not start or died: every event not yet handed over is
                    # handed over in order, and the fold reads its post itself (the same claims)
                    log.warning("extract_workers_failed", error=str(exc) or type(exc).__name__)
                    self.workers = 0
                    with self._lock:
                        self._executor = None
                    executor.shutdown(wait=False, cancel_futures=True)
                    while pending:
                        yield from pending.popleft()[0]
                    yield from source
                    return
                found = iter(rows)
                for event in batch:
                    if event.event_type in POST_EVENTS:
                        self._ready[event.position] = _claims(next(found))
                    yield event
                    self._ready.pop(event.position, None)  # not asked for: do not keep it
        finally:
            for _, future in pending:
                if future is not None:
                    future.cancel()
            self._ready.clear()

    def _pool(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None:
                context = multiprocessing.get_context("forkserver")
                # The fork server imports what the workers run once, as it starts, and every
                # worker is forked from it with those modules in place: no worker imports them
                # again from disk (quicker to start, and the same code in every worker).
                context.set_forkserver_preload(["__main__", *_PRELOAD])
                self._executor = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=context,
                    initializer=_start_worker,
                    initargs=(pickle.dumps(self.pack), os.getpid()),
                )
                atexit.register(self.close)
            return self._executor

    def worker_cpu_seconds(self) -> float:
        """CPU seconds the live workers have used (from /proc; 0.0 where it cannot be read)."""
        executor = self._executor
        processes = dict(getattr(executor, "_processes", None) or {}) if executor else {}
        total = 0.0
        for pid in processes:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", maxsplit=1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, ValueError, IndexError):
                continue
        return total

    def close(self) -> None:
        """Stop the workers (started again on the next long read)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("an ExtractPool is not sent to other processes")


def _chain(head: list[RecordedEvent], rest: Iterator[RecordedEvent]) -> Iterator[RecordedEvent]:
    yield from head
    yield from rest
