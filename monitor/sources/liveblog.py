"""The `liveblog` kind: an HTML page carrying schema.org `LiveBlogPosting` JSON-LD.

Every `<script type="application/ld+json">` block is read; the LiveBlogPosting may sit at the top,
in an array, or in a `@graph`, and its `liveBlogUpdate` items may be spread over several blocks or
given as `{"@id": ...}` references to nodes elsewhere on the page. Each update (a `BlogPosting`)
is a post: `headline` → title, `articleBody` (text or HTML) → paragraphs, `image`/`associatedMedia`
`caption` → captions, `author` → byline, `datePublished`/`dateModified`, `url`, and `@id` (else
`url`) → id (see `_identity`).

Pagination: a `<link rel="next">` or `<a rel="next">` on the page becomes `ParsedPage.next_pages`.

Errors: a page with no LiveBlogPosting, or whose only JSON-LD is invalid JSON, raises SourceError.
An invalid block beside a valid LiveBlogPosting is skipped (publishers often break an unrelated
breadcrumb block).

Settings: `timezone` (for times without a zone, default UTC).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import tzinfo
from typing import Any
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser as HTMLParser

from monitor.posts import Post
from monitor.sources import _text
from monitor.sources._dates import parse_time, source_timezone
from monitor.sources._identity import stable_id
from monitor.sources._page import build_page, parse_error
from monitor.sources.base import ParsedPage


def _types(node: Mapping[str, Any]) -> set[str]:
    value = node.get("@type")
    values = value if isinstance(value, list) else [value]
    return {str(v).rsplit("/", 1)[-1] for v in values if v}


def _nodes(value: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in a JSON-LD document, depth first (arrays and @graph included)."""
    if isinstance(value, list):
        for item in value:
            yield from _nodes(item)
    elif isinstance(value, dict):
        yield value
        for key, item in value.items():
            if key != "@context":
                yield from _nodes(item)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _names(value: Any) -> tuple[str, ...]:
    names: list[str] = []
    for item in _as_list(value):
        if isinstance(item, str):
            names.append(_text.inline_text(item))
        elif isinstance(item, dict):
            names.append(_text.inline_text(str(item.get("name") or "")))
    return tuple(n for n in names if n)


def _captions(update: Mapping[str, Any]) -> list[str]:
    captions: list[str] = []
    for key in ("image", "associatedMedia"):
        for item in _as_list(update.get(key)):
            if isinstance(item, dict) and isinstance(item.get("caption"), str):
                captions.append(_text.inline_text(item["caption"]))
    return captions


def _read_blocks(tree: HTMLParser, url: str) -> tuple[list[Any], list[str]]:
    documents: list[Any] = []
    errors: list[str] = []
    for number, script in enumerate(tree.css('script[type="application/ld+json"]'), start=1):
        raw = script.text(deep=True) or ""
        if not raw.strip():
            continue
        try:
            documents.append(json.loads(raw))
        except json.JSONDecodeError as exc:
            errors.append(f"invalid JSON-LD in script block {number}: {exc}")
    return documents, errors


class LiveBlogKind:
    """Pages with schema.org LiveBlogPosting JSON-LD (see the module docstring)."""

    kind = "liveblog"

    def parse(
        self, body: bytes, *, url: str, content_type: str | None, settings: Mapping[str, Any]
    ) -> ParsedPage:
        """Posts of the live blog at `url`. Raises SourceError when no LiveBlogPosting is found."""
        tz = source_timezone(settings)
        tree = HTMLParser(_text.decode(body, content_type))
        documents, errors = _read_blocks(tree, url)
        nodes = [n for doc in documents for n in _nodes(doc)]
        blogs = [n for n in nodes if "LiveBlogPosting" in _types(n)]
        if not blogs:
            if errors:
                raise parse_error(url, "; ".join(errors))
            reason = "no JSON-LD script block" if not documents else "no LiveBlogPosting JSON-LD"
            raise parse_error(url, f"{reason} on the page")
        by_id = {str(n["@id"]): n for n in nodes if "@id" in n and len(n) > 1}
        home = [url] + [str(b["url"]) for b in blogs if isinstance(b.get("url"), str)]
        posts: list[Post] = []
        for blog in blogs:
            for item in _as_list(blog.get("liveBlogUpdate")):
                update = item
                if isinstance(item, dict) and set(item) == {"@id"}:
                    update = by_id.get(str(item["@id"]), item)
                if isinstance(update, dict) and set(update) != {"@id"}:
                    posts.append(self._post(update, url, home, tz))
        return build_page(posts, self._next_pages(tree, url))

    @staticmethod
    def _next_pages(tree: HTMLParser, url: str) -> list[str]:
        found: list[str] = []
        for node in tree.css("link[rel], a[rel]"):
            rels = (node.attributes.get("rel") or "").lower().split()
            href = node.attributes.get("href")
            if "next" in rels and href:
                found.append(urljoin(url, href))
        return found

    @staticmethod
    def _post(update: Mapping[str, Any], url: str, home: list[str], tz: tzinfo) -> Post:
        title = _text.inline_text(str(update.get("headline") or update.get("name") or ""))
        body = update.get("articleBody") or update.get("text") or ""
        paragraphs, inline_captions = _text.body_to_parts(body if isinstance(body, str) else "")
        raw_published = str(update.get("datePublished") or "")
        raw_modified = str(update.get("dateModified") or "")
        post_url = update.get("url") if isinstance(update.get("url"), str) else ""
        post_url = urljoin(url, post_url) if post_url else ""
        captions = [*inline_captions, *_captions(update)]
        return Post(
            post_id=stable_id(
                update.get("@id"),
                post_url,
                title=title,
                published_raw=raw_published,
                home_urls=home,
            ),
            title=title,
            paragraphs=paragraphs,
            captions=tuple(dict.fromkeys(c for c in captions if c)),
            published=parse_time(raw_published, tz),
            modified=parse_time(raw_modified, tz),
            byline=_names(update.get("author")),
            url=post_url,
        )
