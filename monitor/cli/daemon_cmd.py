"""Commands: `parley run`, `parley sources`, `parley demo` (registered on the shared app)."""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from monitor.cli._app import app, default_database_url


def _explicit_db(ctx: typer.Context) -> str | None:
    """The --db option (or PARLEY_DATABASE_URL) when given; None when it was left to its default."""
    value = ctx.find_root().params.get("db")
    return str(value) if value else None


@app.command("run")
def run_cmd(
    ctx: typer.Context,
    config: Annotated[
        Path, typer.Option("--config", "-c", help="The TOML configuration file.")
    ] = Path("parley.toml"),
    listen: Annotated[
        str | None,
        typer.Option(
            "--listen",
            help="HOST:PORT for /healthz, /readyz and /metrics, or off "
            "(overrides \\[service] listen; default 127.0.0.1:9107).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Poll every configured source into the log until SIGTERM or Ctrl-C (then exit 0)."""
    from dataclasses import replace

    from monitor.bootstrap import run_until_signalled
    from monitor.config import load_settings, parse_listen
    from monitor.log_setup import configure_logging

    settings = load_settings(config, os.environ)
    if listen is not None:
        try:
            address = parse_listen(listen)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--listen") from None
        service = replace(settings.service, listen=address, required=True)
        settings = replace(settings, service=service)
    if (
        ctx.find_root().params.get("log_level", "INFO").upper() == "INFO"
        and settings.log_level != "INFO"
    ):
        fmt = ctx.find_root().params.get("log_format", "auto")
        configure_logging(fmt, settings.log_level)
    url = _explicit_db(ctx) or settings.database_url or default_database_url()
    asyncio.run(run_until_signalled(settings, database_url=url, environ=os.environ))


def _age(iso: str | None, now: datetime) -> str:
    if not iso:
        return "never"
    seconds = (now - datetime.fromisoformat(iso)).total_seconds()
    if seconds < 0:
        return f"in {_span(-seconds)}"
    return f"{_span(seconds)} ago"


def _span(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def source_rows(db_url: str, config: Path | None) -> list[dict[str, Any]]:
    """Every source the log or the config knows, with its persisted health."""
    from monitor.config import load_settings
    from monitor.daemon import HEALTH, logged_sources
    from store import open_store

    configured = {s.name: s for s in load_settings(config, os.environ).sources} if config else {}
    with open_store(db_url) as store:
        logged = logged_sources(store)
        health = store.get_meta(HEALTH)
    rows = []
    for name in sorted(set(logged) | set(configured) | set(health)):
        h = health.get(name) or {}
        fp = logged.get(name, ({}, 0))[0]
        cfg = configured.get(name)
        failing = bool(h.get("failures"))
        rows.append(
            {
                "source": name,
                "kind": cfg.kind if cfg else fp.get("kind", h.get("kind")),
                "url": cfg.url if cfg else fp.get("url", h.get("url")),
                "status": "failing"
                if failing
                else ("ok" if h.get("last_success") else "not polled"),
                "last_success": h.get("last_success"),
                "last_error": h.get("last_error"),
                "last_error_at": h.get("last_error_at"),
                "next_poll": h.get("next_poll"),
                "posts_seen": h.get("posts_seen", 0),
                "failures": h.get("failures", 0),
                "interval": h.get("interval"),
            }
        )
    return rows


@app.command("sources")
def sources_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="Also list sources of this config (and use its database)."
        ),
    ] = None,
) -> None:
    """List sources with their health: last success, last error, next poll, posts seen."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from monitor.config import load_settings

    url = _explicit_db(ctx)
    if url is None and config is not None:
        url = load_settings(config, os.environ).database_url
    rows = source_rows(url or default_database_url(), config)
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    now = datetime.now(UTC)
    table = Table("source", "kind", "status", "last success", "last error", "next poll", "posts")
    for r in rows:
        error = (
            Text(f"{_age(r['last_error_at'], now)}: {r['last_error']}")
            if r["last_error"]
            else Text("-")
        )
        status = Text(r["status"], style="red" if r["status"] == "failing" else "green")
        table.add_row(
            Text(r["source"]),
            Text(str(r["kind"])),
            status,
            _age(r["last_success"], now),
            error,
            _age(r["next_poll"], now) if r["next_poll"] else "-",
            str(r["posts_seen"]),
        )
    Console().print(table if rows else "no sources yet: run `parley run --config FILE` first")


def _alerts_table(counts: dict[str, Counter[str]], channels: tuple[str, ...]) -> Any:
    from rich.table import Table

    table = Table(
        "channel",
        "raised",
        "delivered",
        "sent",
        "failed",
        "pending",
        title="Alerts (raised and delivered: outbox messages; sent: alerts, grouped per row)",
    )
    for name in sorted(set(channels) | set(counts)):
        c = counts.get(name) or Counter()
        table.add_row(
            name, *(str(c.get(k, 0)) for k in ("raised", "delivered", "sent", "failed", "pending"))
        )
    return table


@app.command("demo")
def demo_cmd(
    ctx: typer.Context,
    page: Annotated[
        Path | None,
        typer.Option("--page", help="Live-blog document (default: the bundled seed page)."),
    ] = None,
    speed: Annotated[float, typer.Option("--speed", help="Page seconds per real second.")] = 600.0,
    until_done: Annotated[
        bool,
        typer.Option(
            "--until-done",
            help="Exit 0 once every post of the page is in the log, the views have caught up "
            "and every alert is delivered.",
        ),
    ] = False,
    group_wait: Annotated[
        float,
        typer.Option("--group-wait", help="Seconds to group changes to one row into one alert."),
    ] = 1.0,
) -> None:
    """Run the simulator and the daemon with views and alerts, then print a summary.

    Alerts are printed as they are delivered and appended to an mbox file in the demo's folder.
    """
    import tempfile

    from rich.console import Console
    from rich.table import Table

    from monitor.cli._demo import (
        DEMO_CHANNELS,
        DEMO_SOURCES,
        build_views,
        demo_alerts,
        latency_line,
        run_demo,
    )
    from monitor.errors import InputError
    from monitor.simulator import bundled_page_path, load_page

    if speed <= 0:
        raise InputError(f"--speed must be positive, not {speed}")
    if group_wait < 0:
        raise InputError(f"--group-wait must not be negative, not {group_wait}")
    console = Console()
    root = ctx.find_root().params
    if str(root.get("log_level", "INFO")).upper() == "INFO":
        # The demo prints its own progress; only warnings (a failing source) interrupt it.
        from monitor.log_setup import configure_logging

        configure_logging(root.get("log_format", "auto"), "WARNING")
    document = load_page(page or bundled_page_path())
    folder = Path(tempfile.mkdtemp(prefix="parley-demo-"))
    url = _explicit_db(ctx) or f"sqlite:///{folder / 'demo.db'}"
    mbox = folder / "alerts.mbox"

    def say(line: str) -> None:
        console.print(line, markup=False, highlight=False)

    say(f"demo database: {url}")
    say(f"alerts: printed here and appended to {mbox}")
    say(
        f"serving {len(document['posts'])} posts at {speed:g}x; sources: "
        + ", ".join(f"{n} ({k})" for n, k, _ in DEMO_SOURCES)
    )
    try:
        result = asyncio.run(
            run_demo(
                document,
                speed=speed,
                until_done=until_done,
                database_url=url,
                progress=say,
                mailbox=mbox,
                group_wait=group_wait,
            )
        )
    except KeyboardInterrupt:
        console.print("interrupted")
        raise typer.Exit(130) from None
    table = Table(
        "source", "kind", "published", "revised", "withdrawn", title="What the log recorded"
    )
    for name, kind, _ in DEMO_SOURCES:
        c = result.counts.get(name) or Counter()
        table.add_row(
            name,
            kind,
            str(c.get("PostPublished", 0)),
            str(c.get("PostRevised", 0)),
            str(c.get("PostWithdrawn", 0)),
        )
    console.print(table)
    say(latency_line(result.latencies))
    say(
        f"log head: position {result.head_position}, hash {result.head_hash[:16]}... "
        f"({result.seconds:.1f} s)"
    )
    views, why = build_views(url, demo_alerts(mbox, group_wait=group_wait))
    if views is not None:
        from monitor.cli.views_cmd import _print_tables  # the views' own rendering, text escaped

        _print_tables(views)
    else:
        say(why)
    console.print(_alerts_table(result.alerts, DEMO_CHANNELS))
    say(f"alerts mailbox: {mbox} (open it with `mutt -f {mbox}`)")
    say(
        f"inspect it: parley --db {url} sources   |   parley --db {url} views   |   "
        f"parley --db {url} alerts list"
    )
    if until_done and not result.done:
        console.print(
            "the demo did not see every post, catch the views up and deliver every alert in time",
            style="red",
        )
        raise typer.Exit(1)
