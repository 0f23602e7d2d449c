"""Who rejected, agreed to or carried out each topic: what demand and proposal rows show as answers.

Key: `TOPIC|ACTOR|KIND`. A rejection counts for its actor; an agreement or fulfilment counts for
every party to it (the actor and the parties the claim names), since all of them agreed. A
response counts once something firm stands behind it (`monitor.views.firmness`): "criticised
Russia for not allowing the US to take part" alone does not mark a demand rejected.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from monitor.claims.model import Claim
from monitor.views.aggregate import AddFn, Agg, EmptyFn, add_base, empty_base
from monitor.views.firmness import shown
from monitor.views.mentions import is_concrete_topic

GROUP = "responses"
KINDS = ("rejection", "agreement", "fulfilment")

add: AddFn = partial(add_base, with_attrs=False)  # annotated: compiled as one group (mypyc)
empty: EmptyFn = empty_base

Signature = tuple[tuple[str, str, tuple[Any, ...]], ...]


def keys_of(claim: Claim) -> list[str]:
    """The response buckets a claim counts towards (none for demands and proposals)."""
    if claim.kind not in KINDS or not claim.actor or not is_concrete_topic(claim.topic):
        return []
    if claim.kind == "rejection":
        return [f"{claim.topic}|{claim.actor}|rejection"]
    parties = sorted({claim.actor, *(p for p in claim.parties if p)})
    return [f"{claim.topic}|{p}|{claim.kind}" for p in parties]


def topic_of(key: str) -> str:
    """The topic part of a response key."""
    return key.split("|", maxsplit=1)[0]


def listing(keys: set[str], table: dict[str, dict[str, Agg]]) -> list[tuple[str, str, Agg]]:
    """The responses on one topic as (actor, kind, aggregate), sorted by actor and kind."""
    out = []
    for key in sorted(keys):
        _, actor, kind = key.split("|")
        out.append((actor, kind, table[key]["agg"]))
    return out


def signature(listing_: list[tuple[str, str, Agg]]) -> Signature:
    """What the rows of a topic show of its responses (those with something firm behind them,
    `monitor.views.firmness`); rows are re-rendered only when this changes."""
    return tuple((a, k, tuple(agg["first"])) for a, k, agg in listing_ if agg["n"] and shown(agg))
