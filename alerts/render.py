"""An alert as words: the labelled facts every channel shows, as plain text and as escaped HTML.

Pure functions. Every value may be post text, so `html_body` escapes all of them, and a post URL is
only ever turned into a link when `safe_url` accepts it (http or https, no spaces or control
characters).
"""

from __future__ import annotations

import html
from urllib.parse import urlsplit

from alerts.model import Alert


def safe_url(url: str) -> str | None:
    """`url` when it is an absolute http(s) URL without whitespace or control characters, else None."""
    if not url or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url


def facts(alert: Alert) -> list[tuple[str, str]]:
    """The alert's facts as (label, value) pairs, empty ones left out, in display order."""
    pairs = [
        ("What changed", alert.summary),
        ("Status", alert.status),
        ("Parties", ", ".join(alert.parties)),
        ("Quantities", "; ".join(f"{k}: {v}" for k, v in alert.quantities)),
        ("Deadline", alert.deadline),
        ("View", f"{alert.view} / {alert.row_key}"),
        ("When", alert.occurred_at.isoformat()),
    ]
    return [(label, value) for label, value in pairs if value]


def text_body(alert: Alert) -> str:
    """The alert as plain text (an email's text part, the mailbox file)."""
    lines = [alert.headline, ""]
    lines += [f"{label}: {value}" for label, value in facts(alert)]
    if alert.quote:
        lines += ["", *(f"> {line}" for line in alert.quote.splitlines())]
    url = safe_url(alert.post_url)
    if url:
        lines += ["", f"Post: {url}"]
    lines += ["", f"Alert key: {alert.key}"]
    return "\n".join(lines) + "\n"


def html_body(alert: Alert) -> str:
    """The alert as an HTML document in which every value is escaped."""
    e = html.escape
    rows = "".join(
        f'<tr><th align="left" valign="top" style="padding-right:1em">{e(label)}</th>'
        f'<td style="white-space:pre-line">{e(value)}</td></tr>'
        for label, value in facts(alert)
    )
    parts = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8"></head><body>',
        f"<h2>{e(alert.headline)}</h2>",
        f"<table>{rows}</table>",
    ]
    if alert.quote:
        parts.append(
            '<blockquote style="border-left:3px solid #ccc;margin:1em 0;padding-left:1em">'
            f"{e(alert.quote)}</blockquote>"
        )
    url = safe_url(alert.post_url)
    if url:
        parts.append(f'<p><a href="{e(url, quote=True)}">Open the post</a></p>')
    parts.append(f'<p style="color:#888;font-size:small">Alert key: {e(alert.key)}</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
