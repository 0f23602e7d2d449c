"""From a post's claims to mentions: one per (view row, post), with the time and place they came from.

A mention is a JSON-ready dict; everything the views aggregate is in it, so a row can be recomputed
from its mentions alone. Times are integer UNIX seconds (UTC) so they sort and subtract cheaply.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from monitor.claims.model import Claim
from monitor.posts import Post
from monitor.views.firmness import ACT, statement

Mention = dict[str, Any]

EXCHANGE_TOPICS = frozenset({"prisoner_exchange", "bodies_return", "children_return", "hostages"})
"""Topics whose agreements become `agreed_exchanges` rows."""

_NOT_A_TOPIC = frozenset({"", "*", "other", "unknown", "unspecified", "none"})


def post_key(source: str, post_id: str) -> str:
    """The state's key of a post: its source and id (a tab cannot occur in a source name or an id we store)."""
    return f"{source}\t{post_id}"


@lru_cache(maxsize=4096)
def is_concrete_topic(topic: str) -> bool:
    """True for a topic an analyst can act on; "*" and other placeholders make no row."""
    return topic.strip().lower() not in _NOT_A_TOPIC


def to_seconds(moment: datetime) -> int:
    """A time-zone-aware datetime as whole UNIX seconds (naive ones are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


@lru_cache(maxsize=4096)
def iso(seconds: int) -> str:
    """Whole UNIX seconds as ISO 8601 in UTC, the form every row uses."""
    return datetime.fromtimestamp(seconds, UTC).isoformat()


def claim_order(claim: Claim) -> tuple[Any, ...]:
    """Text order first, then the claim's identity, so grouping never depends on extractor order."""
    return (claim.span[0], claim.span[1], claim.kind, claim.actor, claim.topic, claim.parties)


def new_mention(claim: Claim, *, t: int, pos: int, source: str, firm: int = ACT) -> Mention:
    """The mention one claim makes, stamped with the post's time, the event's position and how
    firmly the claim states its position (`monitor.views.firmness`)."""
    return {
        "kind": claim.kind,
        "firm": firm,
        "said": statement(claim.quote),
        "actor": claim.actor,
        "parties": sorted({*claim.parties, claim.actor}),
        "attrs": dict(claim.attrs),
        "quote": claim.quote,
        "t": t,
        "pos": pos,
        "source": source,
        "post_id": claim.post_id,
    }


def merge_into(first: Mention, later: Mention) -> None:
    """Fold a repeat of the same claim in the same post (title and body) into the first one.

    The post still counts once; attributes the first statement lacked are taken from the repeat,
    and the firmer of the two statements is what the mention stands for.
    """
    first["firm"] = max(first.get("firm", ACT), later.get("firm", ACT))
    attrs = first["attrs"]
    for key, value in later["attrs"].items():
        attrs.setdefault(key, value)
    first["parties"] = sorted({*first["parties"], *later["parties"]})


def group_claims(
    claims: Iterable[Claim],
    keys_of: Mapping[str, Callable[[Claim], Iterable[Any]]],
    *,
    t: int,
    pos: int,
    source: str,
    firm: Sequence[int] | None = None,
    groups_of_kind: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, list[tuple[Any, Mention]]]:
    """For each group, the claims under each key `keys_of[group](claim)` gives, one merged mention
    per key, key-sorted. `firm` gives each claim's firmness, in the order of `claims`.
    `groups_of_kind`, when given, names for each claim kind the only groups whose `keys_of` can
    give it a key (the others are not asked; a kind it does not name gets no key).

    This is where a claim repeated in a post's title and body becomes one mention.
    """
    claims = list(claims)
    levels = list(firm) if firm is not None else [ACT] * len(claims)
    out: dict[str, dict[Any, Mention]] = {group: {} for group in keys_of}
    pairs: Iterable[tuple[Claim, int]] = zip(claims, levels, strict=True)
    if len(claims) > 1:
        pairs = iter(sorted(pairs, key=lambda c: claim_order(c[0])))
    every = list(keys_of)
    for claim, level in pairs:
        made: Mention | None = None  # the claim's mention, made once and copied for other keys
        for group in every if groups_of_kind is None else groups_of_kind.get(claim.kind, ()):
            for key in keys_of[group](claim):
                if made is None:
                    mention = made = new_mention(claim, t=t, pos=pos, source=source, firm=level)
                else:  # a fresh copy: mentions are merged into (attrs, parties) in place
                    mention = {**made, "attrs": dict(made["attrs"]), "parties": [*made["parties"]]}
                found = out[group]
                if key in found:
                    merge_into(found[key], mention)
                else:
                    found[key] = mention
    # keys are distinct within a group, so sorting the items sorts by key alone
    return {
        group: sorted(found.items()) if len(found) > 1 else list(found.items())
        for group, found in out.items()
    }


def numeric_total(value: Any) -> float | None:
    """A count as one number: an int or float, or the sum of a per-side mapping; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, dict) and value:
        parts = [numeric_total(v) for v in value.values()]
        if all(p is not None for p in parts):
            return float(sum(p for p in parts if p is not None))
    return None


def sorted_strings(values: Sequence[Any]) -> list[str]:
    """Distinct values as sorted strings (categories may arrive as any JSON scalar)."""
    return sorted({str(v) for v in values})


def post_time(post: Post, seen_at: str, recorded_at: datetime) -> int:
    """When a post was published; else when the monitor first saw it; else when it was recorded."""
    if post.published is not None:
        return to_seconds(post.published)
    return _seen_or_recorded(seen_at, recorded_at)


def post_time_of(payload: Mapping[str, Any], seen_at: str, recorded_at: datetime) -> int:
    """`post_time` of the post whose payload (`Post.to_payload`) is given, without decoding it."""
    published = payload.get("published")
    if published:
        return to_seconds(datetime.fromisoformat(published))
    return _seen_or_recorded(seen_at, recorded_at)


def _seen_or_recorded(seen_at: str, recorded_at: datetime) -> int:
    """A post without a publication time: when the monitor first saw it, else when recorded."""
    if seen_at:
        try:
            return to_seconds(datetime.fromisoformat(seen_at))
        except ValueError:
            pass
    return to_seconds(recorded_at)
