"""The `proposals` view: offers on the table (truces, memoranda, offers to host) and the answers to them.

Key: `ACTOR|TOPIC`. `responses` lists every other actor that rejected or agreed to the same topic,
with when it first did and the sentence it first did it in. Status: `accepted` when another actor
agreed to (or carried out) the topic, else `rejected` when one rejected it, else `on_table`.
A row is shown once it is an offer (`monitor.views.firmness`): readiness for what its actor
demands itself is that demand, not an offer.
"""

from __future__ import annotations

from typing import Any

from monitor.claims.model import Claim
from monitor.views.aggregate import AddFn, Bucket, EmptyFn, add_base, empty_base, render_base
from monitor.views.firmness import shown_as_offer
from monitor.views.mentions import is_concrete_topic, iso
from monitor.views.responses import Signature

VIEW = "proposals"

add: AddFn = add_base  # annotated: mypyc compiles these modules as one group
empty: EmptyFn = empty_base


def keys_of(claim: Claim) -> list[str]:
    """The row a proposal claim counts towards; none without an actor or a concrete topic."""
    if claim.kind != "proposal" or not claim.actor or not is_concrete_topic(claim.topic):
        return []
    return [f"{claim.actor}|{claim.topic}"]


def topic_of(key: str) -> str:
    """The topic part of a row key."""
    return key.split("|")[1]


def render(
    key: str, bucket: Bucket, responses: Signature, *, demanded: bool = False
) -> dict[str, Any] | None:
    """The row as `parley views` shows it, or None when no mention is left or it is no offer
    (`monitor.views.firmness`; `demanded`: its actor has a demand row on the topic)."""
    agg = bucket["agg"]
    if agg["n"] == 0 or not shown_as_offer(agg, demanded=demanded):
        return None
    actor, topic = key.split("|")
    answers = [
        {"actor": a, "kind": kind, "since": iso(first[0]), "quote": first[2]}
        for a, kind, first in responses
        if a != actor
    ]
    kinds = {a["kind"] for a in answers}
    if kinds & {"agreement", "fulfilment"}:
        status = "accepted"
    elif "rejection" in kinds:
        status = "rejected"
    else:
        status = "on_table"
    return {
        "actor": actor,
        "topic": topic,
        "status": status,
        "responses": answers,
        "times_made": agg["n"],
        **render_base(agg),
    }
