"""One poll of one source: fetch → parse (following next pages) → tracker → append. The shell.

`Poller.poll(source)` never raises for a source's own trouble: a fetch error, a page that does
not parse, or a store that refuses the append is logged (`source_failed`, with the source and the
reason) and returned as a failed `PollOutcome`, so the scheduler keeps polling everything else.
A successful poll logs `source_polled` with `new_posts`, `revised` and `withdrawn` (at INFO
when it appended something, DEBUG otherwise).

The tracker's knowledge (post id → last hash, per source) is rebuilt from the log on start with
`load_knowledge(store)`; after that the poller keeps it current itself. When another writer got
to a post stream first (`ConcurrencyError`), the poller re-reads those streams and decides again,
so two pollers of one source never append an event twice.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import structlog

from monitor.config import SourceConfig
from monitor.errors import MonitorError
from monitor.events import PostPublished, PostRevised, PostWithdrawn
from monitor.fetch import Fetcher, FetchError, Validators
from monitor.parse_pool import PageParser, ParsePool
from monitor.sources.base import ParsedPage, SourceKind
from monitor.tracker import (
    POST_EVENT_TYPES,
    Decision,
    KnownPost,
    decide,
    knowledge_from,
    learn,
)
from store.errors import ConcurrencyError, StoreError
from store.mapper import from_recorded
from store.ports import EventStore
from store.records import NewEvent

log = structlog.get_logger(__name__)
T = TypeVar("T")
MAX_PAGES = 10  # next pages followed in one poll; a pagination loop cannot run away
_PARSED_CACHE = 8192  # pages whose last parse is kept for reuse (one per URL)
_CONFLICT_RETRIES = 3


@dataclass(frozen=True, kw_only=True, slots=True)
class PollOutcome:
    """What one poll did. `error` is the reason when it failed (then nothing was appended)."""

    source: str
    at: datetime
    new_posts: int = 0
    revised: int = 0
    withdrawn: int = 0
    not_modified: bool = False
    pages: int = 0
    posts_seen: int = 0
    error: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def changed(self) -> bool:
        """True when the poll appended anything (a sign the source is active)."""
        return bool(self.new_posts or self.revised or self.withdrawn)


class _PollFailedError(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def parse_in_worker(
    kind: str, body: bytes, url: str, ctype: str | None, settings: dict[str, Any]
) -> ParsedPage:
    """Parse one page with the registered kind `kind` (for a `concurrent.futures` executor)."""
    from monitor.sources import get_kind

    return get_kind(kind).parse(body, url=url, content_type=ctype, settings=settings)


def parse_pool(workers: int) -> ParsePool:
    """A pool of `workers` parse processes (spawned, so no thread of ours is forked), talking to
    the event loop over socket pairs (`monitor.parse_pool`)."""
    return ParsePool(workers)


def load_knowledge(store: EventStore) -> dict[str, dict[str, KnownPost]]:
    """Every source's post knowledge, folded from the post events in the log (one pass)."""
    return knowledge_from(store.read(event_types=list(POST_EVENT_TYPES)))


class Poller:
    """Polls sources into the log. Store calls run on `executor` (one thread keeps them serial).

    With `parse_pool` (see `parse_pool()`), pages are parsed in worker processes, so parsing
    uses every core and the event loop keeps fetching meanwhile.
    """

    def __init__(
        self,
        *,
        store: EventStore,
        fetcher: Fetcher,
        kinds: Mapping[str, SourceKind],
        executor: Executor,
        knowledge: dict[str, dict[str, KnownPost]] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_pages: int = MAX_PAGES,
        parse_pool: ParsePool | Executor | None = None,
    ) -> None:
        self._store = store
        self._fetcher = fetcher
        self._kinds = kinds
        self._executor = executor
        self.knowledge: dict[str, dict[str, KnownPost]] = knowledge if knowledge is not None else {}
        self._clock = clock
        self._max_pages = max_pages
        self._parse_pool = parse_pool  # worker processes for parsing; None parses in-process
        self._appends: set[asyncio.Future[Any]] = set()
        # Group commit: batches of post events wait here while an append is running, then go to
        # the store together in one transaction (one commit, one fsync for many sources).
        self._pending: list[tuple[list[NewEvent], asyncio.Future[list[int]]]] = []
        self._flushes: set[asyncio.Task[None]] = set()
        # URL -> (what was parsed, its ParsedPage): a 200 whose body and parse inputs are the
        # same as last time (a server without validators, or one that changes its ETag for
        # nothing) reuses the page instead of parsing it again; parsing is a pure function.
        self._parsed: dict[str, tuple[tuple[str, str, str | None, str], ParsedPage]] = {}
        self._reader = PageParser()  # parses in this process reuse each page's unchanged bodies

    async def in_store(self, fn: Callable[[], T]) -> T:
        """Run a store call on the store executor; a cancelled caller still lets it finish."""
        future = asyncio.get_running_loop().run_in_executor(self._executor, fn)
        self._appends.add(future)
        future.add_done_callback(self._appends.discard)
        return await asyncio.shield(future)  # a cancelled poll still lets its append finish

    async def drain(self) -> None:
        """Wait for every store call already started (used at shutdown)."""
        while self._appends or self._flushes:
            await asyncio.gather(*self._appends, *self._flushes, return_exceptions=True)

    async def _append(self, batch: list[NewEvent]) -> list[int]:
        """Append one poll's events, grouped with other polls' into one store call when they meet;
        return each event's position.

        Raises what `EventStore.append` raises for this batch alone (a group that fails is
        retried batch by batch, so one source's conflict never fails another's append).
        """
        done: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        self._pending.append((batch, done))
        self._flush()
        return await asyncio.shield(done)  # a cancelled poll still lets its append finish

    def _flush(self) -> None:
        if self._flushes or not self._pending:
            return  # the running flush takes the waiting batches when it ends
        group, self._pending = self._pending, []
        task = asyncio.ensure_future(self._append_group(group))
        self._flushes.add(task)
        task.add_done_callback(self._flushed)

    def _flushed(self, task: asyncio.Task[None]) -> None:
        self._flushes.discard(task)
        self._flush()

    async def _append_group(
        self, group: list[tuple[list[NewEvent], asyncio.Future[list[int]]]]
    ) -> None:
        results: list[list[int] | Exception]
        try:
            results = await self.in_store(partial(self._store_group, [b for b, _ in group]))
        except Exception as exc:  # not a store refusal: every waiting poll gets it
            results = [exc] * len(group)
        for (_, done), result in zip(group, results, strict=True):
            if done.done():
                continue
            if isinstance(result, Exception):
                done.set_exception(result)
            else:
                done.set_result(result)

    def _store_group(self, batches: list[list[NewEvent]]) -> list[list[int] | Exception]:
        """Runs on the store thread: one append for the group, else one per batch.

        Returns each batch's positions, or the error that refused it."""
        if len(batches) > 1:
            try:
                positions = self._store.append([e for b in batches for e in b])
            except StoreError:
                pass  # find out whose batch it was, batch by batch
            else:
                out: list[list[int] | Exception] = []
                start = 0
                for b in batches:
                    out.append(positions[start : start + len(b)])
                    start += len(b)
                return out
        results: list[list[int] | Exception] = []
        for batch in batches:
            try:
                results.append(self._store.append(batch))
            except StoreError as exc:
                results.append(exc)
        return results

    async def poll(self, source: SourceConfig) -> PollOutcome:
        """Poll `source` once: append what changed and report it. Never raises for the source's faults."""
        with structlog.contextvars.bound_contextvars(source=source.name):
            return await self._poll(source)

    async def _poll(self, source: SourceConfig) -> PollOutcome:
        at = self._clock()
        try:
            pages, not_modified = await self._fetch_pages(source)
            if not_modified:
                outcome = PollOutcome(
                    source=source.name,
                    at=at,
                    not_modified=True,
                    posts_seen=self._seen(source.name),
                )
            else:
                decision = await self._record(source.name, pages, at)
                outcome = PollOutcome(
                    source=source.name,
                    at=at,
                    new_posts=decision.count(PostPublished),
                    revised=decision.count(PostRevised),
                    withdrawn=decision.count(PostWithdrawn),
                    pages=len(pages),
                    posts_seen=self._seen(source.name),
                )
        except _PollFailedError as exc:
            # Forget the first page's validators: the next poll must read it whole, or the posts
            # of this failed poll would hide behind a 304.
            self._fetcher.validators.put(source.url, Validators())
            log.warning("source_failed", source=source.name, url=source.url, reason=exc.reason)
            return PollOutcome(
                source=source.name,
                at=at,
                error=exc.reason,
                retry_after=exc.retry_after,
                posts_seen=self._seen(source.name),
            )
        # INFO only when the poll appended something (its events have their own lines too); an
        # unchanged source is DEBUG: at 1,000 sources that is most polls, and `parley sources`
        # shows each source's last poll anyway.
        (log.info if outcome.changed else log.debug)(
            "source_polled",
            source=source.name,
            new_posts=outcome.new_posts,
            revised=outcome.revised,
            withdrawn=outcome.withdrawn,
            not_modified=outcome.not_modified,
            pages=outcome.pages,
        )
        return outcome

    async def _parse(
        self, kind: SourceKind, body: bytes, url: str, ctype: str | None, source: SourceConfig
    ) -> ParsedPage:
        key = (
            kind.kind,
            hashlib.blake2b(body, digest_size=16).hexdigest(),
            ctype,
            repr(sorted(source.settings.items())),
        )
        cached = self._parsed.get(url)
        if cached is not None and cached[0] == key:
            return cached[1]
        if self._parse_pool is None:
            page = self._reader.parse(kind, body, url, ctype, source.settings)
        elif isinstance(self._parse_pool, ParsePool):
            page = await self._parse_pool.parse(kind.kind, body, url, ctype, dict(source.settings))
        else:  # any concurrent.futures executor
            loop = asyncio.get_running_loop()
            settings = dict(source.settings)
            page = await loop.run_in_executor(
                self._parse_pool, parse_in_worker, kind.kind, body, url, ctype, settings
            )
        if len(self._parsed) >= _PARSED_CACHE:
            self._parsed.clear()
        self._parsed[url] = (key, page)
        return page

    def _seen(self, source: str) -> int:
        return sum(1 for k in self.knowledge.get(source, {}).values() if not k.withdrawn)

    async def _fetch_pages(self, source: SourceConfig) -> tuple[list[ParsedPage], bool]:
        """The parsed pages of one poll, or ([], True) when the first page is unchanged (304)."""
        kind = self._kinds.get(source.parser_kind)
        if kind is None:
            raise _PollFailedError(f"no parser for kind {source.kind!r}")
        pages: list[ParsedPage] = []
        queue, visited = [source.url], {source.url}
        while queue and len(pages) < self._max_pages:
            url = queue.pop(0)
            first = not pages
            try:
                # Only the first page is fetched conditionally: later pages must be read whole
                # for the poll to know every post they hold.
                result = await self._fetcher.fetch(url, validators=None if first else Validators())
            except FetchError as exc:
                raise _PollFailedError(str(exc), exc.retry_after) from None
            if result.not_modified:
                if first:
                    return [], True
                raise _PollFailedError(
                    f"{url}: 304 Not Modified for a page fetched unconditionally"
                )
            try:
                page = await self._parse(kind, result.body, result.url, result.content_type, source)
            except MonitorError as exc:
                raise _PollFailedError(str(exc)) from None
            except Exception as exc:  # a parser bug must not stop the daemon: name it and go on
                raise _PollFailedError(
                    f"{url}: parser {kind.kind!r} failed: {type(exc).__name__}: {exc}"
                ) from None
            pages.append(page)
            for nxt in page.next_pages:
                if nxt not in visited:
                    visited.add(nxt)
                    queue.append(nxt)
        return pages, False

    async def _record(self, source: str, pages: Sequence[ParsedPage], at: datetime) -> Decision:
        """Decide and append; on a version conflict re-read the streams involved and decide again."""
        known = self.knowledge.setdefault(source, {})
        for _ in range(_CONFLICT_RETRIES):
            decision = decide(source, known, pages, seen_at=at)
            if not decision.events:
                return decision
            batch = [e.to_new_event() for e in decision.events]
            try:
                positions = await self._append(batch)
            except ConcurrencyError:
                streams = [e.stream_id for e in decision.events]
                await self.in_store(partial(self._refresh, known, streams))
                continue
            except StoreError as exc:
                raise _PollFailedError(f"cannot append to the log: {exc}") from None
            known.clear()
            known.update(decision.knowledge)
            for event, position in zip(batch, positions, strict=True):
                log.info(
                    "post_recorded",
                    source=source,
                    post=event.stream_id.split(":", 2)[2],
                    type=event.event_type,
                    position=position,
                )
            return decision
        raise _PollFailedError(
            f"post streams kept changing under another writer ({_CONFLICT_RETRIES} tries)"
        )

    def _refresh(self, known: dict[str, KnownPost], streams: Sequence[str]) -> None:
        for stream in streams:
            records = self._store.read_stream(stream)
            post_id = stream.split(":", 2)[2]
            known.pop(post_id, None)
            for record in records:
                learn(known, from_recorded(record), version=record.stream_version)
