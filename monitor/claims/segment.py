"""Step 1: a post's text into sentences and clauses, as character spans of that text.

Each line (title, paragraph, caption) is split at sentence ends; abbreviations ("Mr.", "U.S.")
and initials do not end a sentence. Clauses are cut at the pack's clause breaks ("; ", ", but ").
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import NamedTuple

from monitor.native import plain_class

# The look-ahead at the first character only lets the regex skip quickly to possible ends.
_END = re.compile(r"(?=[.!?…\s])(?:[.!?…]+[\"”’')\]]*\s+(?=[\"“‘'(\[]?[A-Z0-9•–—-])|\s+[•·]\s+)")
# The same without the bullet alternative, for text that holds no bullet: it starts with a
# character class, so the regex engine skips to the punctuation in C instead of trying every
# space (6 us instead of 12 us a 550-character post). Same matches where there is no "•" or "·".
_END_NO_BULLET = re.compile(r"[.!?…]+[\"”’')\]]*\s+(?=[\"“‘'(\[]?[A-Z0-9•–—-])")
# A sentence end inside a line is followed by a letter, digit or dash, none of which is in
# _TAIL, so it lies before the line's last run of _TAIL characters: a line whose text before
# that run holds none of ".!?…" is one sentence and the regex need not run.
_TAIL = ".!?…\"”’')]“‘([ \t\r\f\v\u00a0"
# Any non-ASCII word character ("é", "İ", the Kelvin sign): lower() may then change more than
# ASCII letters, so clause breaks are looked for with the regex instead of the automaton.
_NON_ASCII_WORD = re.compile(r"[^\W\x00-\x7f]")
_ABBREV = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "st",
        "gen",
        "lt",
        "col",
        "sgt",
        "jr",
        "sr",
        "no",
        "prof",
        "gov",
        "sen",
        "rep",
        "vs",
        "etc",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "u.s",
        "u.n",
        "u.k",
        "e.g",
        "i.e",
        "approx",
        "maj",
        "capt",
        "cmdr",
        "adm",
        "rev",
        "fig",
        "al",
    ]
)


_new = tuple.__new__


class Sentence(NamedTuple):
    """A sentence: its span in the post's text, its clause boundaries, and whether it is quoted.

    (A NamedTuple: built for every sentence of every post.)
    """

    start: int
    end: int
    clauses: tuple[tuple[int, int], ...]
    quoted: bool


@plain_class  # pickled with the rules pack (see monitor.native)
class BreakIndex:
    """The pack's clause breaks when every one is an ASCII literal: `str.find` over the post's
    lower-cased text finds every place one occurs (in C, about 40x fewer instructions than the
    regex, which tried every space for " but "), and `split_sentences` then picks the matches the
    regex would (leftmost first, the earliest listed break at a place, no overlaps)."""

    __slots__ = ("_keys",)

    def __init__(self, phrases: Sequence[str]) -> None:
        keys: dict[str, int] = {}
        for i, phrase in enumerate(phrases):
            keys.setdefault(phrase.lower(), i)  # a break listed twice: the first is the regex's
        self._keys = tuple((key, i, len(key)) for key, i in keys.items())

    def find(self, low: str) -> list[tuple[int, int, int]]:
        """(start, index of the break, end) of every occurrence in `low`, by start then index."""
        hits = []
        for key, i, n in self._keys:
            at = low.find(key)
            while at >= 0:
                hits.append((at, i, at + n))
                at = low.find(key, at + 1)
        hits.sort()
        return hits


def _clause_cuts(hits: list[tuple[int, int, int]], j: int, s: int, e: int) -> list[int]:
    """The clause cuts of sentence [s, e) from `hits` (from `BreakIndex.find`, from index j on):
    the starts the regex's finditer(text, s, e) would give, past s."""
    cuts = [s]
    cursor = s
    n = len(hits)
    while j < n and hits[j][0] < e:
        start, _, end = hits[j]
        if start >= cursor and end <= e:  # the regex's match at this place
            if start > cuts[-1]:
                cuts.append(start)
            cursor = end
            while j < n and hits[j][0] == start:
                j += 1
            continue
        j += 1  # overlaps the previous match, or runs past the sentence: the next break
    cuts.append(e)
    return cuts


def _split_line(
    text: str, start: int, end: int, ends: re.Pattern[str] = _END
) -> list[tuple[int, int]]:
    spans = []
    cursor = start
    for m in ends.finditer(text, start, end):
        before = text[max(cursor, m.start() - 24) : m.start()].rsplit(None, 1)
        word = before[-1].lower().strip("\"“‘'(") if before else ""
        if text[m.start()] == "." and (word in _ABBREV or (len(word) == 1 and word.isalpha())):
            continue
        cut = m.start() + len(m.group().rstrip())
        if text[m.start()] in "•·" or m.group().strip() in "•·":
            cut = m.start()
        spans.append((cursor, cut))
        cursor = m.end()
    spans.append((cursor, end))
    return spans


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _break_hits(
    text: str, break_index: BreakIndex | None, plain: bool | None
) -> list[tuple[int, int, int]] | None:
    """Every clause break in `text` from the index, or None to use the regex."""
    if break_index is None:
        return None
    if plain is None:
        plain = text.isascii() or _NON_ASCII_WORD.search(text) is None
    if not plain:
        return None
    low = text.lower()
    return break_index.find(low) if len(low) == len(text) else None


def split_sentences(
    text: str,
    clause_break: re.Pattern[str],
    break_index: BreakIndex | None = None,
    plain: bool | None = None,
) -> list[Sentence]:
    """The sentences of `text` (non-empty spans, in order), each with its clauses.

    `break_index`, when given, holds the same clause breaks as `clause_break` (the pack builds
    it when every break is an ASCII literal); it is used for text whose lower case changes only
    ASCII letters (`plain`, when the caller knows: see keywords.padded_form), and finds the same
    breaks."""
    out = []
    line_start = 0
    ends = _END if "•" in text or "·" in text else _END_NO_BULLET
    hits = _break_hits(text, break_index, plain)
    j = 0
    for line in text.split("\n"):
        line_end = line_start + len(line)
        head = line.rstrip(_TAIL)
        if ends is _END or "." in head or "?" in head or "!" in head or "…" in head:
            spans = _split_line(text, line_start, line_end, ends)
        else:
            spans = [(line_start, line_end)]  # no sentence end inside the line
        for raw_start, raw_end in spans:
            s, e = _trim(text, raw_start, raw_end)
            if s >= e:
                continue
            if hits is not None:
                while j < len(hits) and hits[j][0] < s:
                    j += 1
                cuts = _clause_cuts(hits, j, s, e) if j < len(hits) else [s, e]
            else:
                cuts = [s]
                for m in clause_break.finditer(text, s, e):
                    if m.start() > cuts[-1]:
                        cuts.append(m.start())
                cuts.append(e)
            clauses = tuple((a, b) for a, b in itertools.pairwise(cuts) if b > a)
            quoted = text[s] in '"“‘' or text[line_start : line_start + 1] in ('"', "“")
            out.append(_new(Sentence, (s, e, clauses, quoted)))  # positional: the hot path
        line_start = line_end + 1
    return out


def clause_of(sentence: Sentence, position: int) -> tuple[int, int]:
    """The clause of `sentence` that holds `position`."""
    for a, b in sentence.clauses:
        if a <= position < b:
            return a, b
    return sentence.start, sentence.end
