"""The simulator's HTML formats: a JSON-LD LiveBlogPosting page (paginated) and a plain page.

`/liveblog.html?page=N` shows `per_page` posts per page, newest first, as JSON-LD inside a
`@graph` (a WebPage node and the LiveBlogPosting), with `<link rel="next">` when more follow.
`/page.html` is the same posts as plain HTML for the `html` kind, read with the selectors in
`PAGE_SELECTORS`. JSON inside <script> escapes `<`, `>` and `&` so no text can close the block.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from monitor.simulator.feeds import Images, figure_html, plain_body, plain_text
from monitor.simulator.timeline import Snapshot

PAGE_SELECTORS: Mapping[str, str] = {
    "container": "article.post",
    "id": "@id",
    "title": "h2.post-title",
    "time": "time.published@datetime",
    "modified": "time.modified@datetime",
    "body": "div.post-body > p",
    "caption": "figcaption",
    "byline": ".byline .author",
    "link": "a.permalink@href",
}


def _script_json(data: Any) -> str:
    text = json.dumps(data, ensure_ascii=False, indent=1)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page_count(snapshot: Snapshot, per_page: int) -> int:
    return max(1, -(-len(snapshot.posts) // per_page))


def render_liveblog(
    snapshot: Snapshot, base: str, images: Images, title: str, *, page: int, per_page: int
) -> str | None:
    """Page `page` (1-based) of the live blog, or None when there is no such page."""
    pages = page_count(snapshot, per_page)
    if page < 1 or page > pages:
        return None
    shown = snapshot.posts[(page - 1) * per_page : page * per_page]
    canonical = f"{base}/liveblog.html"
    updates = []
    for post in shown:
        update: dict[str, Any] = {
            "@type": "BlogPosting",
            "@id": f"{canonical}#{post.post_id}",
            "url": f"{canonical}#{post.post_id}",
            "headline": plain_text(post.title),
            "articleBody": plain_body(post.paragraphs),
            "datePublished": post.published.isoformat() if post.published else None,
            "dateModified": (post.modified or post.published).isoformat()
            if post.published
            else None,
        }
        if post.byline:
            update["author"] = [{"@type": "Person", "name": plain_text(b)} for b in post.byline]
        pictures = [
            {"@type": "ImageObject", "url": f"{base}/img.jpg", "description": i.get("alt")}
            | ({"caption": plain_text(str(i["caption"]))} if i.get("caption") else {})
            for i in images.get(post.post_id, ())
        ]
        if pictures:
            update["image"] = pictures
        updates.append(update)
    first = snapshot.posts[-1].published if snapshot.posts else snapshot.at
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebPage", "@id": canonical, "name": title},
            {
                "@type": "LiveBlogPosting",
                "@id": f"{canonical}#liveblog",
                "url": canonical,
                "headline": title,
                "coverageStartTime": first.isoformat() if first else None,
                "coverageEndTime": snapshot.at.isoformat(),
                "liveBlogUpdate": updates,
            },
        ],
    }
    links = f'<link rel="canonical" href="{escape(canonical)}">'
    nav = ""
    if page < pages:
        links += f'<link rel="next" href="liveblog.html?page={page + 1}">'
        nav = f'<a rel="next" href="liveblog.html?page={page + 1}">Older posts</a>'
    items = "".join(f'<li id="{escape(p.post_id)}"><h2>{escape(p.title)}</h2></li>' for p in shown)
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{escape(title)}</title>{links}'
        f'<script type="application/ld+json">{_script_json(graph)}</script></head>'
        f"<body><h1>{escape(title)}</h1><ol>{items}</ol>{nav}</body></html>\n"
    )


def _article(post: Any, images: Sequence[Mapping[str, Any]]) -> str:
    published = post.published.isoformat() if post.published else ""
    modified = (
        f'<time class="modified" datetime="{post.modified.isoformat()}">edited</time>'
        if post.modified
        else ""
    )
    byline = ""
    if post.byline:
        names = "".join(f'<span class="author">{escape(b)}</span>' for b in post.byline)
        byline = f'<p class="byline">{names}</p>'
    body = "".join(f"<p>{escape(p)}</p>" for p in post.paragraphs)
    figures = "".join(figure_html(i) for i in images)
    return (
        f'<article class="post" id="{escape(post.post_id)}">'
        f'<h2 class="post-title">{escape(post.title)}</h2>'
        f'<time class="published" datetime="{published}">{escape(published)}</time>{modified}'
        f'{byline}{figures}<div class="post-body">{body}</div>'
        f'<a class="permalink" href="#{escape(post.post_id)}">Link</a></article>'
    )


def render_page(snapshot: Snapshot, images: Images, title: str) -> str:
    """Every shown post as plain HTML (no JSON-LD), for the `html` kind and PAGE_SELECTORS."""
    articles = "".join(_article(p, images.get(p.post_id, ())) for p in snapshot.posts)
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
        f"<body><h1>{escape(title)}</h1><main>{articles}</main></body></html>\n"
    )
