"""The `parley` command: the typer app, its global options, and the one place errors become exit codes."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import typer

from monitor.log_setup import LogFormat, configure_logging

app = typer.Typer(
    name="parley",
    help=(
        "Parley watches live blogs and feeds about negotiations, keeps every post in an append-only "
        "log, and builds views of demands, proposals and agreements from it."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def default_database_url() -> str:
    """The embedded default: a SQLite file in the user's data directory."""
    from platformdirs import user_data_dir

    return f"sqlite:///{Path(user_data_dir('parley')) / 'parley.db'}"


@dataclass(frozen=True, slots=True)
class Globals:
    """What the global options resolved to; commands read it from `ctx.obj`."""

    db_url: str
    debug: bool


@app.callback()
def _global_options(
    ctx: typer.Context,
    db: str | None = typer.Option(
        None,
        "--db",
        envvar="PARLEY_DATABASE_URL",
        help=(
            "Database URL: sqlite:///PATH or postgresql://USER@HOST/DB. "
            "Default: parley.db in your user data directory."
        ),
        show_default=False,
    ),
    log_format: str = typer.Option(
        "auto",
        "--log-format",
        help="auto (console on a terminal, else JSON lines), console or json.",
    ),
    log_level: str = typer.Option("INFO", "--log-level", help="DEBUG, INFO, WARNING or ERROR."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks on errors."),
) -> None:
    if log_format not in ("auto", "console", "json"):
        raise typer.BadParameter("must be auto, console or json", param_hint="--log-format")
    fmt: LogFormat = log_format  # type: ignore[assignment]
    configure_logging(fmt, log_level)
    ctx.obj = Globals(db_url=db or default_database_url(), debug=debug)


def run() -> None:
    """Entry point: run the app, turning Parley's own errors into one line on stderr and exit 1."""
    from alerts.errors import AlertError
    from monitor.errors import MonitorError
    from store.errors import StoreError

    try:
        app()
    except (StoreError, MonitorError, AlertError) as exc:
        if "--debug" in sys.argv:
            raise
        typer.echo(f"parley: error: {exc}", err=True)
        sys.exit(1)
