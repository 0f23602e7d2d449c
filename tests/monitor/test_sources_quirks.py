"""Real-world format quirks: each fixture in tests/monitor/data parses into the posts it holds.

A fixture `NAME.EXT` has a sidecar `NAME.expected.json`: the kind, URL and settings to parse it
with, and the posts it holds (only the fields listed are compared). When ../shared/fixtures/
exists (pages saved from real publishers), every file there is parsed too.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.sources import KINDS, get_kind
from monitor.sources._identity import derived_id
from monitor.sources.base import ParsedPage

DATA = Path(__file__).parent / "data"


def _document_for(expected: Path) -> Path:
    stem = expected.name.removesuffix(".expected.json")
    matches = [p for p in expected.parent.iterdir() if p.stem == stem and p != expected]
    assert len(matches) == 1, f"{expected}: expected one document named {stem}.*"
    return matches[0]


def _parse(expected: Path) -> tuple[dict[str, Any], ParsedPage]:
    spec = json.loads(expected.read_text(encoding="utf-8"))
    body = _document_for(expected).read_bytes()
    kind = get_kind(spec["kind"])
    page = kind.parse(body, url=spec["url"], content_type=None, settings=spec.get("settings", {}))
    return spec, page


def _compare(spec: dict[str, Any], page: ParsedPage, where: str) -> None:
    assert len(page.posts) == len(spec["posts"]), where
    for want, got in zip(spec["posts"], page.posts, strict=True):
        for field, raw in want.items():
            actual = getattr(got, field)
            expected: Any = raw
            if field in ("published", "modified"):
                expected = datetime.fromisoformat(raw)
                assert actual is not None, f"{where}: {got.post_id}: no {field}"
                assert actual.utcoffset() == expected.utcoffset(), f"{where}: {got.post_id} offset"
            elif isinstance(raw, list):
                expected = tuple(raw)
            assert actual == expected, f"{where}: {got.post_id}: {field}"
    assert list(page.next_pages) == spec.get("next_pages", []), where


FIXTURES = sorted(DATA.glob("*.expected.json"))


@pytest.mark.parametrize("expected", FIXTURES, ids=[p.name.split(".")[0] for p in FIXTURES])
def test_quirk_fixture_parses_into_the_posts_it_holds(expected: Path) -> None:
    """Every fixture in tests/monitor/data parses into exactly the posts its sidecar lists."""
    spec, page = _parse(expected)
    _compare(spec, page, expected.name)


def test_rss_entry_without_guid_or_link_gets_the_documented_derived_id() -> None:
    """No guid and no link: the id is sha256 over the title and the published time as written."""
    _, page = _parse(DATA / "rss_cdata_no_guid.expected.json")
    assert page.posts[1].post_id == derived_id(
        "Ceasefire proposal", "Mon, 02 Jun 2025 14:26:00 +0100"
    )
    assert page.posts[0].post_id.startswith("https://news.example.com/")


def test_rss_cdata_html_body_becomes_paragraphs_and_figcaption_a_caption() -> None:
    """CDATA HTML: <p> and <br><br> split paragraphs, entities decode, <figcaption> is a caption."""
    _, page = _parse(DATA / "rss_cdata_no_guid.expected.json")
    first, second = page.posts
    assert first.captions == ("Delegates arrive at Ciragan Palace",)
    assert "Delegates on stairs" not in first.text()  # alt text is not part of the report
    assert second.paragraphs == ("First line of the update.", "Second paragraph, with bold text.")


def test_atom_relative_links_resolve_against_xml_base_and_the_feed_url() -> None:
    """Relative Atom links resolve against xml:base when given, else the feed's own URL."""
    _, page = _parse(DATA / "atom_relative_links.expected.json")
    assert page.posts[0].url == "https://cdn.example.com/live/talks/post-a.html"
    assert page.posts[1].url == "https://news.example.com/feeds/talks/post-b.html"


def test_media_content_descriptions_become_captions() -> None:
    """media:content captions: media:description (HTML stripped), else media:title."""
    _, page = _parse(DATA / "rss_media_content.expected.json")
    assert page.posts[0].captions[1] == "Zelensky in Vilnius"
    assert page.posts[1].captions == ("Medinsky offers a two to three day ceasefire",)


def test_dates_without_zone_are_read_in_the_source_timezone() -> None:
    """A naive time is read in the `timezone` setting; with no setting, in UTC."""
    spec = json.loads((DATA / "rss_dates.expected.json").read_text())
    body = (DATA / "rss_dates.xml").read_bytes()
    london = get_kind("feed").parse(
        body, url=spec["url"], content_type=None, settings=spec["settings"]
    )
    utc = get_kind("feed").parse(body, url=spec["url"], content_type=None, settings={})
    by_id = {p.post_id: p for p in london.posts}
    by_id_utc = {p.post_id: p for p in utc.posts}
    assert by_id["rfc822-no-zone"].published.utcoffset() == timedelta(hours=1)
    assert by_id_utc["rfc822-no-zone"].published.utcoffset() == timedelta(0)
    assert by_id["edt"].published.utcoffset() == timedelta(hours=-4)  # the written offset is kept


def test_jsonld_in_graph_reduces_page_url_fragment_ids() -> None:
    """@ids of the form <canonical page URL>#frag become frag, even when fetched as ?page=1."""
    _, page = _parse(DATA / "liveblog_graph.expected.json")
    assert [p.post_id for p in page.posts] == ["post-2", "post-1"]


def test_jsonld_several_blocks_resolve_references_and_skip_a_broken_unrelated_block() -> None:
    """Updates given as {"@id"} references resolve to nodes in another block; a broken breadcrumb is skipped."""
    _, page = _parse(DATA / "liveblog_several_blocks.expected.json")
    assert [p.title for p in page.posts] == ["Second update", "First update"]
    assert page.next_pages == ("https://news.example.net/live/talks?page=2",)


def test_windows_1252_page_is_decoded_by_its_meta_charset() -> None:
    """A page declaring windows-1252 in <meta> decodes its curly quotes and accents."""
    _, page = _parse(DATA / "html_custom_selectors.expected.json")
    assert page.posts[0].title == "Café talks – day two"


def test_every_kind_is_registered_under_its_own_name() -> None:
    """The registry maps each kind's name to a parser that says it is that kind."""
    assert set(KINDS) == {"feed", "liveblog", "html", "jsonfeed"}
    assert all(kind.kind == name for name, kind in KINDS.items())


def _sniff(path: Path, body: bytes) -> str | None:
    head = body[:4096].lstrip().lower()
    if path.suffix == ".json" or head.startswith(b"{"):
        return "jsonfeed" if b"jsonfeed.org" in body[:4096] else None
    if b"application/ld+json" in body and b"liveblogposting" in body.lower():
        return "liveblog"
    if head.startswith(b"<?xml") or b"<rss" in head or b"<feed" in head or b"<rdf:rdf" in head:
        return "feed"
    return None


def _shared_fixtures() -> Path:
    return Path(__file__).resolve().parents[3] / "shared" / "fixtures"


def _parse_every_page_in(folder: Path) -> int:
    """Parse every feed or live-blog page under `folder`; return how many were parsed."""
    parsed = 0
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.name.lower().startswith("readme") or path.name.endswith(".expected.json"):
            continue
        body = path.read_bytes()
        kind = _sniff(path, body)
        if kind is None:
            continue
        page = get_kind(kind).parse(
            body, url=f"https://fixtures.invalid/{path.name}", content_type=None, settings={}
        )
        assert page.posts, f"{path}: no posts found"
        assert all(p.post_id for p in page.posts), f"{path}: a post without an id"
        assert len({p.post_id for p in page.posts}) == len(page.posts), f"{path}: duplicate ids"
        parsed += 1
    return parsed


def test_every_saved_page_parses_into_posts() -> None:
    """Each feed or live-blog page in tests/monitor/data, and in ../shared/fixtures when that folder
    exists (pages saved from real publishers), parses into posts with unique ids."""
    assert _parse_every_page_in(DATA) >= 5, f"{DATA} holds too few feed or live-blog pages"
    shared = _shared_fixtures()
    if shared.is_dir():
        assert _parse_every_page_in(shared), f"{shared} holds no feed or live-blog page"


def test_fixture_walker_finds_and_parses_our_own_data_folder() -> None:
    """The sniffing walker used for ../shared/fixtures recognises every document in tests/monitor/data."""
    for expected in FIXTURES:
        document = _document_for(expected)
        spec = json.loads(expected.read_text())
        if spec["kind"] == "html":
            continue  # the html kind needs selectors; a walker cannot guess them
        assert _sniff(document, document.read_bytes()) == spec["kind"], document.name


def test_link_used_as_id_drops_tracking_parameters() -> None:
    """A link with ?utm_source=rss gives the same id as the bare link, so a changing campaign tag never duplicates a post."""
    _, page = _parse(DATA / "rss_cdata_no_guid.expected.json")
    assert page.posts[0].post_id == "https://news.example.com/live/talks/updates/1001"


def test_tracking_parameters_are_removed_and_other_urls_kept_byte_for_byte() -> None:
    """Only tracking parameters go; a URL without them (percent-encoding included) is unchanged."""
    from monitor.sources._identity import without_tracking

    assert (
        without_tracking("https://x.example/a?utm_source=rss&id=5&at_medium=RSS#f")
        == "https://x.example/a?id=5#f"
    )
    bbc = "https://www.bbc.co.uk/news/live/c0k?post=asset%3Aabc-1#post"
    assert without_tracking(bbc) == bbc
    assert without_tracking("tag:news.example.com,2025:utm_x") == "tag:news.example.com,2025:utm_x"
