"""The simulator's feed formats: RSS 2.0, Atom 1.0 and JSON Feed 1.1, rendered from a Snapshot.

Shapes chosen to exercise the parsers' real-world paths: RSS bodies are HTML inside CDATA with
captions in `media:content`/`media:description`; Atom entries use relative links and HTML
content with `<figure><figcaption>`; ids are `<page>#<post id>` (Atom) or the bare post id.
All text is escaped; CDATA sections are split around any `]]>`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.utils import format_datetime
from html import escape as html_escape
from typing import Any
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from monitor.posts import Post
from monitor.simulator.timeline import Snapshot
from monitor.sources._text import looks_like_html

Images = Mapping[str, Sequence[Mapping[str, Any]]]


def plain_text(value: str) -> str:
    """A plain-text field as a reader will take it: HTML-escaped only when it would be read as HTML.

    Parsers read a title or articleBody holding a real tag or entity as HTML (publishers put HTML
    there); escaping such text keeps literal "<p>" or "&amp;" literal after the round trip.
    """
    return html_escape(value, quote=False) if looks_like_html(value) else value


def plain_body(paragraphs: Sequence[str]) -> str:
    """Paragraphs as plain text separated by blank lines, all escaped if any would read as HTML."""
    if any(looks_like_html(p) for p in paragraphs):
        return "\n\n".join(html_escape(p, quote=False) for p in paragraphs)
    return "\n\n".join(paragraphs)


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def figure_html(image: Mapping[str, Any]) -> str:
    """An image as HTML: the alt text on <img>, the caption (when there is one) in <figcaption>."""
    alt = html_escape(str(image.get("alt") or ""), quote=True)
    caption = image.get("caption")
    inner = f'<img src="/img.jpg" alt="{alt}">'
    if caption:
        inner += f"<figcaption>{html_escape(str(caption))}</figcaption>"
    return f"<figure>{inner}</figure>"


def body_html(post: Post, images: Sequence[Mapping[str, Any]], *, figures: bool) -> str:
    """Paragraphs as <p>, with the post's images as figures first when `figures`."""
    parts = [figure_html(i) for i in images] if figures else []
    parts += [f"<p>{html_escape(p)}</p>" for p in post.paragraphs]
    return "".join(parts)


def _iso(when: datetime | None) -> str:
    return when.isoformat() if when else ""


def render_rss(snapshot: Snapshot, base: str, images: Images, title: str) -> str:
    """RSS 2.0: guid isPermaLink="false" is the post id, HTML bodies in CDATA, media:content."""
    items = []
    for post in snapshot.posts:
        media = []
        for image in images.get(post.post_id, ()):
            desc = image.get("caption")
            inner = f"<media:credit>{xml_escape(str(image.get('credit') or ''))}</media:credit>"
            if desc:
                inner += (
                    f"<media:description>{xml_escape(plain_text(str(desc)))}</media:description>"
                )
            media.append(
                f'<media:content url="{base}/img.jpg" medium="image">{inner}</media:content>'
            )
        creators = "".join(
            f"<dc:creator>{xml_escape(plain_text(b))}</dc:creator>" for b in post.byline
        )
        assert post.published is not None
        items.append(
            "<item>"
            f"<title>{xml_escape(plain_text(post.title))}</title>"
            f"<link>{base}/liveblog.html#{post.post_id}</link>"
            f'<guid isPermaLink="false">{xml_escape(post.post_id)}</guid>'
            f"<pubDate>{format_datetime(post.published)}</pubDate>"
            f"{creators}"
            f"<description>{_cdata(body_html(post, (), figures=False))}</description>"
            f"{''.join(media)}"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<channel><title>{xml_escape(title)}</title><link>{base}/liveblog.html</link>"
        f"<description>{xml_escape(title)}</description>"
        f"<lastBuildDate>{format_datetime(snapshot.last_change)}</lastBuildDate>"
        f"{''.join(items)}</channel></rss>\n"
    )


def render_atom(snapshot: Snapshot, base: str, images: Images, title: str) -> str:
    """Atom 1.0 with relative entry links (resolved against the feed's URL) and HTML content."""
    entries = []
    for post in snapshot.posts:
        authors = "".join(
            f"<author><name>{xml_escape(plain_text(b))}</name></author>" for b in post.byline
        )
        content = body_html(post, images.get(post.post_id, ()), figures=True)
        entries.append(
            "<entry>"
            f"<id>{base}/liveblog.html#{xml_escape(post.post_id)}</id>"
            f'<title type="html">{xml_escape(html_escape(post.title, quote=False))}</title>'
            f'<link rel="alternate" href={quoteattr("liveblog.html#" + post.post_id)}/>'
            f"<published>{_iso(post.published)}</published>"
            f"<updated>{_iso(post.modified or post.published)}</updated>"
            f"{authors}"
            f'<content type="html">{xml_escape(content)}</content>'
            "</entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>{base}/feed.atom</id><title>{xml_escape(title)}</title>"
        f'<link rel="alternate" href="{base}/liveblog.html"/>'
        f'<link rel="self" href="{base}/feed.atom"/>'
        f"<updated>{snapshot.last_change.isoformat()}</updated>"
        f"{''.join(entries)}</feed>\n"
    )


def render_jsonfeed(snapshot: Snapshot, base: str, images: Images, title: str) -> str:
    """JSON Feed 1.1: `id` is the post id, `content_html` carries figures and paragraphs."""
    items = []
    for post in snapshot.posts:
        item: dict[str, Any] = {
            "id": post.post_id,
            "url": f"{base}/liveblog.html#{post.post_id}",
            "title": plain_text(post.title),
            "content_html": body_html(post, images.get(post.post_id, ()), figures=True),
            "date_published": _iso(post.published),
        }
        if post.modified:
            item["date_modified"] = _iso(post.modified)
        if post.byline:
            item["authors"] = [{"name": plain_text(b)} for b in post.byline]
        items.append(item)
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "home_page_url": f"{base}/liveblog.html",
        "feed_url": f"{base}/feed.json",
        "items": items,
    }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"
