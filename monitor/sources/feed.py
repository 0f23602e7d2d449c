"""The `feed` kind: RSS 0.9x, 1.0 (RDF), 2.0 and Atom; plain RSS 2.0 and Atom read directly.

Before anything else, the document is checked as strict XML with defusedxml: entity
declarations (billion laughs), external entities and malformed XML are refused with a SourceError.
Plain RSS 2.0 and Atom feeds (see `_plain_feed`) are then read from that tree; every other feed
goes through feedparser (without its HTML sanitiser or in-HTML link rewriting: bodies become
plain text here, and entry links are resolved either way). Both give the same posts.
Per entry: id from guid / Atom id / rdf:about exactly as written (a bare guid is not resolved
against the feed URL), else link, else derived (see `_identity`); title; body from
`content:encoded`, Atom `content`, else `description`/`summary` (HTML turned into paragraphs, CDATA
or escaped alike, `<figcaption>` into captions); captions also from `media:content`/`media:group`
`media:description` (else `media:title`); byline from author/dc:creator; times from
pubDate/published/updated/dc:date, RFC 822 or ISO 8601. Relative links resolve against xml:base
or the feed's URL.

Settings: `timezone` (for times without a zone, default UTC).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from xml.etree.ElementTree import Element, ParseError, tostring

import feedparser
from defusedxml import DefusedXmlException, EntitiesForbidden
from defusedxml.ElementTree import fromstring

from monitor.posts import Post
from monitor.sources import _plain_feed, _text
from monitor.sources._dates import parse_time, source_timezone
from monitor.sources._identity import stable_id
from monitor.sources._page import build_page, parse_error
from monitor.sources.base import ParsedPage

_MEDIA = "{http://search.yahoo.com/mrss/}"
_ATOM = "{http://www.w3.org/2005/Atom}"
_RSS1 = "{http://purl.org/rss/1.0/}"
_CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
_ENCODING_DECL = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*)["'][^"']*["']""")


def _strict_xml(body: bytes, url: str, content_type: str | None) -> tuple[bytes, Element]:
    """Decode by declared charset, re-encode as UTF-8, and parse strictly and safely."""
    text = _text.decode(body, content_type)
    text = _ENCODING_DECL.sub(r'\1"utf-8"', text, count=1)
    data = text.encode("utf-8")
    if not text.strip():
        raise parse_error(url, "empty document, expected an RSS or Atom feed")
    try:
        root = fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except EntitiesForbidden as exc:
        raise parse_error(
            url,
            f"refused unsafe XML: it declares entity {exc.name!r} (a possible entity-expansion bomb)",
        ) from exc
    except DefusedXmlException as exc:
        raise parse_error(url, f"refused unsafe XML: {type(exc).__name__}") from exc
    except ParseError as exc:
        raise parse_error(url, f"malformed XML: {exc}") from exc
    return data, root


def _entry_elements(root: Element) -> list[Element]:
    if root.tag == f"{_ATOM}feed":
        return root.findall(f"{_ATOM}entry")
    if root.tag == "rss":
        return root.findall("./channel/item")
    items = root.findall(f"{_RSS1}item") or root.findall("item")
    return items or root.findall(".//item")


def _child_text(element: Element, *tags: str) -> str | None:
    for tag in tags:
        child = element.find(tag)
        if child is not None:
            if child.tag == f"{_ATOM}content" and child.get("type") == "xhtml":
                return "".join(_inner_xml(c) for c in child)
            if child.text and child.text.strip():
                return child.text
    return None


def _inner_xml(element: Element) -> str:
    """XHTML content as plain HTML: namespaces dropped so the HTML parser sees <p>, not <html:p>."""
    import copy

    plain = copy.deepcopy(element)
    for node in plain.iter():
        if isinstance(node.tag, str) and node.tag.startswith("{"):
            node.tag = node.tag.split("}", 1)[1]
    return tostring(plain, encoding="unicode")


_RDF_ABOUT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"


def _raw_id(element: Element) -> str | None:
    """The entry's id exactly as written (feedparser would resolve a bare guid against the URL)."""
    for tag in ("guid", f"{_ATOM}id"):
        text = element.findtext(tag)
        if text and text.strip():
            return text.strip()
    about = element.get(_RDF_ABOUT)
    return about.strip() if about and about.strip() else None


def _media_captions(element: Element) -> list[str]:
    captions: list[str] = []
    for media in element.iter(f"{_MEDIA}content"):
        text = _child_text(media, f"{_MEDIA}description", f"{_MEDIA}title")
        if text is None:
            continue
        paragraphs, _ = _text.body_to_parts(text)
        captions.extend(paragraphs)
    return captions


def _field(entry: dict[str, Any], key: str) -> Any:
    """A feedparser field as parsed, bypassing its deprecated key aliases (updated -> published)."""
    return dict.get(entry, key)


def _byline(entry: dict[str, Any]) -> tuple[str, ...]:
    names = [
        _text.inline_text(a.get("name"))
        for a in _field(entry, "authors") or ()
        if isinstance(a, dict)
    ]
    if not names and _field(entry, "author"):
        names = [_text.clean(_field(entry, "author"))]
    return tuple(n for n in names if n)


class FeedKind:
    """RSS and Atom feeds (see the module docstring)."""

    kind = "feed"

    def parse(
        self, body: bytes, *, url: str, content_type: str | None, settings: Mapping[str, Any]
    ) -> ParsedPage:
        """Posts of the feed at `url`. Raises SourceError for unsafe, malformed or non-feed XML."""
        tz = source_timezone(settings)
        data, root = _strict_xml(body, url, content_type)
        plain = _plain_feed.read(root, url)
        if plain is not None:  # the common case, read without feedparser (same fields)
            feed_fields, entries = plain
            elements = _entry_elements(root)
            home = [url, str(feed_fields.get("link") or "")]
            return build_page(
                [self._post(e, el, home, tz) for e, el in zip(entries, elements, strict=True)]
            )
        return self._parse_with_feedparser(data, root, url, tz)

    def _parse_with_feedparser(self, data: bytes, root: Element, url: str, tz: Any) -> ParsedPage:
        parsed = feedparser.parse(
            data,
            response_headers={"content-location": url, "content-type": "application/xml"},
            # We turn HTML into plain text ourselves (scripts and styles dropped, see `_text`), and
            # only entry links are used as URLs, which feedparser resolves either way: its HTML
            # sanitiser and its rewriting of links inside HTML bodies are work thrown away.
            sanitize_html=False,
            resolve_relative_uris=False,
        )
        if not parsed.get("version") and root.tag not in (f"{_ATOM}feed", "rss"):
            raise parse_error(url, f"not an RSS or Atom feed (root element <{root.tag}>)")
        elements = _entry_elements(root)
        if len(elements) != len(parsed.entries):
            elements = []  # cannot pair them safely; fall back to feedparser's fields alone
        home = [url, str(parsed.feed.get("link") or "")]
        posts = []
        for index, entry in enumerate(parsed.entries):
            element = elements[index] if elements else None
            posts.append(self._post(entry, element, home, tz))
        return build_page(posts)

    def _post(self, entry: Any, element: Element | None, home: list[str], tz: Any) -> Post:
        title = _text.inline_text(_field(entry, "title"))
        raw_published = str(_field(entry, "published") or _field(entry, "updated") or "")
        raw_modified = str(_field(entry, "updated") or "")
        paragraphs: tuple[str, ...] = ()
        captions: list[str] = []
        body: str | None = None
        if element is not None:
            body = _child_text(
                element,
                _CONTENT_ENCODED,
                f"{_ATOM}content",
                "description",
                f"{_RSS1}description",
                f"{_ATOM}summary",
            )
            captions.extend(_media_captions(element))
        elif _field(entry, "content"):
            body = _field(entry, "content")[0].get("value")
        else:
            body = _field(entry, "summary")
        if body:
            paragraphs, inline_captions = _text.body_to_parts(body)
            captions = [*inline_captions, *captions]
        link = str(_field(entry, "link") or "")
        publisher_id = _raw_id(element) if element is not None else _field(entry, "id")
        post_id = stable_id(
            publisher_id or None,
            link,
            title=title,
            published_raw=raw_published,
            home_urls=home,
        )
        return Post(
            post_id=post_id,
            title=title,
            paragraphs=paragraphs,
            captions=tuple(dict.fromkeys(c for c in captions if c)),
            published=parse_time(raw_published, tz),
            modified=parse_time(raw_modified, tz) if raw_modified != raw_published else None,
            byline=_byline(entry),
            url=link,
        )
