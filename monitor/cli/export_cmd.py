"""`parley export` (the log as JSON lines or CSV) and `parley copy --to URL` (to another database)."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from monitor.cli._app import app


@app.command("export")
def export_command(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", "-f", help="jsonl or csv.")] = "jsonl",
    from_: Annotated[
        str | None,
        typer.Option("--from", metavar="TIME|POSITION", help="First event (default: the first)."),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option("--to", metavar="TIME|POSITION", help="Last event (default: the head)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", metavar="FILE", help="Write here, not to stdout.")
    ] = None,
) -> None:
    """Write the events, every stored column with its hash, as JSON lines or CSV.

    A time for --from starts at the first event recorded at or after it; a time for --to ends
    at the last event recorded by then.
    """
    from monitor.audit.moments import parse_moment, resolve_position
    from store import open_store
    from store.export import FORMATS, export

    if fmt not in FORMATS:
        raise typer.BadParameter(f"must be one of {', '.join(FORMATS)}", param_hint="--format")
    with open_store(ctx.obj.db_url) as store:
        start = 1
        if from_ is not None:
            moment = parse_moment(from_, option="--from")
            if isinstance(moment, int):
                start = moment
            else:  # the first event recorded at or after the time
                start = resolve_position(store, moment - timedelta(microseconds=1)) + 1
        end = None if to is None else resolve_position(store, parse_moment(to, option="--to"))
        if out is None:
            count = export(store, sys.stdout, fmt=fmt, from_position=start, to_position=end)
        else:
            with out.open("w", encoding="utf-8", newline="") as handle:
                count = export(store, handle, fmt=fmt, from_position=start, to_position=end)
    typer.echo(f"exported {count} events", err=True)


@app.command("copy")
def copy_command(
    ctx: typer.Context,
    to: Annotated[
        str, typer.Option("--to", metavar="URL", help="The database to copy the log into.")
    ],
) -> None:
    """Copy the whole log to another database (SQLite or PostgreSQL), verified on arrival.

    Positions, hashes and recorded times are kept. The target must be empty or hold an earlier
    copy of the same log (the copy resumes). Views are not copied: run `parley views` there.
    """
    from monitor.cli.replay_cmd import progress_bar
    from monitor.errors import InputError
    from store import open_store
    from store.copy import copy_log
    from store.url import parse_url

    if parse_url(to).display == parse_url(ctx.obj.db_url).display:
        raise InputError(f"--to {parse_url(to).display}: that is the database being copied")
    with (
        open_store(ctx.obj.db_url) as source,
        open_store(to) as target,
        progress_bar("copy") as tick,
    ):
        report = copy_log(source, target, progress=tick)
    resumed = f" (resumed after position {report.resumed_from})" if report.resumed_from else ""
    typer.echo(f"copied {report.copied} events to {parse_url(to).display}{resumed}")
    typer.echo(
        f"verified on arrival: {report.verified_events} events, head {report.head.position} "
        f"{report.head.hash}"
    )
