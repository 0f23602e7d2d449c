"""How firmly a claim states a position: whether it can put a row in the views or only add to one.

A live blog states positions in two ways. *Acts*: someone demands, calls for, proposes, offers,
rejects, refuses. *Stances*: what someone should do, wants, needs, would not allow; and
*readiness*: what someone is ready, willing or prepared to do. An analyst acts on the first; the
second is colour that repeats or supports a position already on the table, and on its own is
mostly commentary ("Nato must do everything it can", "Russia wants the easing of sanctions").

So each mention carries a firmness, and a row of `open_demands` or `proposals` (and a response
that sets a row's status) is shown only when something firm stands behind it:

- `ACT` (2): a claim from any other cue; counts everywhere.
- `READY` (1): a readiness cue, or a stance stated in the post's title (the headline is the
  desk's own summary of a position). Firm, except that an actor's readiness for what it demands
  itself is a restatement of that demand, not an offer: it adds no proposals row while the actor
  demands the topic as an act (or in two different sentences).
- `STANCE` (0): a stance cue, or one cue spread over a list of `LIST_TOPICS` or more topics (an
  agenda, "calling for real work - ceasefire, humanitarian actions, leaders' meeting", not a
  position on each). It adds to a row that something firm opened, never opens one by itself.

A row also shows when two different sentences stand behind it, whatever their firmness: a
position restated is on the table. The same sentence carried by several sources (one page
followed in five formats, a wire story syndicated) is one statement, not a restatement. Every
rule is commutative over the mentions (counts, and the two smallest digests of what was said),
so the order in which posts arrive never shows.

The cue names are the `rule` names of the rules pack (`monitor/claims/rules/patterns.yaml`); a
pack's own cues are acts unless named in the projection's `stance_rules`/`readiness_rules`.
"""

from __future__ import annotations

import zlib
from collections.abc import Collection, Sequence
from functools import lru_cache
from typing import Any

from monitor.claims.model import Claim

STANCE, READY, ACT = 0, 1, 2

STANCE_RULES: tuple[str, ...] = ("modal-must", "want", "need", "not-allow")
"""Cues of obligation ("must", "should"), desire ("wants", "needs") and negated permission."""

READINESS_RULES: tuple[str, ...] = ("ready-to",)
"""Cues of readiness ("ready to", "willing to", "prepared to")."""

LIST_TOPICS = 3
"""One cue over this many topics or more is an agenda: each of its claims only adds to rows."""

_SUFFIXES = ("-future", "-refused")  # rule names the extractor derives from a cue's own name


@lru_cache(maxsize=1024)
def cue_of(rule: str) -> str:
    """The cue a claim's `rule` names: without "/..." notes and the derived "-future"/"-refused"."""
    base = rule.split("/", maxsplit=1)[0]
    for suffix in _SUFFIXES:
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


def firmness(
    claims: Sequence[Claim],
    *,
    title_end: int,
    stance_rules: Collection[str] = STANCE_RULES,
    readiness_rules: Collection[str] = READINESS_RULES,
) -> list[int]:
    """The firmness of each of one post's `claims`, in order; `title_end` is where the title ends
    in the post's text (claims before it are in the title)."""
    agendas: set[tuple[str, str, tuple[int, int]]] = set()
    if len(claims) >= LIST_TOPICS:
        topics: dict[tuple[str, str, tuple[int, int]], set[str]] = {}
        for c in claims:
            topics.setdefault((c.kind, c.actor, c.span), set()).add(c.topic)
        agendas = {cue for cue, named in topics.items() if len(named) >= LIST_TOPICS}
    out = []
    for c in claims:
        cue = cue_of(c.rule)
        level = STANCE if cue in stance_rules else READY if cue in readiness_rules else ACT
        if c.span[0] < title_end:
            level = max(level, READY)
        elif agendas and (c.kind, c.actor, c.span) in agendas:
            level = STANCE
        out.append(level)
    return out


@lru_cache(maxsize=8192)
def statement(quote: str) -> str:
    """A short digest of a sentence, the same for the same words whatever the case and spacing
    (CRC-32: stable across processes, and two sentences colliding only ever hide a row that
    nothing but those two tentative sentences supports)."""
    words = " ".join(quote.lower().split())
    return f"{zlib.crc32(words.encode()):08x}"


def add_statement(said: list[str], digest: str) -> None:
    """Keep the two smallest distinct digests in `said` (commutative: any order gives the same)."""
    if len(said) < 2:
        if digest not in said:
            said.append(digest)
            said.sort()
    elif digest < said[1] and digest != said[0]:
        said[1] = digest
        said.sort()


def shown(agg: dict[str, Any]) -> bool:
    """True when a demand or response aggregate has something firm behind it (readiness counts)."""
    return bool(agg["acts"] or agg["ready"]) or len(agg["said"]) >= 2


def demanded_firmly(agg: dict[str, Any]) -> bool:
    """True when a demand aggregate holds an act or two different sentences (its actor's readiness
    for the same topic is then that demand restated, not an offer)."""
    return bool(agg["acts"]) or len(agg["said"]) >= 2


def shown_as_offer(agg: dict[str, Any], *, demanded: bool) -> bool:
    """True when a proposal aggregate is an offer: an act, readiness for what its actor does not
    itself demand firmly (`demanded`), or two different sentences."""
    return bool(agg["acts"]) or (bool(agg["ready"]) and not demanded) or len(agg["said"]) >= 2
