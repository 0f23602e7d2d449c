"""The fetcher against real HTTP servers on 127.0.0.1: the simulator (and its /fault/ endpoints)
and a small recording server; httpx.MockTransport only for answers a real server would not give."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import httpx
import pytest

from monitor.errors import SourceError
from monitor.fetch import Fetcher, FetchError, FetchLimits, FetchResult, ValidatorCache, Validators
from monitor.simulator import ManualClock, RunningServer, Simulator, bundled_page_path, load_page

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


async def fetch_once(url: str, **limits: Any) -> FetchResult:
    async with Fetcher(limits=FetchLimits(**limits)) as fetcher:
        return await fetcher.fetch(url)


def failure(url: str, **limits: Any) -> FetchError:
    with pytest.raises(FetchError) as info:
        run(fetch_once(url, **limits))
    assert isinstance(info.value, SourceError)
    assert url in str(info.value)
    return info.value


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(0.0)


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[tuple[Simulator, RunningServer]]:
    simulator = Simulator(load_page(bundled_page_path()), speed=600, clock=clock)
    with simulator.serve("127.0.0.1", 0) as server:
        yield simulator, server


def test_second_fetch_of_unchanged_feed_is_a_304_with_no_body(
    sim: tuple[Simulator, RunningServer],
) -> None:
    """The ETag remembered from the first fetch makes the second a 304: not_modified, empty body."""
    url = sim[1].urls()["rss"]

    async def twice() -> tuple[FetchResult, FetchResult]:
        async with Fetcher() as fetcher:
            return await fetcher.fetch(url), await fetcher.fetch(url)

    first, second = run(twice())
    assert (first.status, first.not_modified) == (200, False)
    assert first.body
    assert first.validators.etag
    assert (second.status, second.not_modified, second.body) == (304, True, b"")
    assert second.validators == first.validators


def test_last_modified_alone_also_gives_a_304(sim: tuple[Simulator, RunningServer]) -> None:
    """A conditional GET with only If-Modified-Since is answered 304 while nothing changed."""
    url = sim[1].urls()["jsonfeed"]

    async def go() -> FetchResult:
        async with Fetcher() as fetcher:
            first = await fetcher.fetch(url)
            assert first.validators.last_modified
            return await fetcher.fetch(
                url, validators=Validators(last_modified=first.validators.last_modified)
            )

    assert run(go()).not_modified


def test_new_post_turns_the_304_back_into_a_200(
    sim: tuple[Simulator, RunningServer], clock: ManualClock
) -> None:
    """When the page gains a post, the remembered ETag no longer matches and the new body comes back."""
    url = sim[1].urls()["atom"]

    async def go() -> tuple[FetchResult, FetchResult]:
        async with Fetcher() as fetcher:
            first = await fetcher.fetch(url)
            clock.advance(60)  # 10 page-hours: everything published
            return first, await fetcher.fetch(url)

    first, second = run(go())
    assert second.status == 200
    assert second.validators.etag != first.validators.etag
    assert len(second.body) > len(first.body)


def test_persisted_validator_cache_makes_the_first_fetch_of_a_new_fetcher_conditional(
    sim: tuple[Simulator, RunningServer],
) -> None:
    """ValidatorCache.to_dict/from_dict carries validators across processes."""
    url = sim[1].urls()["liveblog"]
    cache = ValidatorCache()

    async def first() -> None:
        async with Fetcher(validators=cache) as fetcher:
            await fetcher.fetch(url)

    run(first())
    restored = ValidatorCache.from_dict(cache.to_dict())

    async def again() -> FetchResult:
        async with Fetcher(validators=restored) as fetcher:
            return await fetcher.fetch(url)

    assert run(again()).not_modified


def test_429_carries_retry_after_seconds(sim: tuple[Simulator, RunningServer]) -> None:
    """Retry-After: 120 on a 429 reaches the caller as retry_after=120 on the error."""
    error = failure(sim[1].url + "/fault/429")
    assert error.status == 429
    assert error.retry_after == 120
    assert "HTTP 429" in error.reason


def test_503_with_http_date_retry_after_becomes_seconds(
    sim: tuple[Simulator, RunningServer],
) -> None:
    """An HTTP-date Retry-After on a 503 is turned into seconds from now."""
    error = failure(sim[1].url + "/fault/503")
    assert error.status == 503
    assert error.retry_after is not None
    assert 0 < error.retry_after <= 91


@pytest.mark.parametrize(("path", "status"), [("/fault/404", 404), ("/fault/500", 500)])
def test_http_errors_name_the_status(
    sim: tuple[Simulator, RunningServer], path: str, status: int
) -> None:
    """4xx and 5xx answers raise FetchError with the status and no retry_after."""
    error = failure(sim[1].url + path)
    assert error.status == status
    assert f"HTTP {status}" in str(error)
    assert error.retry_after is None


def test_redirect_loop_is_named_as_a_loop(sim: tuple[Simulator, RunningServer]) -> None:
    """A redirect cycle is refused as a loop, listing the chain."""
    error = failure(sim[1].url + "/fault/redirect-loop")
    assert "redirect loop" in error.reason
    assert "/fault/redirect-loop-b" in error.reason


def test_redirects_within_the_limit_are_followed(sim: tuple[Simulator, RunningServer]) -> None:
    """Three redirects under a limit of five end at the feed, whose URL the result reports."""
    result = run(fetch_once(sim[1].url + "/fault/redirects?n=3"))
    assert result.status == 200
    assert result.url == sim[1].url + "/feed.rss"


def test_too_many_redirects_are_refused(sim: tuple[Simulator, RunningServer]) -> None:
    """A chain longer than max_redirects raises, naming the limit."""
    error = failure(sim[1].url + "/fault/redirects?n=4", max_redirects=2)
    assert "more than 2 redirects" in error.reason


def test_declared_huge_body_is_refused_before_reading(sim: tuple[Simulator, RunningServer]) -> None:
    """A Content-Length over the cap is refused at once."""
    error = failure(sim[1].url + "/fault/huge", max_bytes=1_000_000)
    assert "Content-Length" in error.reason


def test_endless_body_is_cut_at_the_size_cap(sim: tuple[Simulator, RunningServer]) -> None:
    """A body with no length that never ends is stopped once it passes max_bytes."""
    error = failure(sim[1].url + "/fault/endless", max_bytes=256 * 1024)
    assert "too large" in error.reason


def test_gzip_bomb_is_cut_on_its_decompressed_size(sim: tuple[Simulator, RunningServer]) -> None:
    """50 KiB of gzip inflating to 50 MiB is refused by the decompressed-size cap."""
    from monitor.simulator.faults import _gzip_bomb

    assert len(_gzip_bomb()) < 1_000_000  # the compressed size alone would pass the cap
    error = failure(sim[1].url + "/fault/gzip-bomb", max_bytes=1_000_000)
    assert "decompressed" in error.reason


def test_slow_trickle_hits_the_total_deadline(sim: tuple[Simulator, RunningServer]) -> None:
    """A server sending a byte every 0.2 s never trips the read timeout, but the total deadline ends it."""
    error = failure(sim[1].url + "/fault/slow", total_timeout=1.0, read_timeout=5.0)
    assert "deadline" in error.reason


def test_connection_refused_is_a_clear_error() -> None:
    """Nothing listening: a FetchError naming the URL, not an httpx exception."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    error = failure(f"http://127.0.0.1:{port}/feed.rss")
    assert "ConnectError" in error.reason


def test_non_http_url_is_refused() -> None:
    """file: and other schemes are never fetched."""
    error = failure("file:///etc/passwd")
    assert "http" in error.reason


class _Recorder:
    """A real server that records each request's headers and how many were in flight at once."""

    def __init__(self, hold: float = 0.0) -> None:
        self.hold = hold
        self.active = 0
        self.max_active = 0
        self.user_agents: list[str] = []
        self.lock = threading.Lock()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                with recorder.lock:
                    recorder.active += 1
                    recorder.max_active = max(recorder.max_active, recorder.active)
                    recorder.user_agents.append(self.headers.get("User-Agent", ""))
                time.sleep(recorder.hold)
                with recorder.lock:
                    recorder.active -= 1
                body = b"ok"
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


@pytest.fixture
def recorder() -> Iterator[tuple[_Recorder, str]]:
    rec = _Recorder(hold=0.2)
    server = ThreadingHTTPServer(("127.0.0.1", 0), rec.handler())
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_per_host_limit_caps_requests_in_flight(recorder: tuple[_Recorder, str]) -> None:
    """With per_host_concurrency=2, eight simultaneous fetches never have more than two in flight."""
    rec, base = recorder

    async def go() -> None:
        async with Fetcher(limits=FetchLimits(per_host_concurrency=2)) as fetcher:
            await asyncio.gather(*(fetcher.fetch(f"{base}/x{i}") for i in range(8)))

    run(go())
    assert len(rec.user_agents) == 8
    assert 1 <= rec.max_active <= 2


def test_configured_user_agent_with_contact_is_sent(recorder: tuple[_Recorder, str]) -> None:
    """The User-Agent from the limits, contact address included, is what the server sees."""
    rec, base = recorder
    agent = "Parley/0.1 (+mailto:desk@example.org)"
    run(fetch_once(base + "/ua", user_agent=agent))
    assert rec.user_agents == [agent]


def _mock_fetcher(handler: Callable[[httpx.Request], httpx.Response]) -> Fetcher:
    return Fetcher(httpx.AsyncClient(transport=httpx.MockTransport(handler)))


def test_304_without_validators_keeps_the_ones_sent() -> None:
    """A 304 that omits ETag/Last-Modified (servers do) keeps the validators that were sent."""
    sent = Validators(etag='"v1"', last_modified="Mon, 02 Jun 2025 13:15:00 GMT")

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["If-None-Match"] == '"v1"'
        return httpx.Response(304)

    async def go() -> FetchResult:
        fetcher = _mock_fetcher(handler)
        return await fetcher.fetch("http://example.test/feed", validators=sent)

    result = run(go())
    assert result.not_modified
    assert result.validators == sent


def test_redirect_without_location_is_an_error() -> None:
    """A 302 with no Location header cannot be followed and says so."""

    async def go() -> None:
        await _mock_fetcher(lambda r: httpx.Response(302)).fetch("http://example.test/x")

    with pytest.raises(FetchError, match="without a Location"):
        run(go())


def test_injected_client_is_left_open_for_its_owner() -> None:
    """aclose() closes only a client the fetcher built itself."""
    client = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, content=b"x"))
    )

    async def go() -> None:
        async with Fetcher(client) as fetcher:
            await fetcher.fetch("http://example.test/")
        assert not client.is_closed
        await client.aclose()

    run(go())


def test_requests_go_through_the_transport_the_client_mounts_for_the_url() -> None:
    """The fetcher sends each request to the transport its client picks for the URL (a mount, a
    proxy from the environment), with the client's default headers and the configured
    User-Agent; a gzip body comes back decoded."""
    import gzip

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, content=gzip.compress(b"<rss/>"), headers={"Content-Encoding": "gzip"}
        )

    def unused(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"the client's default transport got {request.url}")

    client = httpx.AsyncClient(
        transport=httpx.MockTransport(unused),
        mounts={"http://mounted.test": httpx.MockTransport(handler)},
    )

    async def go() -> FetchResult:
        async with Fetcher(client, limits=FetchLimits(user_agent="Parley-test")) as fetcher:
            result = await fetcher.fetch("http://mounted.test/feed?x=1")
        await client.aclose()
        return result

    result = run(go())
    assert result.body == b"<rss/>"
    (request,) = seen
    assert str(request.url) == "http://mounted.test/feed?x=1"
    assert request.headers["User-Agent"] == "Parley-test"
    assert "gzip" in request.headers["Accept-Encoding"]
    assert request.headers["Host"] == "mounted.test"
