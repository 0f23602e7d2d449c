"""Bad input, served by a real HTTP server on 127.0.0.1: each is a SourceError naming the URL and
the reason (or, for undecodable bytes, posts with replacement characters), never a crash."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from monitor.errors import ConfigError, SourceError
from monitor.fetch import Fetcher, FetchResult
from monitor.simulator import ManualClock, RunningServer, Simulator, bundled_page_path, load_page
from monitor.sources import get_kind
from monitor.sources.base import ParsedPage


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    sim = Simulator(load_page(bundled_page_path()), clock=ManualClock())
    with sim.serve("127.0.0.1", 0) as running:
        yield running


def _fetch(url: str) -> FetchResult:
    async def go() -> FetchResult:
        async with Fetcher() as fetcher:
            return await fetcher.fetch(url)

    return asyncio.run(go())


def _parse(
    server: RunningServer, path: str, kind: str, settings: dict[str, Any] | None = None
) -> ParsedPage:
    url = server.url + path
    result = _fetch(url)
    return get_kind(kind).parse(
        result.body, url=url, content_type=result.content_type, settings=settings or {}
    )


def _error(
    server: RunningServer, path: str, kind: str, settings: dict[str, Any] | None = None
) -> str:
    with pytest.raises(SourceError) as info:
        _parse(server, path, kind, settings)
    message = str(info.value)
    assert message.startswith(server.url + path), message
    return message


def test_billion_laughs_is_refused_without_expanding(server: RunningServer) -> None:
    """An XML document declaring entities is refused as unsafe before any expansion."""
    assert "refused unsafe XML" in _error(server, "/fault/bomb", "feed")


def test_malformed_xml_names_the_parse_error(server: RunningServer) -> None:
    """Broken XML gives 'malformed XML' with expat's line and column."""
    message = _error(server, "/fault/malformed", "feed")
    assert "malformed XML" in message
    assert "line 1" in message


def test_html_served_to_the_feed_kind_is_not_taken_for_an_empty_feed(server: RunningServer) -> None:
    """A (well-formed) HTML page configured as a feed is refused, naming its root element."""
    assert "not an RSS or Atom feed (root element <html>)" in _error(
        server, "/fault/no-markup", "feed"
    )


def test_page_without_jsonld_names_what_is_missing(server: RunningServer) -> None:
    """The liveblog kind on a page without JSON-LD says there is no JSON-LD block."""
    assert "no JSON-LD" in _error(server, "/fault/no-markup", "liveblog")


def test_invalid_jsonld_names_the_block_and_the_json_error(server: RunningServer) -> None:
    """Broken JSON in the only JSON-LD block is reported with its block number and position."""
    message = _error(server, "/fault/bad-jsonld", "liveblog")
    assert "invalid JSON-LD in script block 1" in message


def test_html_without_the_container_names_the_selector(server: RunningServer) -> None:
    """The html kind reports a container selector that matches nothing."""
    message = _error(
        server, "/fault/no-markup", "html", {"selectors": {"container": "article.post"}}
    )
    assert "'article.post'" in message


def test_jsonfeed_kind_on_xml_reports_invalid_json(server: RunningServer) -> None:
    """A feed URL misconfigured as jsonfeed gives 'invalid JSON'."""
    assert "invalid JSON" in _error(server, "/feed.rss", "jsonfeed")


def test_rss_declared_utf8_with_latin1_bytes_parses_with_replacement_characters(
    server: RunningServer,
) -> None:
    """Bytes that are not the declared UTF-8 are replaced (U+FFFD), never a crash."""
    (post,) = _parse(server, "/fault/bad-utf8", "feed").posts
    assert post.title == "Caf\ufffd talks"


def test_rss_declared_latin1_is_decoded_by_its_declaration(server: RunningServer) -> None:
    """An ISO-8859-1 declaration is honoured."""
    (post,) = _parse(server, "/fault/latin1", "feed").posts
    assert (post.post_id, post.title, post.paragraphs) == (
        "café-1",
        "Café talks",
        ("Un café crème",),
    )


def test_empty_body_is_a_clear_error() -> None:
    """An empty document names the problem instead of yielding no posts."""
    with pytest.raises(SourceError, match="empty document"):
        get_kind("feed").parse(b"  ", url="http://127.0.0.1:9/feed", content_type=None, settings={})


def test_xml_that_is_not_a_feed_is_refused() -> None:
    """Well-formed XML of another vocabulary is not a feed."""
    with pytest.raises(SourceError, match="not an RSS or Atom feed"):
        get_kind("feed").parse(
            b"<svg/>", url="http://127.0.0.1:9/x", content_type=None, settings={}
        )


def test_unknown_kind_and_bad_settings_are_config_errors() -> None:
    """An unknown kind, a missing or invalid selector and an unknown timezone are ConfigErrors."""
    with pytest.raises(ConfigError, match="unknown source kind 'atomz'"):
        get_kind("atomz")
    with pytest.raises(ConfigError, match="container"):
        get_kind("html").parse(b"<p>x</p>", url="http://x/", content_type=None, settings={})
    with pytest.raises(ConfigError, match="selector title = 'h2\\[' is not valid CSS"):
        get_kind("html").parse(
            b"<p>x</p>",
            url="http://x/",
            content_type=None,
            settings={"selectors": {"container": "p", "title": "h2["}},
        )
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        get_kind("feed").parse(
            b"<rss/>", url="http://x/", content_type=None, settings={"timezone": "Mars/Olympus"}
        )
