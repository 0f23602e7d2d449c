"""Where an exchange mention looks for the row it joins: rows by topic and exact party set.

A mention with parties P joins a row whose parties R contain P or are contained in it. Rows are
indexed by (topic, R); the subsets of P are looked up directly, and the supersets through the
distinct party sets each party takes part in (far fewer than rows: a pair of parties has one set,
however many weeks of exchanges it agreed). Rebuilt from the state on load, never saved.
"""

from __future__ import annotations

from functools import lru_cache
from itertools import combinations

Parties = tuple[str, ...]

_MAX_ENUMERATED = 6  # beyond this many parties, walk the sets instead of enumerating subsets


class ExchangeIndex:
    """Exchange row keys by (topic, sorted parties)."""

    __slots__ = ("_rows", "_sets", "_supersets")

    def __init__(self) -> None:
        self._rows: dict[tuple[str, Parties], set[str]] = {}
        self._sets: dict[tuple[str, str], set[Parties]] = {}
        # the larger party sets that contain a party set, as last worked out (forgotten for the
        # sets inside a party set first seen: the sets only grow, and a new one is rare)
        self._supersets: dict[tuple[str, Parties], tuple[Parties, ...]] = {}

    def add(self, topic: str, parties: Parties, key: str) -> None:
        """Index row `key` under its current parties."""
        if not parties:
            return
        self._rows.setdefault((topic, parties), set()).add(key)
        new = False
        for party in parties:
            sets = self._sets.setdefault((topic, party), set())
            if parties not in sets:
                sets.add(parties)
                new = True
        if new:  # a party set first seen: forget what was worked out for the sets inside it
            if len(parties) <= _MAX_ENUMERATED:
                for subset in _subsets(parties):
                    self._supersets.pop((topic, subset), None)
            else:
                self._supersets.clear()

    def remove(self, topic: str, parties: Parties, key: str) -> None:
        """Forget row `key` under `parties` (a row gone, or whose parties changed)."""
        keys = self._rows.get((topic, parties))
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._rows[(topic, parties)]

    def candidates(self, topic: str, parties: Parties) -> set[str]:
        """Every row of `topic` whose parties contain `parties` or are contained in them."""
        found: set[str] = set()
        rows = self._rows
        if len(parties) <= _MAX_ENUMERATED:
            for subset in _subsets(parties):
                keys = rows.get((topic, subset))
                if keys:
                    found |= keys
            for other in self._larger(topic, parties):
                keys = rows.get((topic, other))
                if keys:
                    found |= keys
            return found
        wanted = set(parties)
        for party in parties:
            for other in self._sets.get((topic, party), set()):
                mine = set(other)
                if mine <= wanted or wanted <= mine:
                    found |= rows.get((topic, other), set())
        return found

    def _larger(self, topic: str, parties: Parties) -> tuple[Parties, ...]:
        """The party sets of `topic` with more parties than `parties`, containing them all."""
        if not parties:
            return ()
        known = self._supersets.get((topic, parties))
        if known is None:
            wanted = set(parties)
            known = self._supersets[(topic, parties)] = tuple(
                other
                for other in self._sets.get((topic, parties[0]), set())
                if len(other) > len(parties) and wanted.issubset(other)
            )
        return known


@lru_cache(maxsize=4096)
def _subsets(parties: Parties) -> tuple[Parties, ...]:
    """Every non-empty subset of `parties`, each in the order it has there."""
    return tuple(
        subset for size in range(1, len(parties) + 1) for subset in combinations(parties, size)
    )
