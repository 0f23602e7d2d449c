"""The parse pool (`[daemon] parse_workers`): worker processes driven from the event loop."""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

import pytest

from monitor.errors import SourceError
from monitor.parse_pool import ParsePool, ParseWorkerError
from monitor.sources import get_kind

RSS = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>t</title><link>http://example.org/</link>
<item><guid>a</guid><title>First</title><description>&lt;p&gt;One.&lt;/p&gt;</description>
<pubDate>Mon, 02 Jun 2025 10:00:00 GMT</pubDate></item>
<item><guid>b</guid><title>Second</title><description>&lt;p&gt;Two.&lt;/p&gt;</description>
<pubDate>Mon, 02 Jun 2025 10:05:00 GMT</pubDate></item>
</channel></rss>"""
URL = "http://example.org/feed.rss"


class _ExitOnLoad:
    """Unpickled in the worker, it makes the worker exit at once (a worker that dies mid-page)."""

    def __reduce__(self) -> tuple[Any, tuple[int]]:
        return (os._exit, (3,))


def test_pages_parsed_in_workers_equal_the_in_process_parse() -> None:
    """Many pages at once through two workers: each equals the in-process parse; two processes."""
    expected = get_kind("feed").parse(RSS, url=URL, content_type=None, settings={})

    async def main() -> None:
        pool = ParsePool(2)
        try:
            pages = await asyncio.gather(
                *(pool.parse("feed", RSS, URL, None, {}) for _ in range(40))
            )
            assert all(page == expected for page in pages)
            assert len(pool.pids()) == 2
            assert os.getpid() not in pool.pids()
        finally:
            pool.shutdown()

    asyncio.run(main())


def test_a_parser_error_comes_back_as_itself_and_the_worker_stays() -> None:
    """A malformed page raises the parser's SourceError in the daemon; the same worker goes on."""

    async def main() -> None:
        pool = ParsePool(1)
        try:
            with pytest.raises(SourceError, match="malformed XML"):
                await pool.parse("feed", b"<rss><channel><item></rss>", URL, None, {})
            pid = pool.pids()
            page = await pool.parse("feed", RSS, URL, None, {})
            assert [p.post_id for p in page.posts]
            assert pool.pids() == pid
        finally:
            pool.shutdown()

    asyncio.run(main())


def test_a_worker_that_dies_fails_only_its_page_and_is_replaced() -> None:
    """Dying mid-page: that page fails with ParseWorkerError; killed while idle: nothing fails."""

    async def main() -> None:
        pool = ParsePool(1)
        try:
            await pool.parse("feed", RSS, URL, None, {})
            (first,) = pool.pids()
            with pytest.raises(ParseWorkerError, match="exited while parsing"):
                await pool.parse("feed", RSS, URL, None, {"boom": _ExitOnLoad()})
            page = await pool.parse("feed", RSS, URL, None, {})  # a new worker
            assert len(page.posts) == 2
            (second,) = pool.pids()
            assert second != first
            os.kill(second, signal.SIGKILL)
            for _ in range(100):  # until the kernel has it as a zombie
                if not pool._all[0].process.is_alive():
                    break
                await asyncio.sleep(0.05)
            page = await pool.parse("feed", RSS, URL, None, {})
            assert len(page.posts) == 2
            assert pool.pids() not in ([first], [second])
        finally:
            pool.shutdown()

    asyncio.run(main())


def test_shutdown_ends_the_workers_and_refuses_new_pages() -> None:
    async def main() -> list[Any]:
        pool = ParsePool(2)
        await asyncio.gather(*(pool.parse("feed", RSS, URL, None, {}) for _ in range(4)))
        processes = [w.process for w in pool._all]
        pool.shutdown()
        with pytest.raises(ParseWorkerError, match="shut down"):
            await pool.parse("feed", RSS, URL, None, {})
        return processes

    processes = asyncio.run(main())
    assert processes
    assert all(not p.is_alive() and p.exitcode == 0 for p in processes)
