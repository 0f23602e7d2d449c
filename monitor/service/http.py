"""A small HTTP/1.1 server on the daemon's own event loop, for the service endpoints.

Why not a thread or a framework: the endpoints are three GETs, and answering on the event loop
itself is what `/healthz` promises (an answer means the loop is turning). It reads one request
per connection (GET or HEAD; the request line and headers capped at 16 KiB and read within
`read_timeout`), answers with Content-Length and `Connection: close`, and never blocks the loop:
handlers are coroutines, and slow work (the database probe) runs on the store's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus

import structlog

log = structlog.get_logger("monitor.service")

MAX_HEAD = 16 * 1024  # request line plus headers


@dataclass(frozen=True, kw_only=True, slots=True)
class Response:
    """What a handler answers."""

    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


Handler = Callable[[], Awaitable[Response]]


class HttpServer:
    """Serves `routes` (path -> handler) on (host, port); port 0 picks a free one (see `port`)."""

    def __init__(
        self,
        routes: Mapping[str, Handler],
        *,
        host: str,
        port: int,
        read_timeout: float = 10.0,
    ) -> None:
        self._routes = dict(routes)
        self._host = host
        self._port = port
        self._read_timeout = read_timeout
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The port listened on (the one picked when 0 was asked for)."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        """Bind and listen. Raises OSError (address in use, not available) from the bind."""
        self._server = await asyncio.start_server(
            self._serve, self._host, self._port, reuse_address=True, limit=MAX_HEAD
        )

    async def stop(self) -> None:
        """Stop listening and end the connections still open."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._clients):
            task.cancel()
        if self._clients:
            await asyncio.gather(*self._clients, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        try:
            await self._answer(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the client went away: nothing to answer
        finally:
            if task is not None:
                self._clients.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(self._read_timeout):
                head = await reader.readuntil(b"\r\n\r\n")
        except TimeoutError:
            return
        except asyncio.LimitOverrunError:
            await self._write(writer, "GET", _text(431, "request header too large"))
            return
        except asyncio.IncompleteReadError as exc:
            head = exc.partial
            if not head.strip():
                return
        if len(head) > MAX_HEAD:
            await self._write(writer, "GET", _text(431, "request header too large"))
            return
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            await self._write(writer, "GET", _text(400, "bad request line"))
            return
        method, target = parts[0], parts[1]
        path = target.split("?", 1)[0]
        handler = self._routes.get(path)
        if handler is None:
            response = _text(404, f"not found; try {', '.join(sorted(self._routes))}")
        elif method not in ("GET", "HEAD"):
            response = _text(405, "only GET and HEAD")
        else:
            try:
                response = await handler()
            except Exception as exc:  # a broken handler answers 500, and the server goes on
                log.error("endpoint_failed", path=path, error=f"{type(exc).__name__}: {exc}")
                response = _text(500, "internal error (see the daemon's log)")
        await self._write(writer, method, response)

    @staticmethod
    async def _write(writer: asyncio.StreamWriter, method: str, response: Response) -> None:
        reason = HTTPStatus(response.status).phrase
        headers = (
            f"HTTP/1.1 {response.status} {reason}\r\n"
            f"Content-Type: {response.content_type}\r\n"
            f"Content-Length: {len(response.body)}\r\n"
            "Cache-Control: no-store\r\n"
            "Connection: close\r\n"
        )
        if response.status == 405:
            headers += "Allow: GET, HEAD\r\n"
        writer.write(headers.encode("latin-1") + b"\r\n")
        if method != "HEAD":
            writer.write(response.body)
        await writer.drain()


def _text(status: int, message: str) -> Response:
    return Response(status=status, body=(message + "\n").encode())
