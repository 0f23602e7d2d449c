"""`parley replay`: rebuild every view from an empty state, away from the live views; `--check` them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from monitor.cli._app import app

if TYPE_CHECKING:
    from store.ports import EventStore

ActorsOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--actors", metavar="FILE", help="Extra actors file (repeatable), as the daemon uses."
    ),
]
RulesOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--rules", metavar="DIR", help="Extra rules folder (repeatable), as the daemon uses."
    ),
]


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A callback `(done, total)` drawing a bar with events/s and time left, on a terminal only."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]} events/s"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, disable=not console.is_terminal) as bar:
        task = bar.add_task(label, total=None, rate="-")
        started = time.monotonic()

        def tick(done: int, total: int) -> None:
            elapsed = time.monotonic() - started
            rate = f"{done / elapsed:,.0f}" if done and elapsed > 0 else "-"
            bar.update(task, completed=done, total=total, rate=rate)

        yield tick


def _target_position(
    store: EventStore, *, check: bool, to: int | None, as_of: str | None, name: str
) -> int:
    from monitor.audit.moments import parse_moment, resolve_position
    from monitor.audit.replay import live_position

    if check:
        return live_position(store, name)
    if to is not None:
        return resolve_position(store, to)
    if as_of is not None:
        return resolve_position(store, parse_moment(as_of, option="--as-of"))
    return store.head().position


@app.command("replay")
def replay_command(  # noqa: PLR0917  (typer maps each option to one parameter)
    ctx: typer.Context,
    to: Annotated[
        int | None,
        typer.Option("--to", metavar="POSITION", min=0, help="Stop after this position."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", metavar="TIME", help="Stop at the last event recorded by TIME (ISO 8601)."
        ),
    ] = None,
    into: Annotated[
        str | None,
        typer.Option(
            "--into",
            metavar="DB",
            help="Copy the log into this database (empty, or an earlier copy) and rebuild the views there.",
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Compare the rebuilt views with the live ones; exit 1 on a difference."
        ),
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", metavar="FILE", help="Write the rebuilt views as canonical JSON."
        ),
    ] = None,
    actors: ActorsOpt = None,
    rules: RulesOpt = None,
) -> None:
    """Rebuild every view from an empty state (in memory, or --into a separate database).

    Never touches the live views and never sends an alert. Prints the rebuilt views' digest:
    replaying the same log gives the same digest, byte for byte.
    """
    from monitor.audit.replay import compare_rows, fold_state, replay_into
    from monitor.audit.rows import RowStore
    from monitor.claims import load_pack
    from monitor.errors import InputError
    from monitor.views import VIEWS, build_projection
    from store import open_store
    from store.url import parse_url

    if to is not None and as_of is not None:
        raise InputError("--to and --as-of name the same thing; give one")
    if check and (to is not None or as_of is not None):
        raise InputError("--check replays up to the live views' position; drop --to/--as-of")
    if into is not None and parse_url(into).display == parse_url(ctx.obj.db_url).display:
        raise InputError(
            f"--into {parse_url(into).display}: that is the live database; replay into another "
            "one (to rebuild the live views in place, use `parley views --rebuild`)"
        )
    projection = build_projection(load_pack(actor_files=actors or (), rules_dirs=rules or ()))
    with ExitStack() as stack:
        store = stack.enter_context(open_store(ctx.obj.db_url))
        rebuilt = stack.enter_context(RowStore())
        head = store.head().position
        position = _target_position(store, check=check, to=to, as_of=as_of, name=projection.name)
        with progress_bar("replay") as tick:
            if into is None:
                fold_state(store, projection, to_position=position, progress=tick, rows=rebuilt)
                rows_of: Callable[[str], Iterable[dict[str, Any]]] = rebuilt.rows
            else:
                target = stack.enter_context(open_store(into))
                replay_into(
                    store, target, projection, to_position=position, progress=tick, read_back=False
                )
                rows_of = _stored_rows(target, projection.name)
        typer.echo(
            f"replayed positions 1..{position} of {head}"
            + (f" into {parse_url(into).display}" if into else " (in memory)")
        )
        _report(rows_of, out)
        if check:
            differences = list(
                compare_rows(VIEWS, live=_stored_rows(store, projection.name), rebuilt=rows_of)
            )
            _report_check(differences, position)


def _stored_rows(store: EventStore, projection: str) -> Callable[[str], Iterable[dict[str, Any]]]:
    """A view's stored rows, sorted by key (one view in memory at a time)."""

    def rows_of(view: str) -> Iterable[dict[str, Any]]:
        return (dict(row) for row in store.view_rows(projection, view))

    return rows_of


def _report(rows_of: Callable[[str], Iterable[dict[str, Any]]], out: Path | None) -> None:
    """Row counts, the digest of the views' canonical JSON, and the JSON itself with --out."""
    from monitor.audit.replay import digest_chunks, dump_chunks
    from monitor.views import VIEWS

    counts = {name: sum(1 for _ in rows_of(name)) for name in VIEWS}
    typer.echo("rows: " + ", ".join(f"{name} {n}" for name, n in counts.items()))
    typer.echo(f"views digest: sha256:{digest_chunks(dump_chunks(VIEWS, rows_of))}")
    if out is not None:
        with out.open("w", encoding="utf-8") as f:
            f.writelines(dump_chunks(VIEWS, rows_of))
        typer.echo(f"wrote {out}")


def _report_check(differences: list[str], position: int) -> None:
    """`--check`'s verdict: ok, or the differences and exit 1."""
    if not differences:
        built = "" if position else " (no live views yet: `parley views` builds them)"
        typer.echo(f"check: ok, the live views at position {position} equal the replay{built}")
        return
    from rich.console import Console
    from rich.text import Text

    console = Console(stderr=True, soft_wrap=True, highlight=False)
    console.print(
        Text(f"check: {len(differences)} differences between the live views and the replay:")
    )
    for line in differences:
        console.print(Text(f"  {line}"))  # Text: row keys and quotes are post text, never markup
    raise typer.Exit(code=1)
