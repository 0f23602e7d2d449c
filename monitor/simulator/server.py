"""The simulator's HTTP server: every format of one live page at once, with ETags and faults.

    sim = Simulator(load_page(path), speed=600)          # 10 page-minutes per second
    with sim.serve("127.0.0.1", 0) as server:            # port 0: any free port
        server.url                                       # "http://127.0.0.1:PORT"
        server.urls()                                    # {"rss": ".../feed.rss", ...}

Routes: /feed.rss, /feed.atom, /feed.json, /liveblog.html[?page=N], /page.html, /status (JSON),
/fault/... (see `faults`). Query parameters other than `page` are ignored, so many distinct URLs
can point at one simulator. Every format answers conditional GETs (If-None-Match with its ETag,
If-Modified-Since with its Last-Modified) with 304. Runs on a stdlib ThreadingHTTPServer in a
background thread: usable in-process from tests and from `parley simulate`.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from monitor.simulator import faults
from monitor.simulator.feeds import render_atom, render_jsonfeed, render_rss
from monitor.simulator.html_pages import render_liveblog, render_page
from monitor.simulator.script import Step
from monitor.simulator.timeline import Snapshot, Timeline

FORMATS: Mapping[str, tuple[str, str]] = {
    "rss": ("/feed.rss", "application/rss+xml; charset=utf-8"),
    "atom": ("/feed.atom", "application/atom+xml; charset=utf-8"),
    "jsonfeed": ("/feed.json", "application/feed+json; charset=utf-8"),
    "liveblog": ("/liveblog.html", "text/html; charset=utf-8"),
    "html": ("/page.html", "text/html; charset=utf-8"),
}


class Simulator:
    """A live page published post by post on its own timeline, accelerated by `speed`.

    `clock` returns seconds (default `time.time`); the timeline starts at `serve()` (or `start()`).
    `script` steps revise or withdraw posts. Constructing does no I/O.
    """

    def __init__(
        self,
        page: Mapping[str, Any],
        *,
        speed: float = 1.0,
        clock: Callable[[], float] = time.time,
        script: Sequence[Step] = (),
        per_page: int = 10,
    ) -> None:
        self.timeline = Timeline(page, speed=speed, clock=clock, script=script)
        self.per_page = max(1, per_page)
        self._cache: dict[tuple[str, str, int], bytes] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the page's timeline now (idempotent)."""
        self.timeline.start()

    def snapshot(self) -> Snapshot:
        return self.timeline.snapshot()

    def status(self) -> dict[str, Any]:
        """Progress as JSON-ready data: posts published so far, total, done, and when each appeared."""
        snap = self.snapshot()
        tl = self.timeline
        released = {
            p.post_id: tl.clock_time_of(p.published)
            for p in tl.posts
            if p.published and p.published <= snap.at
        }
        return {
            "title": tl.title,
            "page_time": snap.at.isoformat(),
            "published": snap.published,
            "total": snap.total,
            "shown": [p.post_id for p in snap.posts],
            "done": snap.done,
            "speed": tl.speed,
            "started_at": tl.started,
            "released_at": released,
        }

    def render(self, fmt: str, base: str, page: int = 1) -> tuple[Snapshot, bytes] | None:
        """The snapshot and body of format `fmt` (a key of FORMATS), or None for no such page."""
        snap = self.snapshot()
        key = (snap.version + base, fmt, page)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return snap, cached
        tl = self.timeline
        text: str | None
        if fmt == "rss":
            text = render_rss(snap, base, tl.images, tl.title)
        elif fmt == "atom":
            text = render_atom(snap, base, tl.images, tl.title)
        elif fmt == "jsonfeed":
            text = render_jsonfeed(snap, base, tl.images, tl.title)
        elif fmt == "liveblog":
            text = render_liveblog(
                snap, base, tl.images, tl.title, page=page, per_page=self.per_page
            )
        elif fmt == "html":
            text = render_page(snap, tl.images, tl.title)
        else:
            raise KeyError(fmt)
        if text is None:
            return None
        body = text.encode("utf-8")
        with self._lock:
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[key] = body
        return snap, body

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
        """Start serving in a background thread and start the timeline; returns the server."""
        server = _Server((host, port), _make_handler(self))
        self.start()
        running = RunningServer(server)
        running.start()
        return running


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # endless fault responses must not hold up stop()
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self.stopping = threading.Event()


class RunningServer:
    """A serving simulator: `url`, `urls()`, `stop()`; a context manager that stops on exit."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        host, port = server.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        self.url = f"http://{host}:{port}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def urls(self) -> dict[str, str]:
        """The URL of every format, and of /status."""
        return {name: self.url + path for name, (path, _) in FORMATS.items()} | {
            "status": f"{self.url}/status"
        }

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        self._server.stopping.set()
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _not_modified(handler: BaseHTTPRequestHandler, etag: str, snap: Snapshot) -> bool:
    inm = handler.headers.get("If-None-Match")
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        return etag in tags or "*" in tags
    ims = handler.headers.get("If-Modified-Since")
    if ims:
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError, IndexError):
            return False
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        return snap.last_change.replace(microsecond=0) <= since
    return False


def _make_handler(sim: Simulator) -> type[BaseHTTPRequestHandler]:
    routes = {path: (name, ctype) for name, (path, ctype) in FORMATS.items()}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "ParleySimulator/0.1"
        # Headers and body go out in two writes: with Nagle on, every 200 would wait for the
        # client's delayed ACK (about 40 ms on Linux) before its body left.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the stdlib's per-request stderr line."""

        head = False

        def do_HEAD(self) -> None:
            """As GET, without the body (fault endpoints answer 405)."""
            self.head = True
            if urlsplit(self.path).path.startswith("/fault/"):
                self._reply(405, b"", "text/plain")
                return
            self.do_GET()

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            server = self.server
            assert isinstance(server, _Server)
            if parts.path.startswith("/fault/"):
                faults.handle_fault(self, server.stopping)
                return
            if parts.path == "/status":
                self._reply(200, json.dumps(sim.status()).encode(), "application/json")
                return
            if parts.path == "/":
                listing = (
                    "\n".join(f"{n}: {p}" for n, (p, _) in FORMATS.items()) + "\nstatus: /status\n"
                )
                self._reply(200, listing.encode(), "text/plain; charset=utf-8")
                return
            route = routes.get(parts.path)
            if route is None:
                self._reply(404, b"not found\n", "text/plain")
                return
            name, ctype = route
            try:
                page = int((parse_qs(parts.query).get("page") or ["1"])[0])
            except ValueError:
                page = 0
            host = self.headers.get("Host") or "{}:{}".format(*server.server_address[:2])
            rendered = sim.render(name, f"http://{host}", page)
            if rendered is None:
                self._reply(404, b"no such page\n", "text/plain")
                return
            snap, body = rendered
            digest = hashlib.sha256(body).hexdigest()[:20]
            etag = f'"{digest}"'
            headers = {
                "ETag": etag,
                "Last-Modified": format_datetime(snap.last_change.astimezone(UTC), usegmt=True),
                "Cache-Control": "no-cache",
            }
            if _not_modified(self, etag, snap):
                self._reply(304, b"", None, headers)
                return
            self._reply(200, body, ctype, headers)

        def _reply(
            self,
            status: int,
            body: bytes,
            ctype: str | None,
            headers: Mapping[str, str] | None = None,
        ) -> None:
            self.send_response(status)
            if ctype:
                self.send_header("Content-Type", ctype)
            if status != 304:
                self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if status != 304 and not self.head:
                self.wfile.write(body)

    return Handler
