"""Fetching pages politely and defensively: the imperative shell under every source kind.

    fetcher = Fetcher(client_factory=httpx.AsyncClient, limits=FetchLimits(user_agent="..."))
    try:
        result = await fetcher.fetch(url, validators=saved)      # or rely on fetcher.validators
    except FetchError as exc:                                    # a SourceError
        failures += 1
        wait = Backoff().delay(failures, retry_after=exc.retry_after)
    else:
        failures = 0                                             # backoff resets on success
        if not result.not_modified: page = kind.parse(result.body, url=result.url, ...)
        saved = result.validators                                # persist for the next poll

What it enforces: conditional GET (ETag / Last-Modified, remembered per URL in a `ValidatorCache`
the caller may persist with `to_dict`/`from_dict`); connect and read timeouts plus a total deadline
per fetch (so a slow trickle cannot hold a poll); a cap on the body, checked against Content-Length
and counted on the decompressed bytes while streaming; at most `max_redirects` redirects, loops
named as such; Retry-After on 429 and 503 carried in the error as seconds; at most
`per_host_concurrency` requests in flight per host; a User-Agent with a contact address.
Every failure raises `FetchError` (a `monitor.errors.SourceError`) whose message names the URL and
the reason. Constructors do no I/O; the default client is built on the first fetch.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import structlog

from monitor.errors import SourceError

log = structlog.get_logger(__name__)

DEFAULT_USER_AGENT = "Parley/0.1 (news monitor; +https://github.com/parley-news/parley)"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_THROTTLED = frozenset({429, 503})
_URL_CACHE = 65536  # parsed URLs kept (one per source page)


class FetchError(SourceError):
    """A fetch that failed: `url`, `reason`, the HTTP `status` if any, `retry_after` seconds if asked."""

    def __init__(
        self, url: str, reason: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


@dataclass(frozen=True, kw_only=True, slots=True)
class Validators:
    """What a conditional GET sends back: the last ETag and Last-Modified seen for a URL."""

    etag: str | None = None
    last_modified: str | None = None

    def request_headers(self) -> dict[str, str]:
        """If-None-Match / If-Modified-Since headers for these validators."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


class ValidatorCache:
    """Validators per URL; small, and plain data in and out so the caller can persist it."""

    def __init__(self, entries: Mapping[str, Validators] | None = None) -> None:
        self._entries: dict[str, Validators] = dict(entries or {})

    def get(self, url: str) -> Validators:
        return self._entries.get(url, Validators())

    def put(self, url: str, validators: Validators) -> None:
        self._entries[url] = validators

    def to_dict(self) -> dict[str, dict[str, str | None]]:
        return {
            u: {"etag": v.etag, "last_modified": v.last_modified} for u, v in self._entries.items()
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Mapping[str, Any]]) -> ValidatorCache:
        return cls(
            {
                u: Validators(etag=d.get("etag"), last_modified=d.get("last_modified"))
                for u, d in data.items()
            }
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class FetchLimits:
    """Limits and identity of every fetch; field names match `monitor.config.HttpConfig`."""

    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0  # the whole fetch, redirects included: a slow trickle ends here
    max_bytes: int = 10 * 1024 * 1024  # decompressed body
    max_redirects: int = 5
    per_host_concurrency: int = 4


@dataclass(frozen=True, kw_only=True, slots=True)
class FetchResult:
    """One completed fetch. `not_modified` is True on 304 (then `body` is empty)."""

    url: str  # the final URL, after redirects
    status: int
    body: bytes
    content_type: str | None
    not_modified: bool
    validators: Validators
    retry_after: float | None = None  # a Retry-After the server sent with a success, if any
    elapsed: float = 0.0  # seconds


@dataclass(frozen=True, kw_only=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter: a pure policy, the caller counts failures.

    `delay(n)` for the n-th consecutive failure is uniform in [0, min(cap, base * 2**(n-1))], and
    never less than a server's Retry-After; `delay(0)` (the last poll succeeded) is 0.
    """

    base: float = 5.0
    cap: float = 3600.0
    random: Callable[[], float] = field(default=random.random)

    def delay(self, failures: int, *, retry_after: float | None = None) -> float:
        """Seconds to wait before the next try after `failures` consecutive failures."""
        if failures <= 0:
            return max(0.0, retry_after or 0.0)
        ceiling = min(self.cap, self.base * 2.0 ** min(failures - 1, 64))
        wait = ceiling * min(max(self.random(), 0.0), 1.0)
        return max(wait, retry_after or 0.0)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "¹" and "٣" are digits to str.isdigit, not to float()
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class Fetcher:
    """Fetches URLs under `limits` with an injected httpx.AsyncClient (or a factory for one)."""

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
        *,
        client_factory: Callable[[], httpx.AsyncClient] | None = None,
        limits: FetchLimits | None = None,
        validators: ValidatorCache | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.limits = limits or FetchLimits()
        self.validators = validators if validators is not None else ValidatorCache()
        self._client = client
        self._owns_client = client is None
        self._factory = client_factory or self._default_client
        self._now = now
        self._hosts: dict[str, asyncio.Semaphore] = {}
        timeout = httpx.Timeout(self.limits.read_timeout, connect=self.limits.connect_timeout)
        self._extensions = {"timeout": timeout.as_dict()}
        self._headers: httpx.Headers | None = None
        self._urls: dict[str, httpx.URL] = {}
        self._headers_of: httpx.AsyncClient | None = None

    def _default_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            follow_redirects=False,
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the client if the fetcher built it (an injected client stays the caller's)."""
        if self._client is not None and self._owns_client:
            await self._client.aclose()
            self._client = None

    def _host_limit(self, host: str) -> asyncio.Semaphore:
        if host not in self._hosts:
            self._hosts[host] = asyncio.Semaphore(self.limits.per_host_concurrency)
        return self._hosts[host]

    async def fetch(self, url: str, *, validators: Validators | None = None) -> FetchResult:
        """GET `url` conditionally. Raises FetchError naming the URL and the reason on any failure.

        `validators` default to the ones remembered for `url`; on success the new ones are both
        remembered and returned in the result.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise FetchError(url, "only http and https URLs can be fetched")
        sent = validators if validators is not None else self.validators.get(url)
        async with self._host_limit(parts.netloc.lower()):
            started = time.monotonic()
            try:
                async with asyncio.timeout(self.limits.total_timeout):
                    result = await self._follow(url, sent, started)
            except TimeoutError:
                raise FetchError(
                    url,
                    f"no complete response within the {self.limits.total_timeout:g} s deadline "
                    "(slow or endless response)",
                ) from None
        self.validators.put(url, result.validators)
        log.debug("fetched", url=url, status=result.status, bytes=len(result.body))
        return result

    async def _follow(self, url: str, sent: Validators, started: float) -> FetchResult:
        if self._client is None:
            self._client = self._factory()
        visited = [url]
        current = url
        while True:
            outcome = await self._get_once(current, sent, started)
            if isinstance(outcome, FetchResult):
                return outcome
            target = urljoin(current, outcome)
            if target in visited:
                chain = " -> ".join([*visited, target])
                raise FetchError(url, f"redirect loop: {chain}")
            if len(visited) > self.limits.max_redirects:
                raise FetchError(url, f"more than {self.limits.max_redirects} redirects")
            visited.append(target)
            current = target
            sent = Validators()  # validators belong to the first URL only

    def _base_headers(self, client: httpx.AsyncClient) -> httpx.Headers:
        """The client's default headers (Accept, Accept-Encoding, Connection) with our User-Agent."""
        if self._headers is None or self._headers_of is not client:
            headers = httpx.Headers(client.headers)
            headers["User-Agent"] = self.limits.user_agent
            self._headers, self._headers_of = headers, client
        return self._headers

    def _url(self, url: str) -> httpx.URL:
        """`url` parsed once: a source's URL is fetched again every poll (httpx.URL is immutable)."""
        parsed = self._urls.get(url)
        if parsed is None:
            if len(self._urls) >= _URL_CACHE:
                self._urls.clear()
            parsed = self._urls[url] = httpx.URL(url)
        return parsed

    async def _get_once(self, url: str, sent: Validators, started: float) -> FetchResult | str:
        """A FetchResult, or the Location to follow. Raises FetchError."""
        client = self._client
        assert client is not None
        headers = self._base_headers(client)
        if sent.etag or sent.last_modified:
            headers = httpx.Headers(headers)
            headers.update(sent.request_headers())
        try:
            request = httpx.Request(
                "GET", self._url(url), headers=headers, extensions=self._extensions
            )
            # The request goes straight to the transport the client would pick for this URL (its
            # connection pool, or a proxy from the environment): the client's own layer (cookies,
            # auth, event hooks, its redirect loop and request log line) does nothing Parley uses
            # and cost about a fifth of each fetch's CPU. Redirects are followed by `_follow`.
            # (`_transport_for_url` is the client's own choice of transport, unchanged from httpx
            # 0.27 to 0.28; pyproject.toml keeps httpx below 0.29.)
            transport = client._transport_for_url(request.url)
            response = await transport.handle_async_request(request)
            response.request = request
            try:
                return await self._read(url, response, sent, started)
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            raise FetchError(url, f"timed out ({type(exc).__name__})") from exc
        except httpx.DecodingError as exc:
            raise FetchError(url, f"could not decode the compressed body: {exc}") from exc
        except httpx.HTTPError as exc:
            raise FetchError(url, f"request failed: {type(exc).__name__}: {exc}") from exc

    async def _read(
        self, url: str, response: httpx.Response, sent: Validators, started: float
    ) -> FetchResult | str:
        status = response.status_code
        retry_after = parse_retry_after(response.headers.get("retry-after"), self._now())
        if status in _REDIRECTS:
            location: str = response.headers.get("location", "")
            if not location:
                raise FetchError(url, f"HTTP {status} redirect without a Location header")
            return location
        if status == 304:
            # Read the (empty) body to its end: a response closed unread takes its keep-alive
            # connection with it, and every 304 would then cost a new TCP connection.
            await response.aread()
            return FetchResult(
                url=url,
                status=status,
                body=b"",
                content_type=response.headers.get("content-type"),
                not_modified=True,
                validators=_validators(response, fallback=sent),
                retry_after=retry_after,
                elapsed=time.monotonic() - started,
            )
        if status >= 400:
            wait = f" (retry after {retry_after:.0f} s)" if retry_after is not None else ""
            raise FetchError(
                url,
                f"HTTP {status} {response.reason_phrase}{wait}".rstrip(),
                status=status,
                retry_after=retry_after if status in _THROTTLED else None,
            )
        body = await self._body(url, response)
        return FetchResult(
            url=url,
            status=status,
            body=body,
            content_type=response.headers.get("content-type"),
            not_modified=False,
            validators=_validators(response, fallback=Validators()),
            retry_after=retry_after,
            elapsed=time.monotonic() - started,
        )

    async def _body(self, url: str, response: httpx.Response) -> bytes:
        cap = self.limits.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise FetchError(url, f"response too large: Content-Length {declared} > {cap} bytes")
        chunks: list[bytes] = []
        total = 0
        async for chunk in response.aiter_bytes():  # decoded: caps the decompressed size
            total += len(chunk)
            if total > cap:
                raise FetchError(url, f"response too large: more than {cap} bytes (decompressed)")
            chunks.append(chunk)
        return b"".join(chunks)


def _validators(response: httpx.Response, *, fallback: Validators) -> Validators:
    """The response's validators; a 304 that omits one keeps the one that was sent."""
    return Validators(
        etag=response.headers.get("etag") or fallback.etag,
        last_modified=response.headers.get("last-modified") or fallback.last_modified,
    )
