"""The `html` kind: any page, read with CSS selectors from the source's settings.

Settings (`selectors` table; each value is a CSS selector, optionally ending in `@attribute` to
read that attribute instead of the text; selectors other than `container` apply inside each post):

    container  required  one element per post, e.g. "article.post"
    id         the post's id; "@id" reads the container's own attribute    default "@id"
    title      the post's title                                            default none
    time       published time, e.g. "time@datetime"                        default "time@datetime"
    modified   modified time                                               default none
    body       paragraphs: every match is one paragraph, e.g. "div.body p" default "p"
    caption    captions, e.g. "figcaption"                                 default "figcaption"
    byline     author names, one per match                                 default none
    link       the post's URL, e.g. "a.permalink@href"                     default none
    next       (page-wide) link to the next page, e.g. "a[rel=next]@href"  default "link[rel=next]@href"

An id or link of the form "#post-01" becomes "post-01" (see `_identity`). A page on which the
container selector matches nothing raises SourceError naming the selector.
Also `timezone` (for times without a zone, default UTC).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node
from selectolax.lexbor import SelectolaxError

from monitor.errors import ConfigError
from monitor.posts import Post
from monitor.sources import _text
from monitor.sources._dates import parse_time, source_timezone
from monitor.sources._identity import stable_id
from monitor.sources._page import build_page, parse_error
from monitor.sources.base import ParsedPage

DEFAULT_SELECTORS: Mapping[str, str] = {
    "id": "@id",
    "time": "time@datetime",
    "body": "p",
    "caption": "figcaption",
    "next": "link[rel=next]@href",
}


def _split(spec: str) -> tuple[str, str | None]:
    """'a.x@href' -> ('a.x', 'href'); '@id' -> ('', 'id'); 'p' -> ('p', None)."""
    if "@" in spec:
        css, attr = spec.rsplit("@", 1)
        return css.strip(), attr.strip() or None
    return spec.strip(), None


def _values(node: Node, spec: str | None) -> list[str]:
    """Every value `spec` selects inside `node` (its text, or the named attribute)."""
    if not spec:
        return []
    css, attr = _split(spec)
    targets = node.css(css) if css else [node]
    values: list[str] = []
    for target in targets:
        if attr:
            value = target.attributes.get(attr)
            values.append(value.strip() if value else "")
        else:
            values.append(_text.node_text(target))
    return [v for v in values if v]


def _first(node: Node, spec: str | None) -> str:
    values = _values(node, spec)
    return values[0] if values else ""


def selectors_of(settings: Mapping[str, Any]) -> dict[str, str]:
    """The effective selectors: defaults overlaid with `settings["selectors"]`.

    Raises ConfigError when `container` is missing or a selector is not a string.
    """
    given = settings.get("selectors") or {}
    if not isinstance(given, Mapping):
        raise ConfigError("html source: `selectors` must be a table of CSS selectors")
    merged = {**DEFAULT_SELECTORS, **given}
    for key, value in merged.items():
        if not isinstance(value, str):
            raise ConfigError(f"html source: selector {key!r} must be a string, not {value!r}")
    if not merged.get("container"):
        raise ConfigError("html source: `selectors.container` is required (one element per post)")
    probe = HTMLParser("<p></p>")
    for key, value in merged.items():
        css, _ = _split(value)
        if not css:
            continue
        try:
            probe.css(css)
        except (SelectolaxError, ValueError) as exc:
            raise ConfigError(f"html source: selector {key} = {value!r} is not valid CSS") from exc
    return merged


class HtmlKind:
    """Plain HTML pages read with CSS selectors (see the module docstring)."""

    kind = "html"

    def parse(
        self, body: bytes, *, url: str, content_type: str | None, settings: Mapping[str, Any]
    ) -> ParsedPage:
        """Posts of the page at `url`. Raises SourceError when the container matches nothing."""
        selectors = selectors_of(settings)
        tz = source_timezone(settings)
        tree = HTMLParser(_text.decode(body, content_type))
        containers = tree.css(selectors["container"])
        if not containers:
            raise parse_error(
                url, f"no element matches the container selector {selectors['container']!r}"
            )
        posts = []
        for node in containers:
            title = _first(node, selectors.get("title"))
            raw_published = _first(node, selectors.get("time"))
            link = _first(node, selectors.get("link"))
            link = urljoin(url, link) if link and not link.startswith("#") else link
            paragraphs = _values(node, selectors.get("body"))
            captions = _values(node, selectors.get("caption"))
            posts.append(
                Post(
                    post_id=stable_id(
                        _first(node, selectors.get("id")) or None,
                        link,
                        title=title,
                        published_raw=raw_published,
                        home_urls=[url],
                    ),
                    title=title,
                    paragraphs=tuple(paragraphs),
                    captions=tuple(dict.fromkeys(captions)),
                    published=parse_time(raw_published, tz),
                    modified=parse_time(_first(node, selectors.get("modified")), tz),
                    byline=tuple(_values(node, selectors.get("byline"))),
                    url=urljoin(url, link) if link.startswith("#") else link,
                )
            )
        root = tree.root
        next_pages = [urljoin(url, v) for v in _values(root, selectors.get("next"))] if root else []
        return build_page(posts, next_pages)
