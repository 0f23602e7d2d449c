"""Parse worker processes driven straight from the event loop: no threads in the daemon's process.

`[daemon] parse_workers = N` parses fetched pages in N spawned processes, so parsing uses every
core while the event loop keeps fetching. `concurrent.futures.ProcessPoolExecutor` did that with
two threads of its own in the daemon (a manager that unpickles every result, a feeder that
pickles every call) and three thread hand-offs per page, all competing with the event loop for
the GIL. Here each worker has one socket pair to the daemon; the event loop writes a call
(`kind, body, url, content type, settings`, pickled) and reads the reply as a stream, so a page's
hand-off is one pickle each way and no thread switch.

Each worker parses one page at a time; more pages wait their turn for a free worker. A worker
that dies (killed, out of memory) fails only the page it held (`ParseWorkerError`) and is
replaced on the next call; a call whose caller is cancelled still completes in the background so
the worker comes back clean. Workers start on first use; a pool serves the one event loop that
first used it.
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
from collections import deque
from multiprocessing.connection import Connection
from typing import Any

from monitor.sources.base import ParsedPage

_LENGTH = struct.Struct("!i")  # the frame header multiprocessing.Connection reads and writes
_LONG = struct.Struct("!Q")  # after a -1 header, for frames of 2 GiB or more
_STREAM_LIMIT = 1 << 20


class ParseWorkerError(RuntimeError):
    """A parse worker exited or sent something unreadable while parsing a page."""


def _worker_main(conn: Connection) -> None:
    """A worker process: parse each call received on `conn` and send the page or the error back."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the group: the daemon stops us
    from monitor.sources import get_kind

    while True:
        try:
            call = conn.recv_bytes()
        except (EOFError, OSError):
            return  # the daemon closed its end: stop
        reply: tuple[bool, Any]
        try:
            kind, body, url, ctype, settings = pickle.loads(call)  # noqa: S301 (our own daemon, over our own socket pair)
            reply = (
                True,
                get_kind(kind).parse(body, url=url, content_type=ctype, settings=settings),
            )
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
    """`workers` parse processes; `await pool.parse(kind, body, url, ctype, settings)` from the loop."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError("a parse pool needs at least one worker")
        self.size = workers
        self._ctx = mp.get_context("spawn")  # no thread of ours is forked
        self._all: list[_Worker] = []
        self._idle: list[_Worker] = []
        self._starting = 0
        self._waiting: deque[asyncio.Future[_Worker]] = deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def pids(self) -> list[int]:
        """The worker processes' ids (for measuring their CPU time)."""
        return [w.process.pid for w in self._all if w.process.pid is not None]

    async def parse(
        self, kind: str, body: bytes, url: str, ctype: str | None, settings: dict[str, Any]
    ) -> ParsedPage:
        """Parse one page with the registered kind `kind` in a worker process.

        Raises what the parser raised, or `ParseWorkerError` if the worker died meanwhile.
        """
        data = pickle.dumps((kind, body, url, ctype, settings), protocol=pickle.HIGHEST_PROTOCOL)
        worker = await self._acquire()
        # Shielded: a cancelled poll lets the worker finish its page, so it comes back in step.
        return await asyncio.shield(self._call(worker, data))

    async def _call(self, worker: _Worker, data: bytes) -> ParsedPage:
        try:
            page = await worker.call(data)
        except ParseWorkerError:
            self._discard(worker)
            raise
        except BaseException:
            self._release(worker)  # the parser's own error: the worker is in step
            raise
        self._release(worker)
        return page

    async def _acquire(self) -> _Worker:
        if self._closed:
            raise ParseWorkerError("the parse pool is shut down")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError("a parse pool serves the one event loop that first used it")
        while self._idle:
            worker = self._idle.pop()
            if worker.process.is_alive():  # a waitpid(WNOHANG): cheap
                return worker
            self._discard(worker, replace=False)  # died idle (killed...): start another below
        if len(self._all) + self._starting < self.size:
            return await self._start()
        waiter: asyncio.Future[_Worker] = loop.create_future()
        self._waiting.append(waiter)
        return await waiter

    def _release(self, worker: _Worker) -> None:
        if worker not in self._all:
            return  # the pool was shut down or moved to another loop meanwhile
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(worker)
                return
        self._idle.append(worker)

    def _discard(self, worker: _Worker, *, replace: bool = True) -> None:
        if worker in self._all:
            self._all.remove(worker)
        worker.close()
        if worker.process.is_alive():
            worker.process.terminate()
        worker.process.join(timeout=1)
        if replace and self._waiting and not self._closed:  # callers wait: start a replacement
            task = asyncio.ensure_future(self._replace())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _replace(self) -> None:
        try:
            worker = await self._start()
        except Exception as exc:
            while self._waiting:
                waiter = self._waiting.popleft()
                if not waiter.done():
                    waiter.set_exception(exc)
                    return
            return
        self._release(worker)

    async def _start(self) -> _Worker:
        self._starting += 1
        try:
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
        finally:
            self._starting -= 1
        worker = _Worker(process, sock, reader, writer)
        self._all.append(worker)
        return worker

    def _close_workers(self) -> list[Any]:
        workers, self._all, self._idle = self._all, [], []
        for waiter in self._waiting:
            if not waiter.done():
                waiter.set_exception(ParseWorkerError("the parse pool is shut down"))
        self._waiting.clear()
        for worker in workers:
            worker.close()
        return [w.process for w in workers]

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the workers (they finish the page in hand); with `wait`, until they have exited.

        `cancel_futures` is accepted for `Executor.shutdown` compatibility: pages still waiting
        for a worker fail with `ParseWorkerError` either way.
        """
        self._closed = True
        processes = self._close_workers()
        if not wait:
            return
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join(timeout=1)
