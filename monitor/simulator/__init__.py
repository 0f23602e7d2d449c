"""A local live-blog simulator: one page published post by post, in every format at once.

    from monitor.simulator import Simulator, load_page, bundled_page_path
    sim = Simulator(load_page(bundled_page_path()), speed=600)    # 10 page-minutes per second
    with sim.serve("127.0.0.1", 0) as server:
        fetch(server.urls()["rss"]) ...                           # also atom, jsonfeed, liveblog, html
        sim.status()["done"]                                      # True once every post is out

`PAGE_SELECTORS` are the `html` kind's selectors for /page.html. Tests pass `clock=ManualClock()`
and `advance()` it. Scripts of edits and withdrawals: `monitor.simulator.script`.
"""

from __future__ import annotations

from monitor.simulator.html_pages import PAGE_SELECTORS
from monitor.simulator.script import Step, load_script, parse_script
from monitor.simulator.server import FORMATS, RunningServer, Simulator
from monitor.simulator.timeline import (
    ManualClock,
    Snapshot,
    bundled_page_path,
    load_page,
    seed_post,
)

__all__ = [
    "FORMATS",
    "PAGE_SELECTORS",
    "ManualClock",
    "RunningServer",
    "Simulator",
    "Snapshot",
    "Step",
    "bundled_page_path",
    "load_page",
    "load_script",
    "parse_script",
    "seed_post",
]
