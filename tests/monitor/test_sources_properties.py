"""Property-based tests of the parsers: whatever text a post holds, every format round-trips it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from monitor.posts import Post
from monitor.simulator import PAGE_SELECTORS, Simulator
from monitor.sources import get_kind
from monitor.sources._dates import parse_time
from monitor.sources._text import clean

FORMATS = {
    "rss": ("feed", {}),
    "atom": ("feed", {}),
    "jsonfeed": ("jsonfeed", {}),
    "liveblog": ("liveblog", {}),
    "html": ("html", {"selectors": dict(PAGE_SELECTORS)}),
}
# Printable text: no control characters (not allowed in XML 1.0) and no surrogates.
_chars = st.characters(blacklist_categories=("Cc", "Cs", "Co", "Cn"), blacklist_characters="\ufeff")


def _reads_as_double_encoded(value: str) -> bool:
    """feedparser deliberately repairs UTF-8 that was decoded as Latin-1 ("Â¡" -> "¡"); such
    text cannot round-trip through RSS or Atom, and in real feeds it is almost always mojibake."""
    try:
        return value.encode("iso-8859-1").decode("utf-8") != value
    except UnicodeError:
        return False


text = (
    st.text(_chars, min_size=1, max_size=40)
    .map(clean)
    .filter(lambda t: bool(t) and not _reads_as_double_encoded(t))
)


def _page(title: str, paragraphs: list[str], caption: str, byline: list[str]) -> dict[str, Any]:
    return {
        "page": {"title": "Property page"},
        "posts": [
            {
                "id": "p-1",
                "published": "2025-06-02T14:15:00+01:00",
                "title": title,
                "paragraphs": paragraphs,
                "byline": byline,
                "images": [{"alt": "alt <text> & more", "caption": caption}],
            }
        ],
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=text,
    paragraphs=st.lists(text, min_size=1, max_size=3),
    caption=text,
    byline=st.lists(text, max_size=2),
)
@example(
    title="<p>Tagged</p> &amp; ]]>",
    paragraphs=["a <b>bold</b> claim", "&lt;escaped&gt;"],
    caption="<em>x</em>",
    byline=["A &amp; B"],
)
@example(
    title="AT&T",
    paragraphs=["x < y && y > z", "</script><script>alert(1)</script>"],
    caption="]]>",
    byline=[],
)
def test_any_post_text_round_trips_through_every_format(
    title: str, paragraphs: list[str], caption: str, byline: list[str]
) -> None:
    """Titles, paragraphs, captions and bylines with any printable text (<, &, ]]>, quotes) survive every format."""
    sim = Simulator(_page(title, paragraphs, caption, byline), clock=lambda: 0.0)
    sim.start()
    for fmt, (kind, cfg) in FORMATS.items():
        rendered = sim.render(fmt, "http://127.0.0.1:9")
        assert rendered is not None
        page = get_kind(kind).parse(
            rendered[1], url=f"http://127.0.0.1:9/{fmt}", content_type=None, settings=cfg
        )
        (post,) = page.posts
        assert (post.post_id, post.title, post.paragraphs, post.captions) == (
            "p-1",
            title,
            tuple(paragraphs),
            (caption,),
        ), fmt
        assert post.byline == tuple(byline), fmt


aware = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda m: timezone(timedelta(minutes=m))
)


@given(when=aware, zone=offsets)
def test_iso_and_rfc822_times_parse_back_to_the_same_instant_and_offset(
    when: datetime, zone: timezone
) -> None:
    """Any aware time written as ISO 8601 or RFC 822 reads back as the same instant with the same offset."""
    local = when.astimezone(zone)
    for written in (local.isoformat(), format_datetime(local)):
        parsed = parse_time(written)
        assert parsed == local
        assert parsed is not None
        assert parsed.utcoffset() == local.utcoffset()


@given(value=st.text(max_size=60))
def test_time_parser_never_raises_on_arbitrary_text(value: str) -> None:
    """Unreadable times give None, never an exception."""
    result = parse_time(value)
    assert result is None or result.tzinfo is not None


@settings(deadline=None)
@given(body=st.binary(max_size=300))
def test_parsers_raise_only_source_errors_on_arbitrary_bytes(body: bytes) -> None:
    """Random bytes give posts or a SourceError from every kind, never another exception."""
    from monitor.errors import SourceError

    for kind, cfg in FORMATS.values():
        try:
            page = get_kind(kind).parse(
                body, url="http://127.0.0.1:9/x", content_type=None, settings=cfg
            )
        except SourceError:
            continue
        assert all(isinstance(p, Post) for p in page.posts)


def test_pinned_old_post_does_not_stretch_the_covered_range() -> None:
    """A morning summary pinned above the afternoon's posts is not taken as covering the whole day."""
    from monitor.sources._page import covered_range

    base = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
    pinned = base - timedelta(hours=5)
    newest_first = [pinned, base + timedelta(minutes=30), base + timedelta(minutes=20), base]
    assert covered_range(newest_first) == (base, base + timedelta(minutes=30))
    assert covered_range(list(reversed(newest_first[1:]))) == (base, base + timedelta(minutes=30))


@given(times=st.lists(aware, min_size=1, max_size=30))
def test_covered_range_of_an_ordered_page_is_its_first_and_last_post(times: list[datetime]) -> None:
    """For a page in time order (either direction), the range is exactly its oldest and newest post."""
    from monitor.sources._page import covered_range

    ordered = sorted(times, reverse=True)
    assert covered_range(ordered) == (ordered[-1], ordered[0])
    assert covered_range(sorted(times)) == (ordered[-1], ordered[0])


@given(times=st.lists(aware, min_size=1, max_size=30))
def test_covered_range_lies_within_the_page(times: list[datetime]) -> None:
    """Whatever the order, the range is bounded by times that are on the page."""
    from monitor.sources._page import covered_range

    covers = covered_range(times)
    assert covers is not None
    assert covers[0] in times
    assert covers[1] in times
    assert covers[0] <= covers[1]


_keys = st.sampled_from(
    [
        "@type",
        "@id",
        "@graph",
        "liveBlogUpdate",
        "headline",
        "articleBody",
        "author",
        "image",
        "caption",
        "name",
        "datePublished",
        "dateModified",
        "url",
        "version",
        "items",
        "id",
        "title",
        "content_html",
        "authors",
        "attachments",
        "date_published",
        "next_url",
    ]
)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from(
        [
            "LiveBlogPosting",
            "BlogPosting",
            "https://jsonfeed.org/version/1.1",
            "2025-06-02T14:15:00Z",
        ]
    ),
    st.text(max_size=20),
)
json_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_keys, inner, max_size=6),
    max_leaves=25,
)


@settings(deadline=None)
@given(document=json_values)
def test_structured_but_odd_json_gives_posts_or_a_source_error(document: Any) -> None:
    """Any JSON shape in a JSON-LD block or a JSON Feed yields posts or a SourceError, never a crash."""
    import json

    from monitor.errors import SourceError

    text = json.dumps(document)
    html = f'<html><head><script type="application/ld+json">{text}</script></head></html>'
    for kind, body in (("liveblog", html.encode()), ("jsonfeed", text.encode())):
        try:
            page = get_kind(kind).parse(
                body, url="http://127.0.0.1:9/x", content_type=None, settings={}
            )
        except SourceError:
            continue
        assert all(p.post_id for p in page.posts)
