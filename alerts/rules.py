"""Alert rules: which view changes become alerts, on which channels. Pure functions.

A `RowChange` only carries the row after the change, so `alerts_for` also takes the rows as they
were before the batch (`before`, keyed by (view, row key)). A change is classified by comparing
the two on the view's *watched* fields (`WATCHED`):

- `new`: no row before; `removed`: no row after;
- `status`: the `status` field differs;
- `changed`: another watched field differs (for agreed exchanges: parties, count, categories,
  due, how many were carried out);
- nothing: only unwatched fields moved (a repeated mention, a newer quote). No alert: this is
  what keeps a busy live blog from becoming an alert storm.

The alert key is `<view>:<row key>:<change>:<row version>`, where the row version is a digest of
the watched fields: the same change of the same row always gives the same key, so writing it twice
stores it once. Rules pick changes by view, change kind, new status, actors and topics; with no
rules configured, `DEFAULT_RULES` apply: new or changed agreed exchanges, and status changes of
demands (including a demand that first appears already rejected or met), go to every channel.

`changes` are the views' changes event by event (`monitor.views.changelog`), one row possibly
several times; each is classified against the row as the one before left it. So the alerts are a
function of the log, not of how the views batched it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from alerts.model import Alert, ChangeKind
from alerts.outbox import message_for
from store.records import OutboxMessage, RowChange

Row = Mapping[str, Any]
Link = Callable[[str, str], str]  # (source, post_id) -> the post's URL, or ""

WATCHED: Mapping[str, tuple[str, ...]] = {
    "agreed_exchanges": ("status", "parties", "count", "categories", "due", "fulfilled.count"),
    "open_demands": ("status", "counterpart", "rejected_by", "met_by"),
    "proposals": ("status",),
}
_DEFAULT_WATCHED = ("status",)
_LABELS = {"agreed_exchanges": "agreed exchange", "open_demands": "demand", "proposals": "proposal"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, kw_only=True, slots=True)
class Rule:
    """One alert rule. Empty tuples mean "any"; `channels` empty means every configured channel."""

    name: str
    views: tuple[str, ...] = ()
    changes: tuple[ChangeKind, ...] = ("new", "changed", "status")
    statuses: tuple[str, ...] = ()  # the row's status after the change
    actors: tuple[str, ...] = ()  # any of the row's actor, parties, counterpart
    topics: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(
        name="agreed-exchanges", views=("agreed_exchanges",), changes=("new", "changed", "status")
    ),
    Rule(name="demand-status", views=("open_demands",), changes=("status",)),
    # A demand first shown already rejected or met (its rejection came first, or with it) is a
    # status change too: from "not on the table" to settled.
    Rule(
        name="demand-settled",
        views=("open_demands",),
        changes=("new",),
        statuses=("rejected", "met"),
    ),
)


def _get(row: Row | None, path: str) -> Any:
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def watched(view: str) -> tuple[str, ...]:
    """The fields whose change makes an alert for `view`."""
    return WATCHED.get(view, _DEFAULT_WATCHED)


def classify(view: str, before: Row | None, after: Row | None) -> ChangeKind | None:
    """What kind of change `before` -> `after` is, or None when no watched field moved."""
    if before is None:
        return None if after is None else "new"
    if after is None:
        return "removed"
    if _get(before, "status") != _get(after, "status"):
        return "status"
    if any(_get(before, f) != _get(after, f) for f in watched(view)):
        return "changed"
    return None


def row_version(view: str, row: Row | None) -> str:
    """A digest of the row's watched fields: equal rows (as far as alerts care) have equal versions."""
    values = {f: _get(row, f) for f in watched(view)} if row is not None else {"removed": True}
    blob = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_text(v) for v in value)
    return str(value)


def _actors(row: Row) -> list[str]:
    found = [_get(row, "actor"), _get(row, "counterpart"), *(_get(row, "parties") or [])]
    return [str(a) for a in found if a]


def _parties(row: Row) -> list[str]:
    parties = [str(p) for p in (_get(row, "parties") or []) if p]
    if parties:
        return parties
    return [str(a) for a in (_get(row, "actor"), _get(row, "counterpart")) if a]


def matches(rule: Rule, view: str, change: ChangeKind, row: Row) -> bool:
    """True when `rule` asks for this change of this row."""
    if rule.views and view not in rule.views:
        return False
    if change not in rule.changes:
        return False
    if rule.statuses and str(_get(row, "status")) not in rule.statuses:
        return False
    if rule.topics and str(_get(row, "topic")) not in rule.topics:
        return False
    return not (rule.actors and not set(rule.actors) & set(_actors(row)))


def _title(view: str, key: str, row: Row) -> str:
    topic = str(_get(row, "topic") or "").replace("_", " ").capitalize()
    actor = str(_get(row, "actor") or "")
    if view == "agreed_exchanges":
        return f"{topic}: {' & '.join(_parties(row))}"
    if view == "open_demands":
        other = _get(row, "counterpart")
        return f"{actor} demand: {topic}" + (f" (to {other})" if other else "")
    if view == "proposals":
        return f"{actor} proposal: {topic}"
    return f"{view}: {key}"


def _summary(view: str, change: ChangeKind, before: Row | None, row: Row) -> str:
    label = _LABELS.get(view, f"{view} row")
    status = _text(_get(row, "status"))
    if change == "new":
        return f"New {label}" + (f" ({status})" if status else "")
    if change == "removed":
        return f"The {label} is no longer reported (its posts were revised or withdrawn)"
    if change == "status":
        old = _text(_get(before, "status"))
        by = _get(row, "met_by") if status == "met" else _get(row, "rejected_by")
        by_text = f" by {_text(by)}" if by and status in ("met", "rejected") else ""
        return f"{label.capitalize()} {old} → {status}{by_text}"
    moved = [f for f in watched(view) if _get(before, f) != _get(row, f)]
    return "; ".join(
        f"{f}: {_text(_get(before, f)) or '—'} → {_text(_get(row, f)) or '—'}" for f in moved
    )


def _quantities(row: Row) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for name in ("count", "categories"):
        if _get(row, name):
            out.append((name, _text(_get(row, name))))
    if _get(row, "fulfilled.mentions"):
        out.append(("carried out", _text(_get(row, "fulfilled.count"))))
    for name, value in sorted((_get(row, "attrs") or {}).items()):
        if name not in ("count", "categories", "due", "by") and value not in (None, "", []):
            out.append((name, _text(value)))
    return tuple(out)


def _latest_post(row: Row) -> tuple[str, str] | None:
    recent = _get(row, "provenance.recent") or []
    best = max(
        (r for r in recent if isinstance(r, Mapping)),
        key=lambda r: r.get("position") or 0,
        default=None,
    )
    if best is None or not best.get("source") or not best.get("post_id"):
        return None
    return str(best["source"]), str(best["post_id"])


def _when(row: Row) -> datetime:
    for field in ("last_seen", "first_seen"):
        value = _get(row, field)
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                continue
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return _EPOCH


def describe(
    view: str,
    key: str,
    *,
    change: ChangeKind,
    before: Row | None,
    after: Row | None,
    link: Link | None,
) -> Alert:
    """The alert for one classified change (its facts come from the row after, or before if removed)."""
    row: Row = after if after is not None else (before or {})
    quote = _get(row, "latest_quote") or ""
    if str(_get(row, "status")).endswith("carried_out") and _get(row, "fulfilled.last_quote"):
        quote = _get(row, "fulfilled.last_quote")
    post = _latest_post(row)
    return Alert(
        key=f"{view}:{key}:{change}:{row_version(view, after)}",
        view=view,
        row_key=key,
        change=change,
        title=_title(view, key, row),
        summary=_summary(view, change, before, row),
        status=_text(_get(row, "status")),
        parties=tuple(_parties(row)),
        quantities=_quantities(row),
        deadline=_text(_get(row, "due") or _get(row, "attrs.due") or _get(row, "attrs.by")),
        quote=str(quote),
        post_url=(link(*post) if link is not None and post is not None else ""),
        occurred_at=_when(row),
    )


def alerts_for(
    changes: Sequence[RowChange],
    rules: Iterable[Rule],
    *,
    channels: Sequence[str],
    before: Mapping[tuple[str, str], Row] | None = None,
    link: Link | None = None,
) -> list[OutboxMessage]:
    """The outbox messages the `changes` call for: one per (alert, channel), in change order.

    `before` holds the rows as they were before these changes (missing: the row is new).
    `changes` may change one row several times (the views hand over every event's changes, in
    log order): each is classified against the row as the change before it left it, so a demand
    pressed and then rejected is a status change however the events were batched.
    Deterministic: the same inputs give the same messages with the same keys.
    """
    rules = tuple(rules)
    previous: dict[tuple[str, str], Row] = dict(before or {})
    out: list[OutboxMessage] = []
    for change in changes:
        old = previous.get((change.view, change.key))
        if change.row is None:
            previous.pop((change.view, change.key), None)
        else:
            previous[(change.view, change.key)] = change.row
        kind = classify(change.view, old, change.row)
        if kind is None:
            continue
        row = change.row if change.row is not None else old
        assert row is not None  # classify returns None when both are None
        wanted: list[str] = []
        for rule in rules:
            if matches(rule, change.view, kind, row):
                for name in rule.channels or channels:
                    if name not in wanted:
                        wanted.append(name)
        if not wanted:
            continue
        alert = describe(
            change.view, change.key, change=kind, before=old, after=change.row, link=link
        )
        out.extend(message_for(alert, name) for name in wanted)
    return out
