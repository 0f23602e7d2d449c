"""`parley diff --from --to` and `parley audit ROW`: provenance of the views, from the log alone."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from monitor.cli._app import app
from monitor.cli._audit_group import audit_app
from monitor.cli.replay_cmd import ActorsOpt, RulesOpt

if TYPE_CHECKING:
    from alerts.trail import TrailRow
    from store.ports import EventStore

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _clean(value: Any) -> str:
    """Post text for a terminal line: control characters (escape sequences) removed."""
    return _CONTROL.sub("", "" if value is None else str(value))


def _console() -> Any:
    from rich.console import Console

    return Console(soft_wrap=True, highlight=False)


def _say(console: Any, text: str, style: str = "") -> None:
    from rich.text import Text

    console.print(Text(_clean(text), style=style))  # Text, never markup: post text as written


def _extract(actors: list[Path] | None, rules: list[Path] | None) -> Any:
    from monitor.claims import extract, load_pack

    pack = load_pack(actor_files=actors or (), rules_dirs=rules or ())
    return lambda post: extract(post, pack)


def _short(value: Any) -> str:
    if value is None:
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 70 else text[:69] + "…"


@app.command("diff")
def diff_command(  # noqa: PLR0917  (typer maps each option to one parameter)
    ctx: typer.Context,
    from_: Annotated[
        str, typer.Option("--from", metavar="TIME|POSITION", help="The earlier moment.")
    ],
    to: Annotated[
        str | None,
        typer.Option("--to", metavar="TIME|POSITION", help="The later moment (default: now)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for machines.")] = False,
    actors: ActorsOpt = None,
    rules: RulesOpt = None,
) -> None:
    """What changed in the views between two moments, with the events that changed each row."""
    from monitor.audit.history import views_diff
    from monitor.audit.moments import parse_moment, resolve_position
    from monitor.views.projection import NegotiationProjection
    from store import open_store

    projection = NegotiationProjection(_extract(actors, rules), name="negotiation")
    with open_store(ctx.obj.db_url) as store:
        start = resolve_position(store, parse_moment(from_, option="--from"))
        end = (
            store.head().position
            if to is None
            else resolve_position(store, parse_moment(to, option="--to"))
        )
        if start > end:
            raise typer.BadParameter(
                f"is position {start}, after --to (position {end})", param_hint="--from"
            )
        diffs = views_diff(store, projection, from_position=start, to_position=end)
        events = _events_at(store, sorted({p for d in diffs for p in d.positions}))
    if as_json:
        body = {"from_position": start, "to_position": end, "rows": [d.to_json() for d in diffs]}
        typer.echo(json.dumps(body, ensure_ascii=False, sort_keys=True, indent=1))
        return
    console = _console()
    _say(console, f"views from position {start} to {end}: {len(diffs)} rows changed", "bold")
    for d in diffs:
        _say(console, f"\n{d.view} [{d.key}]  {d.change}", "bold")
        for path, a, b in d.fields():
            if path != "key" and (a, b) != ({}, {}) and not (a is None and b in ({}, [])):
                _say(console, f"  {path}: {_short(a)} → {_short(b)}")
        more = f" (first {len(d.positions)})" if d.events > len(d.positions) else ""
        _say(console, f"  changed by {d.events} events{more}:")
        for p in d.positions:
            _say(console, f"    {events.get(p, str(p))}")


def _events_at(store: EventStore, positions: list[int]) -> dict[int, str]:
    """A one-line description of the event at each position."""
    out: dict[int, str] = {}
    for p in positions:
        for e in store.read(p, to_position=p, batch_size=1):
            post = e.data.get("post")
            post_id = post.get("post_id") if isinstance(post, dict) else e.data.get("post_id")
            out[p] = (
                f"{p}  {e.recorded_at.isoformat(timespec='seconds')}  {e.event_type}  "
                f"{e.data.get('source', '')}/{post_id}"
            )
    return out


@audit_app.command("row")
def row_command(  # noqa: PLR0917  (typer maps each option to one parameter)
    ctx: typer.Context,
    row: Annotated[
        str, typer.Argument(metavar="ROW", help="The row key, as `parley views --json` shows it.")
    ],
    view: Annotated[
        str | None, typer.Option("--view", help="The view, when the key is in several.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for machines.")] = False,
    actors: ActorsOpt = None,
    rules: RulesOpt = None,
) -> None:
    """The whole history of one view row: events, claims and rules, status over time, alerts."""
    from monitor.audit.history import find_views, row_history
    from monitor.errors import InputError
    from monitor.views import check_views
    from store import open_store

    extract = _extract(actors, rules)
    with open_store(ctx.obj.db_url) as store:
        views = check_views([view]) if view else find_views(store, extract, row)
        if not views:
            raise InputError(f"no view has, or ever had, a row {row!r}; see `parley views --json`")
        if len(views) > 1:
            raise InputError(f"row {row!r} is in several views ({', '.join(views)}); add --view")
        history = row_history(store, extract, view=views[0], key=row)
        alerts = _alerts_for_row(store, views[0], row)
    if as_json:
        body = {**history.to_json(), "alerts": [a.to_json() for a in alerts]}
        typer.echo(json.dumps(body, ensure_ascii=False, sort_keys=True, indent=1))
        return
    console = _console()
    _say(console, f"{history.view} [{history.key}]", "bold")
    status = history.row.get("status") if history.row else "removed"
    _say(console, f"now: {status}; changed by {len(history.touches)} events")
    for t in history.touches:
        _say(
            console,
            f"\n#{t.position}  {t.recorded_at}  {t.event_type}  {t.source}/{t.post_id}",
            "bold",
        )
        if t.url:
            _say(console, f"  url: {t.url}")
        _say(
            console,
            f"  row {t.change}; status {t.status or '—'}; fields: {', '.join(t.fields) or '—'}",
        )
        for c in t.claims:
            _say(console, f"  {c['kind']} by {c['actor']} (rule {c['rule']}): “{c['quote']}”")
    _say(console, "\nstatus over time:", "bold")
    shown: object = object()
    for t in history.touches:  # the transitions only
        if t.status != shown:
            _say(console, f"  {t.recorded_at}  #{t.position}  {t.status or 'removed'}")
            shown = t.status
    _say(console, f"\nalerts: {len(alerts) or 'none'}", "bold")
    for a in alerts:
        _say(
            console, f"  {a.status:<9} {a.id}  ({a.channel}, {a.attempts} tries, {a.at}) {a.detail}"
        )


def _alerts_for_row(store: EventStore, view: str, key: str) -> list[TrailRow]:
    """Trail rows (and pending outbox messages) of the alerts raised for one row."""
    from alerts import events
    from alerts.trail import trail_rows
    from store.mapper import from_recorded

    trail = [from_recorded(r) for r in store.read(event_types=list(events.TRAIL_TYPES))]
    pending = store.pending_outbox(10_000)
    prefix = f"{view}:{key}:"
    return [r for r in trail_rows(trail, pending) if r.id.startswith(prefix)]


@audit_app.command("alerts")
def alerts_command(  # noqa: PLR0917  (typer maps each option to one parameter)
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", metavar="TIME", help="Only alerts from events recorded since TIME."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="The TOML file with the [alerts] rules and channels (default: parley.toml if present).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
    actors: ActorsOpt = None,
    rules: RulesOpt = None,
) -> None:
    """Alerts the rules say should have fired (recomputed by replay) against the delivery trail.

    Exits 1 when an alert is missing from the trail or the trail holds one no rule calls for.
    """
    from datetime import datetime

    from alerts.config import AlertsConfig, load_alerts_config
    from monitor.audit.alerts_check import check_alerts, trail
    from monitor.audit.moments import parse_moment
    from monitor.views.projection import NegotiationProjection
    from store import open_store

    path = config if config is not None else Path("parley.toml")
    settings = load_alerts_config(path) if config is not None or path.exists() else AlertsConfig()
    moment = parse_moment(since, option="--since") if since else None
    if isinstance(moment, int):
        raise typer.BadParameter("must be a time (ISO 8601), not a position", param_hint="--since")
    projection = NegotiationProjection(_extract(actors, rules), name="negotiation")
    with open_store(ctx.obj.db_url) as store:
        known = trail(store)
        channels = settings.channel_names or sorted({r.channel for r in known if r.channel})
        checks = check_alerts(
            store, projection, settings.rules, channels, since=moment, known=known
        )
    assert moment is None or isinstance(moment, datetime)
    bad = [c for c in checks if c.mismatch]
    if as_json:
        for c in checks:
            typer.echo(json.dumps(c.to_json(), ensure_ascii=False, sort_keys=True))
    else:
        console = _console()
        counts: dict[str, int] = {}
        for c in checks:
            counts[c.status] = counts.get(c.status, 0) + 1
            where = f"#{c.position}" if c.position is not None else "-"
            _say(console, f"{c.status:<10} {where:>7}  {c.id}", "bold red" if c.mismatch else "")
            if c.detail and c.status not in ("delivered",):
                _say(console, f"{'':<19}{c.detail}")
        summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no alerts"
        _say(console, f"channels: {', '.join(channels) or 'none'}; {summary}")
        _say(console, "ok: the trail matches the rules" if not bad else f"MISMATCH: {len(bad)}")
    if bad:
        raise typer.Exit(code=1)
