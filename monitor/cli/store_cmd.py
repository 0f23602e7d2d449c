"""Commands on the event log: `parley verify` (the audit digest) and `parley log` (list events)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from store.records import RecordedEvent

from monitor.cli._app import app


def _parse_expect(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    position, sep, digest = value.partition(":")
    digest = digest.strip().lower()
    if (
        not sep
        or not position.strip().isdigit()
        or len(digest) != 64
        or any(c not in "0123456789abcdef" for c in digest)
    ):
        raise typer.BadParameter(
            "must be POSITION:HASH, e.g. 1200:9f2c... (64 hex characters)", param_hint="--expect"
        )
    return int(position), digest


@app.command("verify")
def verify_command(
    ctx: typer.Context,
    expect: str | None = typer.Option(
        None,
        "--expect",
        metavar="POSITION:HASH",
        help="Also prove that the event at POSITION still has HASH (a digest written down earlier).",
    ),
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            metavar="FILE",
            help="Also prove the log still extends this checkpoint file (from `parley checkpoint`).",
        ),
    ] = None,
    pubkey: Annotated[
        Path | None,
        typer.Option(
            "--pubkey",
            metavar="FILE",
            help="With --checkpoint: the Ed25519 public key the checkpoint must be signed by.",
        ),
    ] = None,
) -> None:
    """Walk the hash chain, check the tamper guards, and print the head position and hash."""
    from store import open_store
    from store.verify import verify

    expected = _parse_expect(expect)
    with open_store(ctx.obj.db_url) as store:
        report = verify(store, expect=expected)
    typer.echo(f"database: {report.url}")
    typer.echo(f"events checked: {report.events_checked}")
    typer.echo(f"head position: {report.head.position}")
    typer.echo(f"head hash: {report.head.hash}")
    if expected is not None and report.ok:
        typer.echo(f"expected digest holds: {expected[0]}:{expected[1]}")
    extends = True
    if checkpoint is not None:  # the proof against a checkpoint file lives with the audit commands
        from monitor.cli.audit_cmd import report_checkpoint

        extends = report_checkpoint(ctx.obj.db_url, checkpoint, pubkey)
    if report.ok:
        typer.echo("ok: chain intact, tamper guards in place, checkpoints within the log")
        if extends:
            return
        raise typer.Exit(code=2)
    for problem in report.problems:
        typer.echo(f"FAILED: {problem}", err=True)
    if report.first_bad_position is not None:
        typer.echo(f"first bad position: {report.first_bad_position}", err=True)
    raise typer.Exit(code=2)


@app.command("log")
def log_command(  # noqa: PLR0917  (typer maps each option to one parameter)
    ctx: typer.Context,
    from_position: Annotated[int, typer.Option("--from", min=1, help="First position.")] = 1,
    stream: Annotated[str | None, typer.Option("--stream", help="Only this stream.")] = None,
    event_type: Annotated[
        list[str] | None, typer.Option("--type", help="Only this event type (repeatable).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many events.")] = 50,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per line, with payloads.")
    ] = False,
) -> None:
    """List events of the log, oldest first: a table on a terminal, JSON lines with --json."""
    from store import open_store

    with open_store(ctx.obj.db_url) as store:
        source: Iterator[RecordedEvent]
        if stream is not None:
            source = iter(
                e
                for e in store.read_stream(stream)
                if e.position >= from_position and (not event_type or e.event_type in event_type)
            )
        else:
            source = store.read(from_position, event_types=event_type or None, batch_size=limit)
        events = [e for _, e in zip(range(limit), source, strict=False)]
    if as_json:
        for e in events:
            line = {
                "position": e.position,
                "stream_id": e.stream_id,
                "stream_version": e.stream_version,
                "event_type": e.event_type,
                "schema_version": e.schema_version,
                "recorded_at": e.recorded_at.isoformat(),
                "idempotency_key": e.idempotency_key,
                "data": e.data,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            }
            sys.stdout.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
        return
    _print_table(events)


def _print_table(events: list[RecordedEvent]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(show_lines=False, header_style="bold")
    for name, justify in (
        ("pos", "right"),
        ("recorded at (UTC)", "left"),
        ("stream", "left"),
        ("ver", "right"),
        ("type", "left"),
        ("payload", "left"),
        ("hash", "left"),
    ):
        table.add_column(name, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for e in events:
        payload = json.dumps(e.data, ensure_ascii=False, sort_keys=True)
        if len(payload) > 80:
            payload = payload[:79] + "…"
        # Text(...) never interprets markup: post text reaches the terminal as plain characters.
        table.add_row(
            Text(str(e.position)),
            Text(e.recorded_at.strftime("%Y-%m-%d %H:%M:%S")),
            Text(e.stream_id),
            Text(str(e.stream_version)),
            Text(e.event_type),
            Text(payload),
            Text(e.hash[:12]),
        )
    console = Console()
    if not events:
        console.print(Text("no events"))
        return
    console.print(table)
