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


def _zombie(pid: int) -> bool:
    """True once `pid` has exited (a zombie until its parent reaps it)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0] == "Z"


def test_pages_parsed_in_workers_equal_the_in_process_parse() -> None:
    """Many pages at once through two workers: each equals the in-process parse; two processes."""
    urls = [f"{URL}?n={n}" for n in range(40)]
    expected = [get_kind("feed").parse(RSS, url=u, content_type=None, settings={}) for u in urls]

    async def main() -> None:
        pool = ParsePool(2)
        try:
            for _ in range(2):  # the second time with each page's previous parse at hand
                pages = await asyncio.gather(*(pool.parse("feed", RSS, u, None, {}) for u in urls))
                assert pages == expected
            assert len(pool.pids()) == 2
            assert os.getpid() not in pool.pids()
        finally:
            pool.shutdown()

    asyncio.run(main())


def test_a_page_parsed_again_reads_only_its_new_and_changed_bodies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PageParser: the unchanged bodies of a page come from its previous parse, per page URL;
    the result equals a parse from nothing."""
    from monitor.parse_pool import PageParser
    from monitor.sources import _text

    read: list[str] = []
    real = _text._read_parts
    monkeypatch.setattr(_text, "_read_parts", lambda html: read.append(html) or real(html))
    kind = get_kind("feed")
    changed = RSS.replace(b"&lt;p&gt;Two.&lt;/p&gt;", b"&lt;p&gt;Two, revised.&lt;/p&gt;")
    expected = [kind.parse(b, url=URL, content_type=None, settings={}) for b in (RSS, changed)]
    read.clear()
    parser = PageParser()
    assert parser.parse(kind, RSS, URL, None, {}) == expected[0]
    assert len(read) == 2
    read.clear()
    assert parser.parse(kind, changed, URL, None, {}) == expected[1]
    assert read == ["<p>Two, revised.</p>"]  # "<p>One.</p>" came from the first parse
    read.clear()
    parser.parse(kind, changed, URL + "?other", None, {})  # another page: nothing shared
    assert len(read) == 2


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
                if not os.path.exists(f"/proc/{second}") or _zombie(second):
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
        processes = [w.process for w in pool._slots if w is not None]
        pool.shutdown()
        with pytest.raises(ParseWorkerError, match="shut down"):
            await pool.parse("feed", RSS, URL, None, {})
        return processes

    processes = asyncio.run(main())
    assert processes
    assert all(not p.is_alive() and p.exitcode == 0 for p in processes)
