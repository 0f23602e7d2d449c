"""The `agreed_exchanges` view: agreed exchanges and returns, and whether they were carried out.

A row gathers the agreements on one exchange topic (prisoners, bodies, children, hostages) between
the same parties: a new agreement joins the most recently seen row of its topic that is not yet
carried out, whose parties contain its parties or are contained in them, and that was last seen
within `agree_window` seconds of it; otherwise it starts a new row. A fulfilment joins the same
way, within `fulfil_window` of the row's last agreement, and never starts a row. Status: `agreed`
until a fulfilment joins; `partly_carried_out` when the agreed count is known and the fulfilments
that give counts add up to less; `carried_out` otherwise.

Key: `TOPIC|PARTIES|FIRST_SEEN|SOURCE|POST_ID` of the agreement that started the row.
"""

from __future__ import annotations

from typing import Any

from monitor.claims.model import Claim
from monitor.views.aggregate import Agg, Bucket, add_base, add_recent, empty_base, render_base
from monitor.views.exchange_index import ExchangeIndex
from monitor.views.mentions import EXCHANGE_TOPICS, Mention, numeric_total, sorted_strings

VIEW = "agreed_exchanges"


def empty() -> Agg:
    """The aggregate of no agreement and no fulfilment."""
    return {
        **empty_base(),
        "parties": [],
        "categories": [],
        "fulfilled": {"n": 0, "count": 0, "uncounted": 0, "last": None},
    }


def add(agg: Agg, m: Mention) -> None:
    """Count an agreement (parties, count, categories, due) or a fulfilment (how many carried out)."""
    if m["kind"] == "agreement":
        add_base(agg, m)
        agg["parties"] = sorted({*agg["parties"], *m["parties"]})
        cats = m["attrs"].get("categories")
        if cats:
            more = cats if isinstance(cats, list) else [cats]
            agg["categories"] = sorted_strings([*agg["categories"], *more])
        return
    done = agg["fulfilled"]
    done["n"] += 1
    total = numeric_total(m["attrs"].get("count"))
    if total is None:
        done["uncounted"] += 1
    else:
        done["count"] += total
    stamp = [m["t"], m["pos"], m["quote"], m["actor"]]
    if done["last"] is None or stamp > done["last"]:
        done["last"] = stamp
    add_recent(agg, m)


def group_keys(claim: Claim) -> list[tuple[str, str, tuple[str, ...]]]:
    """(kind, topic, parties) of an agreement or fulfilment on an exchange topic; else nothing."""
    if claim.kind not in ("agreement", "fulfilment") or claim.topic not in EXCHANGE_TOPICS:
        return []
    if not claim.actor:
        return []
    return [(claim.kind, claim.topic, tuple(sorted({claim.actor, *claim.parties})))]


def status(agg: Agg) -> str:
    """agreed, partly_carried_out or carried_out (see the module docstring)."""
    done = agg["fulfilled"]
    if done["n"] == 0:
        return "agreed"
    count = agg["attrs"].get("count")
    agreed = numeric_total(count[2]) if count else None
    if agreed is not None and done["uncounted"] == 0 and done["count"] < agreed:
        return "partly_carried_out"
    return "carried_out"


def new_key(topic: str, parties: tuple[str, ...], m: Mention) -> str:
    """The key of a row started by agreement mention `m`."""
    from monitor.views.mentions import iso

    return f"{topic}|{'+'.join(parties)}|{iso(m['t'])}|{m['source']}|{m['post_id']}"


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def render(key: str, bucket: Bucket) -> dict[str, Any] | None:
    """The row as `parley views` shows it; None while no agreement is left in it."""
    agg = bucket["agg"]
    if agg["n"] == 0:
        return None
    base = render_base(agg)
    attrs = base["attrs"]
    done = agg["fulfilled"]
    return {
        "topic": key.split("|", maxsplit=1)[0],
        "actor": agg["first"][3],
        "parties": agg["parties"],
        "status": status(agg),
        "count": attrs.get("count"),
        "categories": agg["categories"],
        "due": attrs.get("due"),
        "due_text": attrs.get("due_text"),
        "fulfilled": {
            "mentions": done["n"],
            "count": _number(done["count"]),
            "last_quote": done["last"][2] if done["last"] else None,
        },
        "times_reported": agg["n"],
        **base,
    }


def find_row(
    table: dict[str, Any],
    index: ExchangeIndex,
    *,
    kind: str,
    topic: str,
    parties: tuple[str, ...],
    t: int,
    newest: int,
    agree_window: int,
    fulfil_window: int,
) -> str | None:
    """The row an agreement or fulfilment mention joins (see the module docstring), or None.

    Rows last seen more than `fulfil_window` before the newest post can never be joined again
    (newest only grows): they leave the index as they are met. Ties go to the most recently seen
    row, then the greatest key.
    """
    best: tuple[int, str] | None = None
    for key in index.candidates(topic, parties):
        agg = table[key]["agg"]
        if agg["n"] == 0:
            continue
        last_t = agg["last"][0]
        if newest - last_t > fulfil_window:
            index.remove(topic, tuple(agg["parties"]), key)
            continue
        if kind == "agreement" and abs(t - last_t) > agree_window:
            continue
        if kind != "agreement" and t < agg["first"][0] - agree_window:
            continue
        if status(agg) == "carried_out":
            continue
        if best is None or (last_t, key) > best:
            best = (last_t, key)
    return None if best is None else best[1]
