"""The `open_demands` view: one row per (actor, topic, counterpart), with its status and responses.

Key: `ACTOR|TOPIC|COUNTERPART`, the counterpart being the one other party a demand names, or `*`
when it names none (or several). Status: `met` when another actor (the counterpart, if one is
named) agreed to or carried out the topic, else `rejected` when one rejected it, else `open`.
A row is shown once something firm stands behind it (`monitor.views.firmness`).
"""

from __future__ import annotations

from typing import Any

from monitor.claims.model import Claim
from monitor.views.aggregate import AddFn, Bucket, EmptyFn, add_base, empty_base, render_base
from monitor.views.firmness import shown
from monitor.views.mentions import is_concrete_topic
from monitor.views.responses import Signature

VIEW = "open_demands"
ANYONE = "*"

add: AddFn = add_base  # annotated: mypyc compiles these modules as one group
empty: EmptyFn = empty_base

Responses = Signature  # (actor, kind, first stamp) of each response on the row's topic


def counterpart(claim: Claim) -> str:
    """The one party other than the actor that a demand is addressed to, or `*`."""
    others = sorted({p for p in claim.parties if p and p != claim.actor})
    return others[0] if len(others) == 1 else ANYONE


def keys_of(claim: Claim) -> list[str]:
    """The row a demand claim counts towards; none without an actor or a concrete topic."""
    if claim.kind != "demand" or not claim.actor or not is_concrete_topic(claim.topic):
        return []
    return [f"{claim.actor}|{claim.topic}|{counterpart(claim)}"]


def topic_of(key: str) -> str:
    """The topic part of a row key."""
    return key.split("|")[1]


def actor_topic(key: str) -> tuple[str, str]:
    """The actor and topic parts of a row key."""
    actor, topic, _ = key.split("|")
    return actor, topic


def render(key: str, bucket: Bucket, responses: Responses) -> dict[str, Any] | None:
    """The row as `parley views` shows it, or None when no mention is left or nothing firm stands
    behind it (`monitor.views.firmness`)."""
    agg = bucket["agg"]
    if agg["n"] == 0 or not shown(agg):
        return None
    actor, topic, other = key.split("|")
    relevant = [(a, kind) for a, kind, _ in responses if a != actor and (other in (ANYONE, a))]
    rejected_by = sorted({a for a, kind in relevant if kind == "rejection"})
    met_by = sorted({a for a, kind in relevant if kind in ("agreement", "fulfilment")})
    status = "met" if met_by else "rejected" if rejected_by else "open"
    return {
        "actor": actor,
        "topic": topic,
        "counterpart": None if other == ANYONE else other,
        "status": status,
        "rejected_by": rejected_by,
        "met_by": met_by,
        "times_pressed": agg["n"],
        **render_base(agg),
    }
