"""Command: `parley simulate PAGE.json --port N [--speed X] [--host H] [--script FILE]`.

Serves one live-blog document in every format (RSS, Atom, JSON Feed, JSON-LD live blog, plain
HTML) post by post on its own timeline, until Ctrl-C. See docs/sources.md.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from monitor.cli._app import app


@app.command("simulate")
def simulate(  # noqa: PLR0917  (typer maps each option to one parameter)
    page: Annotated[
        Path | None,
        typer.Argument(
            help="Live-blog document (JSON, the shape of shared/seed/*.json). "
            "Default: the bundled seed page.",
            show_default=False,
            metavar="PAGE.json",
        ),
    ] = None,
    port: Annotated[int, typer.Option("--port", "-p", help="Port (0: any free port).")] = 8800,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    speed: Annotated[
        float,
        typer.Option("--speed", help="Page seconds per real second (600 = 10 page-minutes/s)."),
    ] = 60.0,
    script: Annotated[
        Path | None, typer.Option("--script", help="JSON script of edits and withdrawals.")
    ] = None,
    per_page: Annotated[
        int, typer.Option("--per-page", min=1, help="Posts per page of /liveblog.html.")
    ] = 10,
) -> None:
    """Serve a live page post by post in every format, with ETags, pagination and scripted edits."""
    from rich.console import Console
    from rich.markup import escape

    from monitor.errors import InputError
    from monitor.simulator import (
        PAGE_SELECTORS,
        Simulator,
        bundled_page_path,
        load_page,
        load_script,
    )
    from monitor.simulator.timeline import Timeline

    if speed <= 0:
        raise InputError(f"--speed must be positive, not {speed}")
    document = load_page(page or bundled_page_path())
    first = Timeline(document).first
    assert first is not None
    steps = load_script(script, first=first) if script else ()
    sim = Simulator(document, speed=speed, script=steps, per_page=per_page)
    try:
        server = sim.serve(host, port)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    console = Console(highlight=False, soft_wrap=True)
    status = sim.status()
    console.print(
        f"Simulating {escape(status['title'])}: {status['total']} posts, speed {speed:g}"
        f"{f', {len(steps)} scripted steps' if steps else ''}"
    )
    for name, url in server.urls().items():
        console.print(f"  {name:<9} {url}")
    selectors = ", ".join(f"{k}={v!r}" for k, v in PAGE_SELECTORS.items())
    console.print(f"  html selectors: {escape(selectors)}")
    console.print("Press Ctrl-C to stop.")
    stop = threading.Event()
    # Both set explicitly: a shell starting us in the background leaves SIGINT ignored.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    console.print(f"Stopped after {sim.status()['published']} of {status['total']} posts.")
