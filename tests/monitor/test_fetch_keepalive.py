"""Conditional GETs keep their connection: a 304 does not cost a new TCP connection."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from monitor.fetch import Fetcher, FetchLimits


class _Recording(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.peers: list[tuple[str, int]] = []  # the client address of every request


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        server = self.server
        assert isinstance(server, _Recording)
        server.peers.append(self.client_address)
        if self.headers.get("If-None-Match") == '"v1"':
            self.send_response(304)
            self.send_header("ETag", '"v1"')
            self.end_headers()
            return
        body = b"<rss version='2.0'><channel></channel></rss>"
        self.send_response(200)
        self.send_header("ETag", '"v1"')
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def recording() -> Iterator[_Recording]:
    server = _Recording()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_repeated_304s_reuse_one_keep_alive_connection(recording: _Recording) -> None:
    """Twenty conditional GETs in a row answered 304 all go over the first fetch's connection."""
    url = f"http://127.0.0.1:{recording.server_address[1]}/feed.rss"

    async def polls() -> list[bool]:
        async with Fetcher(limits=FetchLimits(per_host_concurrency=1)) as fetcher:
            first = await fetcher.fetch(url)
            assert not first.not_modified
            return [(await fetcher.fetch(url)).not_modified for _ in range(20)]

    assert all(asyncio.run(polls()))
    assert len(recording.peers) == 21
    assert len(set(recording.peers)) == 1
