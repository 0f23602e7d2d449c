"""Misbehaving responses for tests, served by the simulator under `/fault/...`.

Each maps a path to a handler writing a deliberately bad response, so every failure the fetcher
and parsers must survive can be produced by a real server on 127.0.0.1:

    /fault/slow           200, then one byte every 0.2 s (a slow trickle), until `stop` or 60 s
    /fault/endless        200 without Content-Length, 64 KiB chunks until the client hangs up
    /fault/huge           declares Content-Length 10 GiB and sends a little
    /fault/gzip-bomb      about 50 KiB of gzip that inflates to 50 MiB of zeros
    /fault/redirect-loop  /fault/redirect-loop -> /fault/redirect-loop-b -> back
    /fault/redirects?n=N  a chain of N redirects ending at /feed.rss
    /fault/404, /fault/500
    /fault/429            429 with Retry-After: 120
    /fault/503            503 with Retry-After as an HTTP date 90 s ahead
    /fault/bomb           a billion-laughs XML document
    /fault/malformed      RSS that is not well-formed XML
    /fault/bad-utf8       RSS declared UTF-8 holding Latin-1 bytes
    /fault/latin1         RSS declared ISO-8859-1 (correctly)
    /fault/no-markup      an HTML page with no JSON-LD and no posts
    /fault/bad-jsonld     an HTML page whose only JSON-LD block is broken JSON
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import cache
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title></channel></rss>
"""

_RSS_ITEM = (
    '<?xml version="1.0" encoding="{enc}"?><rss version="2.0"><channel><title>t</title>'
    "<item><guid>caf\u00e9-1</guid><title>Caf\u00e9 talks</title>"
    "<description>Un caf\u00e9 cr\u00e8me</description></item></channel></rss>"
)


@cache
def _gzip_bomb() -> bytes:
    return gzip.compress(b"\0" * (50 * 1024 * 1024), compresslevel=9)


def _send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    ctype: str = "text/plain",
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", ctype)
    handler.send_header("Content-Length", str(len(body)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(body)


def _trickle(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Content-Length", "1000")
    handler.end_headers()
    for _ in range(300):  # at most 60 s
        if stop.wait(0.2):
            return
        handler.wfile.write(b" ")
        handler.wfile.flush()


def _endless(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.close_connection = True
    chunk = b"<item>" * (64 * 1024 // 6)
    for _ in range(16 * 1024):  # 1 GiB at most, then give up
        if stop.is_set():
            return
        handler.wfile.write(chunk)


def handle_fault(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
    """Answer a /fault/... request (404 for an unknown fault); a client hanging up ends it quietly."""
    try:
        _handle(handler, stop)
    except OSError:  # the client gave up (as a good fetcher does on a trickle or endless body)
        handler.close_connection = True


def _handle(handler: BaseHTTPRequestHandler, stop: threading.Event) -> None:
    parts = urlsplit(handler.path)
    name = parts.path.removeprefix("/fault/")
    query = parse_qs(parts.query)
    rss = "application/rss+xml"
    html = "text/html; charset=utf-8"
    simple: dict[str, Callable[[], None]] = {
        "404": lambda: _send(handler, 404, b"not here"),
        "500": lambda: _send(handler, 500, b"boom"),
        "429": lambda: _send(handler, 429, b"slow down", headers={"Retry-After": "120"}),
        "503": lambda: _send(
            handler,
            503,
            b"maintenance",
            headers={
                "Retry-After": format_datetime(
                    datetime.now(UTC) + timedelta(seconds=90), usegmt=True
                )
            },
        ),
        "bomb": lambda: _send(handler, 200, BILLION_LAUGHS, rss),
        "malformed": lambda: _send(
            handler,
            200,
            b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>x</channel>',
            rss,
        ),
        "bad-utf8": lambda: _send(
            handler, 200, _RSS_ITEM.format(enc="utf-8").encode("latin-1"), rss
        ),
        "latin1": lambda: _send(
            handler, 200, _RSS_ITEM.format(enc="iso-8859-1").encode("latin-1"), rss
        ),
        "no-markup": lambda: _send(
            handler, 200, b"<html><body><p>Nothing here</p></body></html>", html
        ),
        "bad-jsonld": lambda: _send(
            handler,
            200,
            b'<html><head><script type="application/ld+json">{"@type": "LiveBlogPosting",</script>'
            b"</head><body></body></html>",
            html,
        ),
        "huge": lambda: _send_huge(handler),
        "gzip-bomb": lambda: _send(
            handler, 200, _gzip_bomb(), rss, headers={"Content-Encoding": "gzip"}
        ),
        "redirect-loop": lambda: _send(
            handler, 302, b"", headers={"Location": "/fault/redirect-loop-b"}
        ),
        "redirect-loop-b": lambda: _send(
            handler, 302, b"", headers={"Location": "/fault/redirect-loop"}
        ),
        "slow": lambda: _trickle(handler, stop),
        "endless": lambda: _endless(handler, stop),
    }
    if name == "redirects":
        left = int((query.get("n") or ["3"])[0])
        target = "/feed.rss" if left <= 1 else f"/fault/redirects?n={left - 1}"
        _send(handler, 301, b"", headers={"Location": target})
        return
    action = simple.get(name)
    if action is None:
        _send(handler, 404, b"no such fault")
        return
    action()


def _send_huge(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/rss+xml")
    handler.send_header("Content-Length", str(10 * 1024**3))
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.close_connection = True
    handler.wfile.write(b"<rss>")
