"""Parse worker processes driven straight from the event loop: no threads in the daemon's process.

`[daemon] parse_workers = N` parses fetched pages in N spawned processes, so parsing uses every
core while the event loop keeps fetching. `concurrent.futures.ProcessPoolExecutor` did that with
two threads of its own in the daemon (a manager that unpickles every result, a feeder that
pickles every call) and three thread hand-offs per page, all competing with the event loop for
the GIL. Here each worker has one socket pair to the daemon; the event loop writes a call
(`kind, body, url, content type, settings`, pickled) and reads the reply as a stream, so a page's
hand-off is one pickle each way and no thread switch.

Each worker parses one page at a time; a page URL always goes to the same worker (so its
`PageParser` reuses the bodies of that page's previous parse), and pages wait their turn for it.
A worker that dies (killed, out of memory) fails only the page it held (`ParseWorkerError`) and
is replaced on the next call; a call whose caller is cancelled still completes in the background,
so the worker comes back in step. Workers start on first use; a pool serves the one event loop
that first used it.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import os
import pickle
import signal
import socket
import struct
import zlib
from collections.abc import Mapping
from multiprocessing.connection import Connection
from typing import Any

from monitor.sources import _text
from monitor.sources.base import ParsedPage, SourceKind

_LENGTH = struct.Struct("!i")  # the frame header multiprocessing.Connection reads and writes
_LONG = struct.Struct("!Q")  # after a -1 header, for frames of 2 GiB or more
_STREAM_LIMIT = 1 << 20
_REUSE_PAGES = 4096  # pages whose bodies a PageParser keeps (about a page's text each)


class ParseWorkerError(RuntimeError):
    """A parse worker exited or sent something unreadable while parsing a page."""


class PageParser:
    """Parses pages, each with the bodies read on its own previous parse at hand.

    A live blog's page changes by a post at a time: re-reading it, every other post's body is
    the same string as last time, and its paragraphs are taken from that parse instead of being
    read again (`_text.reusing`; reading HTML bodies is 20-40% of parsing a feed). The memory is
    per page URL (never shared between pages): one page's bodies and their text, for at most
    `max_pages` pages (then it starts again empty).
    """

    def __init__(self, max_pages: int = _REUSE_PAGES) -> None:
        self._max_pages = max_pages
        self._pages: dict[str, dict[str, _text.Parts]] = {}

    def parse(
        self,
        kind: SourceKind,
        body: bytes,
        url: str,
        ctype: str | None,
        settings: Mapping[str, Any],
    ) -> ParsedPage:
        with _text.reusing(self._pages.get(url, {})) as seen:
            page = kind.parse(body, url=url, content_type=ctype, settings=settings)
        if url not in self._pages and len(self._pages) >= self._max_pages:
            self._pages.clear()
        self._pages[url] = seen
        return page


def _worker_main(conn: Connection) -> None:
    """A worker process: parse each call received on `conn` and send the page or the error back."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group: the daemon stops us
    from monitor.sources import get_kind

    reader = PageParser()
    while True:
        try:
            call = conn.recv_bytes()
        except (EOFError, OSError):
            return  # the daemon closed its end: stop
        reply: tuple[bool, Any]
        try:
            kind, body, url, ctype, settings = pickle.loads(call)  # noqa: S301 (our own daemon, over our own socket pair)
            reply = (True, reader.parse(get_kind(kind), body, url, ctype, settings))
        except Exception as exc:  # the poller names the source and the reason
            reply = (False, exc)
        try:
            data = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an error that cannot be pickled: send its text
            data = pickle.dumps((False, ParseWorkerError(f"{type(reply[1]).__name__}: {exc}")))
        try:
            conn.send_bytes(data)
        except OSError:
            return


class _Worker:
    __slots__ = ("process", "reader", "sock", "writer")

    def __init__(
        self,
        process: Any,
        sock: socket.socket,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.process = process
        self.sock = sock
        self.reader = reader
        self.writer = writer

    async def call(self, data: bytes) -> ParsedPage:
        try:
            self.writer.write(_LENGTH.pack(len(data)) + data)
            await self.writer.drain()
            (size,) = _LENGTH.unpack(await self.reader.readexactly(_LENGTH.size))
            if size == -1:
                (size,) = _LONG.unpack(await self.reader.readexactly(_LONG.size))
            ok, value = pickle.loads(await self.reader.readexactly(size))  # noqa: S301 (our worker)
        except (asyncio.IncompleteReadError, OSError) as exc:  # OSError: ConnectionResetError...
            code = self.process.exitcode
            raise ParseWorkerError(
                f"the parse worker (pid {self.process.pid}) exited while parsing"
                + (f" (exit code {code})" if code is not None else "")
            ) from exc
        except Exception as exc:  # an error that pickled but does not unpickle here
            raise ParseWorkerError(f"unreadable reply from the parse worker: {exc}") from exc
        if not ok:
            raise value
        page: ParsedPage = value
        return page

    def close(self) -> None:
        with contextlib.suppress(OSError):  # the worker sees EOF now, not at the loop's leisure
            self.sock.shutdown(socket.SHUT_RDWR)
        try:
            self.writer.close()
        except RuntimeError:  # the loop that owned the stream is closed already
            self.sock.close()


class ParsePool:
    """`workers` parse processes; `await pool.parse(kind, body, url, ctype, settings)` from the loop.

    A page URL always goes to the same worker (by a hash of the URL), so that worker's
    `PageParser` has the page's previous parse at hand; pages for a busy worker wait their turn.
    """

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError("a parse pool needs at least one worker")
        self.size = workers
        self._ctx = mp.get_context("spawn")  # no thread of ours is forked
        self._slots: list[_Worker | None] = [None] * workers
        self._locks = [asyncio.Lock() for _ in range(workers)]
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def pids(self) -> list[int]:
        """The worker processes' ids (for measuring their CPU time)."""
        return [w.process.pid for w in self._slots if w is not None and w.process.pid is not None]

    async def parse(
        self, kind: str, body: bytes, url: str, ctype: str | None, settings: dict[str, Any]
    ) -> ParsedPage:
        """Parse one page with the registered kind `kind` in a worker process.

        Raises what the parser raised, or `ParseWorkerError` if the worker died meanwhile.
        """
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError("a parse pool serves the one event loop that first used it")
        data = pickle.dumps((kind, body, url, ctype, settings), protocol=pickle.HIGHEST_PROTOCOL)
        slot = zlib.crc32(url.encode("utf-8", "surrogatepass")) % self.size
        # Shielded: a cancelled poll lets its page finish, so the worker's replies stay in step.
        return await asyncio.shield(self._call(slot, data))

    async def _call(self, slot: int, data: bytes) -> ParsedPage:
        async with self._locks[slot]:
            if self._closed:
                raise ParseWorkerError("the parse pool is shut down")
            worker = self._slots[slot]
            if worker is None or not worker.process.is_alive():  # waitpid(WNOHANG): cheap
                if worker is not None:  # died while idle (killed, out of memory)
                    self._discard(slot, worker)
                worker = self._slots[slot] = await self._start()
            try:
                return await worker.call(data)
            except ParseWorkerError:
                self._discard(slot, worker)
                raise

    def _discard(self, slot: int, worker: _Worker) -> None:
        if self._slots[slot] is worker:
            self._slots[slot] = None
        worker.close()
        if worker.process.is_alive():
            worker.process.terminate()
        worker.process.join(timeout=1)

    async def _start(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(target=_worker_main, args=(child,), daemon=True)
        process.start()
        child.close()
        sock = socket.socket(fileno=os.dup(parent.fileno()))
        parent.close()
        try:
            reader, writer = await asyncio.open_connection(sock=sock, limit=_STREAM_LIMIT)
        except BaseException:
            sock.close()
            process.terminate()
            raise
        return _Worker(process, sock, reader, writer)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the workers (they finish the page in hand); with `wait`, until they have exited.

        `cancel_futures` is accepted for `Executor.shutdown` compatibility: pages still waiting
        for a worker fail with `ParseWorkerError` either way.
        """
        self._closed = True
        workers = [w for w in self._slots if w is not None]
        self._slots = [None] * self.size
        for worker in workers:
            worker.close()
        if not wait:
            return
        for worker in workers:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.terminate()
                worker.process.join(timeout=1)
