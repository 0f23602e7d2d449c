"""`parley config check FILE`: every mistake of a configuration with its line, or a short summary."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from monitor.cli._app import app

config_app = typer.Typer(
    help="Check a configuration file before `parley run` loads it.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(config_app, name="config")


@config_app.command("check")
def check_cmd(
    file: Annotated[Path, typer.Argument(help="The TOML configuration file.", show_default=False)],
) -> None:
    """Validate FILE as `parley run` would load it: every error with its line, or a summary.

    Secrets are resolved but never printed; nothing is contacted. Exit 1 on errors, else 0.
    """
    from monitor.config_check import check_file
    from store.url import mask_password

    report = check_file(file, os.environ)
    if report.errors:
        for line in report.sorted_errors():
            typer.echo(line, err=True)
        count = len(report.errors)
        typer.echo(f"{file}: {count} error{'s' if count > 1 else ''}", err=True)
        raise typer.Exit(1)
    s = report.settings
    assert s is not None  # no errors: the whole file was loaded
    enabled = [src for src in s.sources if src.enabled]
    database = (
        mask_password(s.database_url) if s.database_url else "the default (--db or parley.db)"
    )
    listen = s.service.listen
    endpoints = f"http://{listen[0]}:{listen[1]}" if listen else "off"
    channels = ", ".join(f"{n} ({t})" for n, t in report.channels.items())
    alerts = f"channels {channels}, secrets found" if channels else "no channel (nothing is sent)"
    typer.echo(f"{file}: ok")
    typer.echo(f"  database:  {database} (not contacted)")
    typer.echo(f"  sources:   {len(s.sources)} ({len(enabled)} enabled)")
    typer.echo(f"  alerts:    {alerts}; {report.rules} rules")
    typer.echo(f"  endpoints: {endpoints}")
    yours = [
        Path(p).name + ("/" if p in s.rules.dirs else "") for p in s.rules.actors + s.rules.dirs
    ]
    typer.echo(f"  rules:     packaged{''.join(f' + {name}' for name in yours)}")
