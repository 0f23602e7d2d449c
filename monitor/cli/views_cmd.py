"""`parley views`: catch the negotiation views up with the log, then show them (tables or JSON)."""

from __future__ import annotations

import contextlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from monitor.cli._app import app

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@app.command("views")
def views_command(  # noqa: PLR0917  (typer maps each option to one parameter)
    ctx: typer.Context,
    view: Annotated[
        list[str] | None,
        typer.Option(
            "--view",
            metavar="NAME",
            help="Only this view (repeatable): open_demands, agreed_exchanges, proposals.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Stable, sorted JSON for machines instead of tables.")
    ] = False,
    actors: Annotated[
        list[Path] | None,
        typer.Option(
            "--actors", metavar="FILE", help="Extra actors file (repeatable), as the daemon uses."
        ),
    ] = None,
    rules: Annotated[
        list[Path] | None,
        typer.Option(
            "--rules", metavar="DIR", help="Extra rules folder (repeatable), as the daemon uses."
        ),
    ] = None,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Forget the views and replay the whole log into them.")
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="POSITION|TIME",
            help="The views as they were at a log position or an ISO 8601 time (computed in memory, nothing written).",
        ),
    ] = None,
    position: Annotated[
        int | None,
        typer.Option(
            "--position",
            metavar="N",
            min=0,
            help="The views as they were just after log position N (same as --as-of N).",
        ),
    ] = None,
) -> None:
    """Show open demands, agreed exchanges and proposals, after catching up with the log."""
    from monitor.claims import load_pack
    from monitor.views import PROJECTION, build_projection, catch_up, check_views, read_views
    from store import open_store
    from store.errors import ConcurrencyError

    names = check_views(view or ())
    if position is not None and as_of is not None:
        raise typer.BadParameter("give --position or --as-of, not both", param_hint="--position")
    when = position if position is not None else _parse_as_of(as_of)
    if when is not None and rebuild:
        raise typer.BadParameter("cannot be combined with --rebuild", param_hint="--as-of")
    pack = load_pack(actor_files=actors or (), rules_dirs=rules or ())
    with open_store(ctx.obj.db_url) as store:
        if when is not None:
            from monitor.views import position_at, views_as_of

            position = when if isinstance(when, int) else position_at(store, when)
            data = views_as_of(store, build_projection(pack), position, views=names)
            _output(data, as_json)
            return
        if rebuild:
            store.reset_projection(PROJECTION)
        # another process (the daemon) moving the views on meanwhile leaves them current
        with contextlib.suppress(ConcurrencyError):
            catch_up(store, build_projection(pack))
        data = read_views(store, views=names)
    _output(data, as_json)


def _parse_as_of(value: str | None) -> int | datetime | None:
    """A log position (digits) or a time (ISO 8601; UTC when it names no zone)."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is neither a log position nor an ISO 8601 time", param_hint="--as-of"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _output(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(data, sort_keys=True, ensure_ascii=False, indent=2))
    else:
        _print_tables(data)


def _clean(value: Any) -> str:
    """Post text for a terminal cell: control characters (escape sequences) removed."""
    return _CONTROL.sub("", "" if value is None else str(value))


def _provenance(row: dict[str, Any]) -> str:
    prov = row["provenance"]
    shown = "\n".join(f"{p['post_id']}@{p['position']}" for p in prov["recent"])
    more = prov["mentions"] - len(prov["recent"])
    return shown + (f"\n(+{more} earlier)" if more > 0 else "")


def _attrs(attrs: dict[str, Any]) -> str:
    return "\n".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in sorted(attrs.items()))


def _demand_cells(row: dict[str, Any]) -> list[str]:
    status = row["status"]
    if status == "rejected":
        status += " by " + ", ".join(row["rejected_by"])
    elif status == "met":
        status += " by " + ", ".join(row["met_by"])
    return [
        row["actor"],
        row["topic"],
        row["counterpart"] or "",
        status,
        str(row["times_pressed"]),
        row["last_seen"][:16].replace("T", "\n"),
        _attrs(row["attrs"]),
        row["latest_quote"],
        _provenance(row),
    ]


def _due(row: dict[str, Any]) -> str:
    due, text = row.get("due"), row.get("due_text")
    if due and text and str(text) != str(due):
        return f"{due}\n({text})"
    return str(due or text or "")


def _exchange_cells(row: dict[str, Any]) -> list[str]:
    return [
        row["topic"],
        ", ".join(row["parties"]),
        "" if row["count"] is None else json.dumps(row["count"], ensure_ascii=False),
        ", ".join(row["categories"]),
        _due(row),
        row["status"],
        str(row["times_reported"]),
        row["latest_quote"],
        _provenance(row),
    ]


def _proposal_cells(row: dict[str, Any]) -> list[str]:
    answers = "; ".join(f"{r['actor']} {r['kind']}" for r in row["responses"])
    return [
        row["actor"],
        row["topic"],
        row["status"],
        answers,
        str(row["times_made"]),
        _attrs(row["attrs"]),
        row["latest_quote"],
        _provenance(row),
    ]


_FIXED = {"no_wrap": True}
_QUOTE = {"ratio": 4, "overflow": "fold"}
_FLEX = {"ratio": 1, "overflow": "fold", "min_width": 10}
_LIST = {"ratio": 2, "overflow": "fold", "min_width": 16}

_LAYOUT: dict[str, tuple[str, list[tuple[str, dict[str, Any]]], Any]] = {
    "open_demands": (
        "Open demands",
        [
            ("actor", _FIXED),
            ("topic", _FIXED),
            ("counterpart", _FIXED),
            ("status", _FLEX),
            ("pressed", _FIXED),
            ("last seen", _FIXED),
            ("attrs", _LIST),
            ("latest quote", _QUOTE),
            ("provenance", _LIST),
        ],
        _demand_cells,
    ),
    "agreed_exchanges": (
        "Agreed exchanges",
        [
            ("topic", _FIXED),
            ("parties", _FLEX),
            ("count", _FIXED),
            ("categories", _FLEX),
            ("due", _FLEX),
            ("status", _FLEX),
            ("reports", _FIXED),
            ("latest quote", _QUOTE),
            ("provenance", _LIST),
        ],
        _exchange_cells,
    ),
    "proposals": (
        "Proposals",
        [
            ("actor", _FIXED),
            ("topic", _FIXED),
            ("status", _FLEX),
            ("responses", _FLEX),
            ("made", _FIXED),
            ("attrs", _LIST),
            ("latest quote", _QUOTE),
            ("provenance", _LIST),
        ],
        _proposal_cells,
    ),
}


def _print_tables(data: dict[str, dict[str, list[dict[str, Any]]]]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    for name, content in data.items():
        title, columns, cells = _LAYOUT[name]
        table = Table(title=f"{title} ({len(content['rows'])})", show_lines=True, expand=True)
        grid = [cells(row) for row in content["rows"]]
        # a column empty in every row (no demand names a counterpart) only takes room
        keep = [i for i in range(len(columns)) if not grid or any(r[i] for r in grid)]
        for i in keep:
            column, options = columns[i]
            table.add_column(column, **options)
        for cells_ in grid:
            # Text(), never markup: a post's brackets and escapes are shown, not interpreted
            table.add_row(*(Text(_clean(cells_[i])) for i in keep))
        console.print(table)
