"""Where an exchange mention looks for the row it joins: rows by topic and exact party set.

A mention with parties P joins a row whose parties R contain P or are contained in it. Rows are
indexed by (topic, R); the subsets of P are looked up directly, and the supersets through the
distinct party sets each party takes part in (far fewer than rows: a pair of parties has one set,
however many weeks of exchanges it agreed). Rebuilt from the state on load, never saved.
"""

from __future__ import annotations

from itertools import combinations

Parties = tuple[str, ...]

_MAX_ENUMERATED = 6  # beyond this many parties, walk the sets instead of enumerating subsets


class ExchangeIndex:
    """Exchange row keys by (topic, sorted parties)."""

    __slots__ = ("_rows", "_sets")

    def __init__(self) -> None:
        self._rows: dict[tuple[str, Parties], set[str]] = {}
        self._sets: dict[tuple[str, str], set[Parties]] = {}

    def add(self, topic: str, parties: Parties, key: str) -> None:
        """Index row `key` under its current parties."""
        if not parties:
            return
        self._rows.setdefault((topic, parties), set()).add(key)
        for party in parties:
            self._sets.setdefault((topic, party), set()).add(parties)

    def remove(self, topic: str, parties: Parties, key: str) -> None:
        """Forget row `key` under `parties` (a row gone, or whose parties changed)."""
        keys = self._rows.get((topic, parties))
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self._rows[(topic, parties)]

    def candidates(self, topic: str, parties: Parties) -> set[str]:
        """Every row of `topic` whose parties contain `parties` or are contained in them."""
        wanted = set(parties)
        found: set[str] = set()
        if len(parties) <= _MAX_ENUMERATED:
            for size in range(1, len(parties) + 1):
                for subset in combinations(parties, size):
                    found |= self._rows.get((topic, subset), set())
            sets = self._sets.get((topic, parties[0]), set()) if parties else set()
            for other in sets:
                if len(other) > len(parties) and wanted.issubset(other):
                    found |= self._rows.get((topic, other), set())
            return found
        for party in parties:
            for other in self._sets.get((topic, party), set()):
                mine = set(other)
                if mine <= wanted or wanted <= mine:
                    found |= self._rows.get((topic, other), set())
        return found
