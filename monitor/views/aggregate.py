"""Buckets of mentions and the commutative aggregate every row is rendered from.

A bucket holds one row's mentions: `live` ones (from posts still inside the revision window, keyed
so a revision can take them out again) and a `settled` aggregate of the ones whose posts left the
window. `agg` is always `settled` plus every live mention. Adding is incremental; taking a mention
out recomputes `agg` from `settled` and the live mentions. Every aggregate operation is commutative
(min, max, union, sum, top-k by position), so the order mentions arrive in never shows in a row.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable
from typing import Any

from monitor.views.firmness import ACT, READY, statement
from monitor.views.mentions import Mention

Agg = dict[str, Any]
Bucket = dict[str, Any]
AddFn = Callable[[Agg, Mention], None]
EmptyFn = Callable[[], Agg]

PROVENANCE_CAP = 10
"""How many of a row's newest mentions its provenance lists (the total is always given)."""


def empty_base() -> Agg:
    """The aggregate of no mentions."""
    return {
        "n": 0,
        "acts": 0,
        "ready": 0,
        "said": [],
        "first": None,
        "last": None,
        "attrs": {},
        "recent": [],
    }


def _value_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def add_base(agg: Agg, m: Mention, *, with_attrs: bool = True) -> None:  # noqa: PLR0912 (inlined)
    """Count a mention: how firm, first and last seen (with their quotes), latest value of each
    attribute, provenance.

    Every mention is counted twice (as it comes, and again into `settled` when its post leaves
    the revision window), so this is the fold's innermost step: `add_statement` and the common
    case of `add_recent` are written out here, with the same results.
    """
    agg["n"] += 1
    firm = m.get("firm", ACT)
    if firm == ACT:
        agg["acts"] += 1
    elif firm == READY:
        agg["ready"] += 1
    digest = m.get("said") or statement(m["quote"])
    said = agg["said"]
    if len(said) < 2:  # add_statement: the two smallest distinct digests, sorted
        if digest not in said:
            said.append(digest)
            if len(said) == 2 and said[0] > digest:
                said.reverse()
    elif digest < said[1] and digest != said[0]:
        if digest < said[0]:
            said[1] = said[0]
            said[0] = digest
        else:
            said[1] = digest
    t = m["t"]
    pos = m["pos"]
    stamp = [t, pos, m["quote"], m["actor"]]
    first = agg["first"]
    if first is None or stamp < first:
        agg["first"] = stamp
    last = agg["last"]
    if last is None or stamp > last:
        agg["last"] = stamp
    if with_attrs:
        values = m["attrs"]
        if values:
            attrs = agg["attrs"]
            for key, value in values.items():
                cur = attrs.get(key)
                if (
                    cur is None
                    or t > cur[0]
                    or (t == cur[0] and pos > cur[1])
                    or (t == cur[0] and pos == cur[1] and _value_key(value) > _value_key(cur[2]))
                ):
                    attrs[key] = [t, pos, value]
    recent = agg["recent"]
    entry = [pos, m["source"], m["post_id"]]
    if not recent or entry > recent[-1]:  # the usual case: newer than every one kept
        recent.append(entry)
        if len(recent) > PROVENANCE_CAP:
            del recent[0]
    else:
        _insert_recent(recent, entry)


def add_response(agg: Agg, m: Mention) -> None:
    """`add_base` without attributes: what a response bucket keeps."""
    add_base(agg, m, with_attrs=False)


def add_recent(agg: Agg, m: Mention) -> None:
    """Keep the mention's event position and post among the row's newest `PROVENANCE_CAP`."""
    entry = [m["pos"], m["source"], m["post_id"]]
    recent = agg["recent"]
    if not recent or entry > recent[-1]:  # the usual case: newer than every one kept
        recent.append(entry)
        if len(recent) > PROVENANCE_CAP:
            del recent[0]
    else:
        _insert_recent(recent, entry)


def _insert_recent(recent: list[list[Any]], entry: list[Any]) -> None:
    """`add_recent` for an entry not newer than every one kept."""
    if len(recent) >= PROVENANCE_CAP and entry <= recent[0]:
        return  # older than every one kept (or the oldest itself): it would not stay
    if entry in recent:
        return
    bisect.insort(recent, entry)
    if len(recent) > PROVENANCE_CAP:
        del recent[0]


def new_bucket(empty: EmptyFn) -> Bucket:
    """A bucket with no mentions."""
    return {"live": {}, "settled": empty(), "agg": empty()}


def bucket_add(bucket: Bucket, live_key: str, m: Mention, add: AddFn) -> None:
    """Add a live mention under `live_key` (the post it came from, and its kind where a row takes several)."""
    bucket["live"][live_key] = m
    add(bucket["agg"], m)


def bucket_recompute(bucket: Bucket, add: AddFn) -> None:
    """Rebuild `agg` from `settled` and the live mentions (after a mention was taken out or changed)."""
    agg = copy_agg(bucket["settled"])
    for _, m in sorted(bucket["live"].items()):
        add(agg, m)
    bucket["agg"] = agg


def copy_agg(agg: Agg) -> Agg:
    """A copy of an aggregate that adding to leaves `agg` as it is.

    Adding changes in place only the counters, `said`, `recent`, `attrs` and `fulfilled`: those
    are copied; every other value (the stamps, attribute entries, party lists) is only ever
    replaced, so it is shared. The JSON of the copy is the JSON of `agg`.
    """
    out = dict(agg)
    out["said"] = [*agg["said"]]
    out["recent"] = [*agg["recent"]]
    out["attrs"] = dict(agg["attrs"])
    fulfilled = agg.get("fulfilled")
    if fulfilled is not None:
        out["fulfilled"] = dict(fulfilled)
    return out


def bucket_remove(bucket: Bucket, live_key: str, add: AddFn) -> None:
    """Take a live mention out (its post was revised or withdrawn) and recompute the aggregate."""
    if bucket["live"].pop(live_key, None) is not None:
        bucket_recompute(bucket, add)


def bucket_settle(bucket: Bucket, live_key: str, add: AddFn) -> None:
    """Move a live mention into `settled` (its post left the revision window); `agg` is unchanged."""
    m = bucket["live"].pop(live_key, None)
    if m is not None:
        add(bucket["settled"], m)


def bucket_is_empty(bucket: Bucket) -> bool:
    """True when no mention, live or settled, is left: the row goes."""
    return not bucket["live"] and bucket["settled"]["n"] == 0


def render_base(agg: Agg) -> dict[str, Any]:
    """The columns every row shares: seen times, mentions, latest quote, attributes, provenance."""
    from monitor.views.mentions import iso

    return {
        "first_seen": iso(agg["first"][0]),
        "last_seen": iso(agg["last"][0]),
        "latest_quote": agg["last"][2],
        "attrs": {k: v[2] for k, v in sorted(agg["attrs"].items())},
        "provenance": {
            "mentions": agg["n"],
            "recent": [{"position": p, "source": s, "post_id": i} for p, s, i in agg["recent"]],
        },
    }
