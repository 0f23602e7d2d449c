"""The endpoints' HTTP server over real sockets on 127.0.0.1, and the readiness verdict (pure)."""

from __future__ import annotations

import asyncio

import pytest

from monitor.service.health import LogState, judge
from monitor.service.http import HttpServer, Response


async def exchange(port: int, raw: bytes) -> bytes:
    """Send `raw` on a new connection; everything the server answered until it closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=60)
    writer.close()
    return answer


async def ok() -> Response:
    return Response(status=200, body=b"fine\n")


async def broken() -> Response:
    raise RuntimeError("boom")


def serve_and(*requests: bytes, read_timeout: float = 10.0) -> list[bytes]:
    async def main() -> list[bytes]:
        server = HttpServer(
            {"/ok": ok, "/broken": broken}, host="127.0.0.1", port=0, read_timeout=read_timeout
        )
        await server.start()
        try:
            return [await exchange(server.port, r) for r in requests]
        finally:
            await server.stop()

    return asyncio.run(main())


def test_get_head_404_405_400_and_500_are_answered_and_the_server_goes_on() -> None:
    """Each answer has its status and Content-Length; a failing handler is a 500, not a crash."""
    get, head, missing, post, garbage, failing, again = serve_and(
        b"GET /ok?x=1 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"HEAD /ok HTTP/1.1\r\n\r\n",
        b"GET /nope HTTP/1.1\r\n\r\n",
        b"POST /ok HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        b"\x16\x03\x01 nonsense\r\n\r\n",
        b"GET /broken HTTP/1.1\r\n\r\n",
        b"GET /ok HTTP/1.0\r\n\r\n",
    )
    assert get.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Content-Length: 5\r\n" in get
    assert get.endswith(b"\r\n\r\nfine\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Content-Length: 5\r\n" in head
    assert head.endswith(b"\r\n\r\n")  # no body
    assert missing.startswith(b"HTTP/1.1 404 Not Found")
    assert b"/nope" not in missing  # the request is never echoed back
    assert post.startswith(b"HTTP/1.1 405 Method Not Allowed")
    assert b"Allow: GET, HEAD\r\n" in post
    assert garbage.startswith(b"HTTP/1.1 400 Bad Request")
    assert failing.startswith(b"HTTP/1.1 500 Internal Server Error")
    assert b"boom" not in failing
    assert again.startswith(b"HTTP/1.1 200 OK")


def test_an_oversized_request_head_is_refused() -> None:
    """More than 16 KiB of headers: 431."""
    (answer,) = serve_and(b"GET /ok HTTP/1.1\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431")


def test_a_client_that_never_sends_a_request_is_dropped() -> None:
    """A silent connection is closed after the read timeout, without an answer."""
    (answer,) = serve_and(b"", read_timeout=0.2)
    assert answer == b""


def test_ready_when_every_check_passes() -> None:
    verdict = judge(
        LogState(head=10, checkpoints={"negotiation": 8}), scheduler_running=True, max_lag=5
    )
    assert verdict.ready
    assert verdict.body["status"] == "ready"
    assert "failed" not in verdict.body
    assert verdict.body["checks"]["projectors"]["lag"] == {"negotiation": 2}


@pytest.mark.parametrize(
    ("state", "running", "failed"),
    [
        (None, True, ["database", "projectors"]),
        (LogState(head=10, checkpoints={"negotiation": 4}), True, ["projectors"]),
        (LogState(head=10, checkpoints={"negotiation": 10}), False, ["scheduler"]),
        (None, False, ["database", "scheduler", "projectors"]),
    ],
)
def test_not_ready_names_each_failed_check(
    state: LogState | None, running: bool, failed: list[str]
) -> None:
    """The database down, the views more than max_lag behind, the scheduler stopped."""
    verdict = judge(state, database_error="refused", scheduler_running=running, max_lag=5)
    assert not verdict.ready
    assert verdict.body["status"] == "not ready"
    assert sorted(verdict.body["failed"]) == sorted(failed)
    for name in failed:
        assert verdict.body["checks"][name]["error"]


def test_lag_of_exactly_max_lag_is_still_ready() -> None:
    verdict = judge(
        LogState(head=10, checkpoints={"negotiation": 5}), scheduler_running=True, max_lag=5
    )
    assert verdict.ready
