"""`parley alerts test|list|retry`: try a channel, read the delivery trail, re-queue a failed alert."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from monitor.cli._app import app

if TYPE_CHECKING:
    from alerts.config import AlertsConfig
    from alerts.trail import TrailRow

alerts_app = typer.Typer(
    help="Alert channels and the delivery trail.", no_args_is_help=True, rich_markup_mode=None
)
app.add_typer(alerts_app, name="alerts")

STATUSES = ("pending", "delivered", "failed")


@alerts_app.command("test")
def send_test_command(
    channel: Annotated[str, typer.Argument(help="A channel name from the [alerts] configuration.")],
    config: Annotated[
        Path, typer.Option("--config", "-c", help="The TOML configuration file.")
    ] = Path("parley.toml"),
) -> None:
    """Send a test alert through CHANNEL and print the channel's answer."""
    import asyncio

    from alerts.config import build_channels, load_alerts_config
    from alerts.errors import UnknownChannelError
    from alerts.model import Alert

    settings = load_alerts_config(config)
    if channel not in settings.channels:
        known = ", ".join(settings.channel_names) or "none"
        raise UnknownChannelError(
            f"{config}: no alerts channel named {channel!r} (configured: {known})"
        )
    built = build_channels(_only(settings, channel), os.environ)[channel]
    now = datetime.now(UTC)
    alert = Alert(
        key=f"test:{channel}:{now.strftime('%Y%m%dT%H%M%S')}",
        view="test",
        row_key=channel,
        change="test",
        title=f"Parley test alert for {channel}",
        summary="If you can read this, the channel works. Nothing has changed in the views.",
        parties=("AAA", "BBB"),
        quantities=(("count", "1"),),
        quote="A test of the alert channel, with <markup> & an @channel that must not ping.",
        occurred_at=now,
    )
    receipt = asyncio.run(built.send(alert))
    typer.echo(f"sent a test alert through {channel}: {receipt.status} {receipt.answer}".rstrip())


def _only(settings: AlertsConfig, channel: str) -> AlertsConfig:
    from dataclasses import replace

    return replace(settings, channels={channel: settings.channels[channel]})


@alerts_app.command("list")
def list_command(
    ctx: typer.Context,
    status: Annotated[
        str | None, typer.Option("--status", help="Only pending, delivered or failed alerts.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
) -> None:
    """The delivery trail: each alert on each channel, with its status, attempts and answer."""
    from rich.console import Console
    from rich.text import Text

    if status is not None and status not in STATUSES:
        raise typer.BadParameter(f"must be one of {', '.join(STATUSES)}", param_hint="--status")
    rows = [r for r in _trail(ctx.obj.db_url) if status is None or r.status == status]
    if as_json:
        for r in rows:
            typer.echo(json.dumps(r.to_json(), ensure_ascii=False))
        return
    if not rows:
        typer.echo("no alerts" + (f" with status {status}" if status else ""))
        return
    console = Console(soft_wrap=True, highlight=False)
    for r in rows:  # Text, not markup: post text is printed as written, control codes stripped
        tries = f"{r.attempts} {'try' if r.attempts == 1 else 'tries'}"
        console.print(Text(f"{r.status:<9} {r.id}  ({r.channel}, {tries}, {r.at})"))
        console.print(Text(f"          {r.title}"))
        if r.detail:
            console.print(Text(f"          {r.detail}"))


def _trail(db_url: str) -> list[TrailRow]:
    from alerts import events
    from alerts.trail import trail_rows
    from store import open_store
    from store.mapper import from_recorded

    types = list(events.TRAIL_TYPES)
    with open_store(db_url) as store:
        trail = [from_recorded(r) for r in store.read(event_types=types)]
        pending = store.pending_outbox(10_000)
    return trail_rows(trail, pending)


@alerts_app.command("retry")
def retry_command(
    ctx: typer.Context,
    id: Annotated[str, typer.Argument(help="The alert's id, as `parley alerts list` shows it.")],
) -> None:
    """Re-queue a failed alert: the delivery worker sends it again on its next pass."""
    from alerts import events
    from alerts.errors import AlertError
    from store import open_store
    from store.mapper import from_recorded

    with open_store(ctx.obj.db_url) as store:
        trail = [from_recorded(r) for r in store.read_stream(events.alert_stream(id))]
        if any(isinstance(e, events.AlertDelivered) for e in trail):
            raise AlertError(f"alert {id!r} was already delivered; it is not sent twice")
        store.mark_outbox(id, status="pending", attempts=0)
    typer.echo(f"re-queued {id}; the delivery worker sends it on its next pass")
