"""What `lines.py` remembers of the lines it has read: a bounded, least-recently-used table.

Live blogs resend whole posts on every revision, and the same sentences come back across posts
(a title repeated as a paragraph, a standard line under every update). A line's scan, the actors
it names as subjects, and the claims it gives when read alone are kept here, keyed by the line's
text. Each pack has its own memo (`RulesPack.memo`), so a different rules pack never sees
another's entries. Bounded (`capacity` lines), so memory stays flat however long the log.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, NamedTuple

from monitor.claims.model import Claim

if TYPE_CHECKING:  # (imported for types only: they import the pack, which imports this)
    from monitor.claims.mentions import Mention
    from monitor.claims.reading import TopicHit
    from monitor.claims.segment import Sentence

ANY: Any = object()
"""A variant's pair or day when reading the line did not use it: it holds for every post."""

CAPACITY = 20_000
"""Lines remembered by default (a few KB each)."""

_VARIANTS = 8  # readings kept per line (one per pair or day it depended on)


class Variant(NamedTuple):
    """The claims a line gives read alone, for a post `pair` and `day` (or ANY of them), with its
    pronouns and "the two sides" pointing to `refs` ((code, person) each, as in the post).

    `back` is True when the reading looked at what could come before the line, so the claims
    only hold when the line is a post's first. Claims have `post_id` "" and spans in the line;
    `claimed` holds their topics as read (for "it" in the lines after).
    """

    pair: Any
    day: Any
    refs: tuple[tuple[str, bool], ...]
    back: bool
    claims: tuple[Claim, ...]
    claimed: tuple[TopicHit, ...]


@dataclass(slots=True)
class LineEntry:
    """One line's scan hits, sentences, mentions (unresolved), named subjects, people and their
    meetings (offsets in the line), and its readings."""

    scan: tuple[Any, Any, Any]
    sentences: tuple[Sentence, ...]
    mentions: tuple[Mention, ...]
    named: dict[str, tuple[int, int]]  # code -> (count, first start in the line)
    resolved: tuple[Mention, ...] | None  # pronouns resolved in the line (None: only in the post)
    people: tuple[Mention, ...]  # people named (a "meeting between" two of them is a topic)
    meetings: tuple[TopicHit, ...]  # `people_meetings` of the line alone
    variants: list[Variant] = field(default_factory=list)

    def find(
        self, pair: tuple[str, ...], day: date | None, refs: tuple[tuple[str, bool], ...]
    ) -> Variant | None:
        """The reading that holds for a post with this `pair` on this `day` where the line's
        pronouns point to `refs`, if one was kept."""
        for v in self.variants:
            if (
                v.refs == refs
                and (v.pair is ANY or v.pair == pair)
                and (v.day is ANY or v.day == day)
            ):
                return v
        return None

    def keep(self, variant: Variant) -> None:
        """Remember a reading (the oldest goes when a line has too many)."""
        if len(self.variants) >= _VARIANTS:
            del self.variants[0]
        self.variants.append(variant)


class LineMemo:
    """Line text -> `LineEntry`, least recently used first out. Safe to share between threads."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        if capacity < 0:
            raise ValueError("capacity must be at least 0")
        self.capacity = capacity
        self._lines: OrderedDict[str, LineEntry] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.whole = 0  # posts read whole (a line depended on another, or nothing to reuse)

    def get(self, line: str) -> LineEntry | None:
        """The entry for `line`, or None (counted as a hit or a miss)."""
        with self._lock:
            entry = self._lines.get(line)
            if entry is None:
                self.misses += 1
                return None
            self._lines.move_to_end(line)
            self.hits += 1
            return entry

    def put(self, line: str, entry: LineEntry) -> LineEntry:
        """Remember `entry` for `line` (forgetting the least recently used past capacity)."""
        with self._lock:
            if self.capacity:
                self._lines[line] = entry
                while len(self._lines) > self.capacity:
                    self._lines.popitem(last=False)
        return entry

    def __len__(self) -> int:
        return len(self._lines)

    def clear(self) -> None:
        """Forget every line and reset the counters."""
        with self._lock:
            self._lines.clear()
            self.hits = self.misses = self.whole = 0

    def __reduce__(self) -> tuple[Any, ...]:
        return (LineMemo, (self.capacity,))  # a copy (another process) starts empty
