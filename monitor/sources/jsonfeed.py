"""The `jsonfeed` kind: JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1).

Per item: `id` (required by the spec; numbers are turned into strings) → id; `title`;
`content_html` (else `content_text`, else `summary`) → paragraphs, `<figcaption>` → captions;
image `attachments`' `title` → captions; `authors` (1.1) or `author` (1.0) → byline;
`date_published`, `date_modified` (RFC 3339); `url` (else `external_url`).

Settings: `timezone` (for times without a zone, default UTC).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import tzinfo
from typing import Any
from urllib.parse import urljoin

from monitor.posts import Post
from monitor.sources import _text
from monitor.sources._dates import parse_time, source_timezone
from monitor.sources._identity import stable_id
from monitor.sources._page import build_page, parse_error
from monitor.sources.base import ParsedPage


def _authors(item: Mapping[str, Any]) -> tuple[str, ...]:
    authors = item.get("authors")
    if not isinstance(authors, list):
        authors = [item["author"]] if isinstance(item.get("author"), dict) else []
    names = [_text.inline_text(str(a.get("name") or "")) for a in authors if isinstance(a, dict)]
    return tuple(n for n in names if n)


def _attachment_captions(item: Mapping[str, Any]) -> list[str]:
    captions = []
    for attachment in item.get("attachments") or ():
        if not isinstance(attachment, dict):
            continue
        if str(attachment.get("mime_type", "")).startswith("image/") and attachment.get("title"):
            captions.append(_text.inline_text(str(attachment["title"])))
    return captions


class JsonFeedKind:
    """JSON Feed documents (see the module docstring)."""

    kind = "jsonfeed"

    def parse(
        self, body: bytes, *, url: str, content_type: str | None, settings: Mapping[str, Any]
    ) -> ParsedPage:
        """Posts of the JSON Feed at `url`. Raises SourceError for invalid JSON or a non-feed."""
        tz = source_timezone(settings)
        try:
            document = json.loads(_text.decode(body, content_type))
        except json.JSONDecodeError as exc:
            raise parse_error(url, f"invalid JSON: {exc}") from exc
        if not isinstance(document, dict) or not str(document.get("version", "")).startswith(
            "https://jsonfeed.org/version/1"
        ):
            raise parse_error(url, "not a JSON Feed (no https://jsonfeed.org/version/1.x version)")
        items = document.get("items")
        if not isinstance(items, list):
            raise parse_error(url, "JSON Feed without an `items` array")
        home = [url, str(document.get("home_page_url") or "")]
        posts = [self._post(i, url, home, tz) for i in items if isinstance(i, dict)]
        next_url = document.get("next_url")
        return build_page(posts, [urljoin(url, next_url)] if isinstance(next_url, str) else [])

    @staticmethod
    def _post(item: Mapping[str, Any], url: str, home: list[str], tz: tzinfo) -> Post:
        title = _text.inline_text(str(item.get("title") or ""))
        if isinstance(item.get("content_html"), str):
            paragraphs, captions = _text.html_to_parts(item["content_html"])
        else:
            text = item.get("content_text") or item.get("summary") or ""
            paragraphs, captions = _text.text_to_paragraphs(str(text)), ()
        link = item.get("url") or item.get("external_url") or ""
        link = urljoin(url, link) if isinstance(link, str) and link else ""
        raw_published = str(item.get("date_published") or "")
        return Post(
            post_id=stable_id(
                item.get("id"), link, title=title, published_raw=raw_published, home_urls=home
            ),
            title=title,
            paragraphs=paragraphs,
            captions=tuple(dict.fromkeys([*captions, *_attachment_captions(item)])),
            published=parse_time(raw_published, tz),
            modified=parse_time(item.get("date_modified"), tz),
            byline=_authors(item),
            url=link,
        )
