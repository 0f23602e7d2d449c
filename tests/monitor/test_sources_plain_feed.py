"""Plain RSS 2.0 and Atom feeds are read without feedparser, into exactly the posts it would give."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.simulator import ManualClock, Simulator, bundled_page_path, load_page, parse_script
from monitor.simulator.timeline import Timeline
from monitor.sources import _plain_feed
from monitor.sources._dates import source_timezone
from monitor.sources.base import ParsedPage
from monitor.sources.feed import FeedKind, _strict_xml

DATA = Path(__file__).parent / "data"
URL = "http://127.0.0.1:9/feed"
KIND = FeedKind()


def _both(body: bytes, url: str = URL) -> tuple[ParsedPage, ParsedPage, bool]:
    """(the kind's reading, feedparser's reading, whether the plain reader took it)."""
    data, root = _strict_xml(body, url, None)
    fast = KIND.parse(body, url=url, content_type=None, settings={})
    slow = KIND._parse_with_feedparser(data, root, url, source_timezone({}))
    return fast, slow, _plain_feed.read(root, url) is not None


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_simulator_feeds_take_the_plain_path_and_match_feedparser(fmt: str) -> None:
    """Every stage of the bundled live page, with edits and a withdrawal, reads the same both ways."""
    page = load_page(bundled_page_path())
    first = Timeline(page).first
    assert first is not None
    script = parse_script(
        [
            {"at": "+30m", "revise": "post-20", "paragraph": 0, "text": "A <b>new</b> first one."},
            {"at": "+50m", "withdraw": "post-19"},
        ],
        first=first,
    )
    clock = ManualClock(0.0)
    sim = Simulator(page, speed=600.0, clock=clock, script=script)
    sim.start()
    for _ in range(12):
        clock.advance(2.0)
        rendered = sim.render(fmt, "http://127.0.0.1:9")
        assert rendered is not None
        fast, slow, plain = _both(rendered[1])
        assert plain
        assert fast == slow


@pytest.mark.parametrize("path", sorted(DATA.glob("*.xml")), ids=lambda p: p.stem)
def test_feed_fixtures_read_the_same_with_or_without_feedparser(path: Path) -> None:
    """Each quirky feed fixture gives the same posts whichever reader handles it."""
    fast, slow, _ = _both(path.read_bytes(), "https://example.org/news/feed.xml")
    assert fast == slow


def _rss(title: str, link: str, creator: str, extra: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        "<title>t</title><link>https://example.org/live</link>"
        f"<item><title>{title}</title><link>{link}</link>"
        "<pubDate>Mon, 02 Jun 2025 14:15:00 +0100</pubDate>"
        f"<dc:creator>{creator}</dc:creator><guid>g-1</guid>{extra}"
        "<description>&lt;p&gt;Body&lt;/p&gt;</description></item></channel></rss>"
    ).encode()


def _atom(title: str, link: str, creator: str, extra: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        '<title>t</title><link href="https://example.org/live"/>'
        f'<entry><id>g-1</id><title type="html">{title}</title><link href="{link}"/>'
        "<published>2025-06-02T14:15:00+01:00</published>"
        f"<author><name>{creator}</name></author>{extra}"
        '<content type="html">&lt;p&gt;Body&lt;/p&gt;</content></entry></feed>'
    ).encode()


_xml_text = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Co", "Cn"), blacklist_characters="\ufeff"),
    max_size=30,
).map(lambda t: t.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fmt=st.sampled_from([_rss, _atom]),
    title=_xml_text,
    link=st.sampled_from(
        ["https://example.org/a?x=1#p", "/relative/post", "post-2", "http:///odd", "", " x "]
    ),
    creator=_xml_text,
    extra=st.sampled_from(["", "<category>c</category>", "<comments>https://c</comments>"]),
)
def test_any_plain_entry_reads_as_feedparser_reads_it(
    fmt: Any, title: str, link: str, creator: str, extra: str
) -> None:
    """Titles, links (relative ones too), bylines: whatever the plain reader accepts matches feedparser."""
    if fmt is _atom and extra.startswith("<comments"):
        extra = ""
    fast, slow, _ = _both(fmt(title, link.replace("&", "&amp;"), creator, extra))
    assert fast == slow


def test_an_atom_authors_name_is_not_repaired_as_feedparser_leaves_it() -> None:
    """feedparser repairs UTF-8 read as Latin-1 in titles and bodies but not in an Atom author's
    name: "Â¡" stays "Â¡" there (found by the property test above)."""
    fast, slow, _ = _both(_atom("t", "https://example.org/a", "Â¡", ""))
    assert fast == slow
    assert slow.posts[0].byline == ("Â¡",)
