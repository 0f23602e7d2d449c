"""Entry fields of a *plain* RSS 2.0 or Atom 1.0 feed, read from its element tree. Pure.

feedparser costs about 15-25 ms for a page of 20 posts; most feeds a monitor polls (and every
feed the simulator serves) use only a few common elements in the common way, and for those the
fields can be read straight from the tree that `feed` has already parsed strictly. `read()` returns
what feedparser would have returned for the fields `feed` uses (`title`, `link`, `published`,
`updated`, `authors`, `author`, and the feed's `link`), or None when the document is anything but
plain, and then `feed` asks feedparser. Plain means:

- root `<rss version="2.0">` with one `<channel>`, or an Atom `<feed>`; no `xml:base` anywhere;
- every entry child is one this module knows (RSS: title, link, description, content:encoded,
  pubDate, guid, category, comments, enclosure, source, dc:creator, dc:date, media:*; Atom: id,
  title, link, published, updated, author, content, summary, category, rights, media:*), the
  text fields occur at most once and hold no child elements;
- RSS: an item with a `<guid>` also has a `<link>` (feedparser would take a permalink guid as
  the link); no `<author>`, and no e-mail address in a `dc:creator` (feedparser splits those out);
- Atom: titles are `text` or `html` (not `xhtml`); every author has one `<name>`, no `<email>`
  and no e-mail address in the name.

`tests/monitor/test_sources_plain_feed.py` checks that both readings give the same posts.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin
from xml.etree.ElementTree import Element

_ATOM = "{http://www.w3.org/2005/Atom}"
_DC = "{http://purl.org/dc/elements/1.1/}"
_MEDIA = "{http://search.yahoo.com/mrss/}"
_CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"

_RSS_TEXT = frozenset({"title", "link", "pubDate", "guid", f"{_DC}date"})
_RSS_OTHER = frozenset(
    {
        "description",
        _CONTENT_ENCODED,
        "category",
        "comments",
        "enclosure",
        "source",
        f"{_DC}creator",
    }
)
_ATOM_TEXT = frozenset({f"{_ATOM}{t}" for t in ("id", "title", "published", "updated")})
_ATOM_OTHER = frozenset(
    {f"{_ATOM}{t}" for t in ("link", "author", "content", "summary", "category", "rights")}
)
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_TYPE_NAMES = {"text": "text/plain", "html": "text/html", "xhtml": "application/xhtml+xml"}
_URI_FIXER = re.compile("^([A-Za-z][A-Za-z0-9+-.]*://)(/*)(.*?)")  # as feedparser's _urljoin


class _NotPlainError(Exception):
    """Raised inside the Atom reader when a feed turns out not to be plain."""


def _join(base: str, uri: str) -> str:
    uri = _URI_FIXER.sub(r"\1\3", uri)
    try:
        return urljoin(base, uri)
    except ValueError:
        return ""


def _unmangle(text: str) -> str:
    """feedparser's repair of UTF-8 read as Latin-1 (it applies it to every field of a UTF-8 feed)."""
    try:
        return text.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _text(element: Element | None) -> str | None:
    if element is None:
        return None
    return _unmangle((element.text or "").strip())


def _children_ok(item: Element, text_tags: frozenset[str], other_tags: frozenset[str]) -> bool:
    seen: set[str] = set()
    for child in item:
        tag = child.tag
        if not isinstance(tag, str):
            continue  # a comment or processing instruction
        if tag.startswith(_MEDIA):
            continue
        if tag in text_tags:
            if tag in seen or len(child):
                return False
            seen.add(tag)
        elif tag not in other_tags:
            return False
    return True


def read(root: Element, url: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """(feed fields, entry fields) of a plain feed at `url` (see the module docstring), else None.

    Links resolve against `url`, as feedparser resolves them when given it as the document's
    location (the only base there is without `xml:base`).
    """
    if any(e.get(_XML_BASE) is not None for e in root.iter()):
        return None
    if root.tag == "rss" and root.get("version") == "2.0":
        return _rss(root, url)
    if root.tag == f"{_ATOM}feed":
        return _atom(root, url)
    return None


def _rss(root: Element, base: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    channels = root.findall("channel")
    if len(channels) != 1:
        return None
    channel = channels[0]
    feed_link = _text(channel.find("link"))
    feed = {"link": _join(base, feed_link)} if feed_link else {}
    entries = []
    for item in channel.findall("item"):
        if not _children_ok(item, _RSS_TEXT, _RSS_OTHER):
            return None
        if item.find("guid") is not None and item.find("link") is None:
            return None
        entry: dict[str, Any] = {}
        title = _text(item.find("title"))
        if title is not None:
            entry["title"] = title
        link = _text(item.find("link"))
        if link:
            entry["link"] = _join(base, link)
        published = _text(item.find("pubDate"))
        if published is not None:
            entry["published"] = published
        updated = _text(item.find(f"{_DC}date"))
        if updated is not None:
            entry["updated"] = updated
        creators = [_text(c) or "" for c in item.findall(f"{_DC}creator")]
        if any("@" in c for c in creators):
            return None  # feedparser splits an e-mail address out of the name
        if creators:
            entry["authors"] = [{"name": c} if c else {} for c in creators]
        entries.append(entry)
    return feed, entries


def _atom_text_ok(element: Element | None) -> bool:
    return element is None or element.get("type", "text") in ("text", "html")


def _atom_link(element: Element, base: str) -> str | None:
    link = None
    for node in element.findall(f"{_ATOM}link"):
        href = node.get("href")
        if href is None:
            continue
        rel = node.get("rel", "alternate")
        default = "application/atom+xml" if rel == "self" else "text/html"
        kind = node.get("type", default)
        if rel != rel.lower() or kind != kind.lower():
            raise _NotPlainError
        kind = _TYPE_NAMES.get(kind, kind)
        if rel == "alternate" and kind in _HTML_TYPES:
            link = _join(base, href)
    return link


def _atom(root: Element, base: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    try:
        return _atom_fields(root, base)
    except _NotPlainError:
        return None


def _atom_fields(root: Element, base: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    feed: dict[str, Any] = {}
    feed_link = _atom_link(root, base)
    if feed_link is not None:
        feed["link"] = feed_link
    entries = []
    for item in root.findall(f"{_ATOM}entry"):
        if not _children_ok(item, _ATOM_TEXT, _ATOM_OTHER):
            return None
        title_element = item.find(f"{_ATOM}title")
        if not _atom_text_ok(title_element):
            return None
        entry: dict[str, Any] = {}
        title = _text(title_element)
        if title is not None:
            entry["title"] = title
        link = _atom_link(item, base)
        if link is not None:
            entry["link"] = link
        for key in ("published", "updated"):
            value = _text(item.find(f"{_ATOM}{key}"))
            if value is not None:
                entry[key] = value
        authors = []
        for author in item.findall(f"{_ATOM}author"):
            names = author.findall(f"{_ATOM}name")
            if len(names) != 1 or len(names[0]) or author.find(f"{_ATOM}email") is not None:
                return None
            # feedparser repairs no mangled UTF-8 in an Atom author's name ("Â¡" stays)
            name = (names[0].text or "").strip()
            if "@" in name:
                return None  # feedparser splits an e-mail address out of the name
            authors.append({"name": name})
        if authors:
            entry["authors"] = authors
        entries.append(entry)
    return feed, entries
