"""One Aho-Corasick automaton over every actor alias and the literal stems of every cue and topic
pattern, so a post is scanned once, in C, and regexes only run where a stem was seen.

`KeywordIndex.scan(text)` returns raw hits: alias spans (with their normalised key), cue hits and
topic hits as (start, end, index of the pattern), all on word boundaries, overlaps removed.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

import ahocorasick

from monitor.native import plain_class

# The regex parser is the only way to read a pattern's literal start; it is private, so it is
# loaded by name (it has been re._parser and re._constants since Python 3.11).
sre_c: Any = importlib.import_module("re._constants")
sre_p: Any = importlib.import_module("re._parser")

_STEM = 8  # characters of literal start used as the automaton key (8, not 4: 40% fewer false
# hits, e.g. " pres" for "press" was hit by every "president"; a scan took 47 us a post, not 64)
_SHORT_STEM = 4  # the fallback when a pattern has too many 8-character starts
_CAP = 256  # more prefixes than this: the pattern is tried everywhere instead

Hit = tuple[int, int, int]
_Patterns = tuple[tuple[int, re.Pattern[str]], ...]
# what the automaton holds for a key (see KeywordIndex.__init__)
_Entry = tuple[int, str, str, _Patterns, _Patterns, "re.Pattern[str] | None"]


def _expand(items: Sequence[Any], k: int) -> tuple[set[str] | None, bool]:  # noqa: PLR0912  (one branch per regex node type reads best)
    """Literal prefixes (up to k chars) of a parsed sequence, and whether matching may go on."""
    seqs = {""}
    for op, av in items:
        if all(len(s) >= k for s in seqs):
            return seqs, True  # long enough: whatever follows cannot change the stems
        if op in (sre_c.ASSERT, sre_c.ASSERT_NOT, sre_c.AT):
            continue
        go_on = True
        exp: set[str] | None
        if op is sre_c.LITERAL:
            exp = {chr(av).lower()}
        elif op is sre_c.IN:
            exp = set()
            for sub_op, sub_av in av:
                if sub_op is sre_c.LITERAL:
                    exp.add(chr(sub_av).lower())
                elif sub_op is sre_c.RANGE and sub_av[1] - sub_av[0] < 40:
                    exp |= {chr(x).lower() for x in range(sub_av[0], sub_av[1] + 1)}
                else:
                    exp = None
                    break
        elif op is sre_c.BRANCH:
            exp = set()
            for branch in av[1]:
                sub, whole = _expand(list(branch), k)
                if sub is None:
                    exp = None
                    break
                exp |= sub
                go_on = go_on and whole  # every alternative literal to its end: keep going
        elif op is sre_c.SUBPATTERN:
            exp, go_on = _expand(list(av[-1]), k)
            go_on = False if exp is None else go_on
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT):
            low, high, sub_items = av
            sub, _ = _expand(list(sub_items), k)
            exp = None if sub is None else (sub | {""} if low == 0 else sub)
            go_on = high == 1
        else:
            exp = None
        if exp is None:
            return (None if "" in seqs else seqs), False
        seqs = {(s + t)[:k] for s in seqs for t in exp}
        if len(seqs) > _CAP:
            return None, False
        if not go_on:
            return (None if "" in seqs else seqs), False
    return (None if "" in seqs else seqs), True


def literal_stems(source: str, k: int = _SHORT_STEM) -> set[str] | None:
    """The lower-case literal starts (up to k characters) a match of `source` must begin with;
    None when unknown."""
    stems, _ = _expand(list(sre_p.parse(source, re.IGNORECASE)), k)
    return stems


_NON_WORD = re.compile(r"[\W_]")
# The same mapping for ASCII text in one `bytes.translate` (built from _NON_WORD, so it cannot
# differ); a byte above 127 stands for a character that is no word character (see word_form).
_ASCII_WORD_FORM = bytes(
    (0x20 if _NON_WORD.match(chr(c)) else ord(chr(c).lower())) if c < 128 else 0x20
    for c in range(256)
)
# A word character outside ASCII ("é", "İ", Cyrillic): such text takes the general path.
_NON_ASCII_WORD = re.compile(r"[^\W\x00-\x7f]")


def word_form(text: str) -> str:
    """Lower case with every non-word character a space: offsets kept, so a key padded with
    spaces only matches whole words.

    Most posts are ASCII but for typographic quotes and dashes, which are no word characters:
    those become one "?" each when encoded (offsets kept) and then a space, like any non-word
    character, in one `bytes.translate` (about 1 us for a 550-character post instead of 14-23 us
    for the regex substitution). The general path is the definition: `_NON_WORD.sub(" ",
    lower_same_length(text))`."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_WORD_FORM).decode("ascii")
    if _NON_ASCII_WORD.search(text) is None:
        return text.encode("ascii", "replace").translate(_ASCII_WORD_FORM).decode("ascii")
    return _NON_WORD.sub(" ", lower_same_length(text))


def padded_form(text: str) -> tuple[str, bool]:
    """`f" {word_form(text)} "`, and whether it is *plain*: no character outside ASCII is a word
    character, so lower case changed only ASCII letters and IGNORECASE matching of the text is
    exactly literal matching of the form (see `WordStartGate`)."""
    if text.isascii():
        return f" {text.encode('ascii').translate(_ASCII_WORD_FORM).decode('ascii')} ", True
    if _NON_ASCII_WORD.search(text) is None:
        form = text.encode("ascii", "replace").translate(_ASCII_WORD_FORM).decode("ascii")
        return f" {form} ", True
    return f" {_NON_WORD.sub(' ', lower_same_length(text))} ", False


def _ascii_or_non_word(stem: str) -> bool:
    return all(ch.isascii() or _NON_WORD.match(ch) is not None for ch in stem)


def _cut(key: str) -> str:
    inner = key.find(" ", 1)
    return key if inner < 0 else key[:inner]


@plain_class  # pickled with the rules pack (see monitor.native)
class WordStartGate:
    """A cheap necessary test for a regex whose every match starts at a word start (its pattern
    opens with `(?<!\\w)` or `\\b` and a word character): the literal stems every match begins
    with (`literal_stems`), as " stem" in the padded word form of a plain text. Where the form
    holds none of them between two places, the regex has no match there and need not run (the
    regexes with many alternatives cost 50-100 ns a character with IGNORECASE; a case-sensitive
    search for the keys in the form is several times cheaper), and where it may, `search` and
    `finditer` try it only where a key starts. `keys` is None when the stems are unknown: then
    the regex always runs as it is."""

    __slots__ = ("_any", "_nonempty", "_starts", "keys")

    def __init__(self, source: str) -> None:
        stems = literal_stems(source, _SHORT_STEM)
        # ASCII stems only: IGNORECASE matches "İ", "ſ", "K" (Kelvin) in a pattern to ASCII
        # letters of a plain text, which the form would not show (other characters of a stem
        # are no word characters, so spaces in the form).
        keys = (
            {" " + word_form(stem) for stem in stems}
            if stems and len(stems) <= 64 and all(_ascii_or_non_word(stem) for stem in stems)
            else set()
        )
        self.keys = tuple(sorted(keys)) if keys else None
        starts = {_cut(key) for key in keys}
        # the keys as one case-sensitive alternation of literals: one call, 1.1-1.5 us for a
        # 60-character stretch (3.4-8 us for the markers' own regexes with IGNORECASE)
        self._any = re.compile("|".join(map(re.escape, self.keys))) if self.keys else None
        # every place a key starts, from the keys cut at an inner space: none then holds a space
        # after its first character, so a match hides no other key's start (and the regex engine
        # skips to the spaces in C); None when a cut key is a bare space (it places nothing)
        self._starts = (
            re.compile("|".join(map(re.escape, sorted(starts))))
            if starts and " " not in starts
            else None
        )
        self._nonempty = sre_p.parse(source, re.IGNORECASE).getwidth()[0] > 0

    def search(
        self, regex: re.Pattern[str], text: str, form: str | None, pos: int, endpos: int
    ) -> re.Match[str] | None:
        """`regex.search(text, pos, endpos)` for the regex this gate was built from: the regex is
        tried only where a stem starts (the leftmost place that matches is the search's match)."""
        if form is None or self._any is None:
            return regex.search(text, pos, endpos)
        if self._starts is None:
            return regex.search(text, pos, endpos) if self.may_match(form, pos, endpos) else None
        for place in self._starts.finditer(form, pos, endpos + 1):
            found = regex.match(text, place.start(), endpos)  # form index i is text index i's
            if found is not None:  # word start: the space before the stem
                return found
        return None

    def finditer(
        self, regex: re.Pattern[str], text: str, form: str | None, pos: int, endpos: int
    ) -> Iterator[re.Match[str]]:
        """`regex.finditer(text, pos, endpos)` for the regex this gate was built from, trying it
        only where a stem starts (its matches are never empty, so each next one starts at or
        after the end of the one before)."""
        if form is None or self._any is None or not self._nonempty:
            yield from regex.finditer(text, pos, endpos)
            return
        if self._starts is None:
            if self.may_match(form, pos, endpos):
                yield from regex.finditer(text, pos, endpos)
            return
        cursor = pos
        for place in self._starts.finditer(form, pos, endpos + 1):
            start = place.start()
            if start < cursor:
                continue
            found = regex.match(text, start, endpos)
            if found is not None:
                yield found
                cursor = found.end()

    def may_match(self, form: str | None, pos: int, endpos: int) -> bool:
        """False only when no match of the regex can start in [pos, endpos) of the text whose
        padded plain form is `form` (None: not plain, so True)."""
        if form is None or self._any is None:
            return True
        # form index i + 1 is text index i; a key's leading space is the character before
        return self._any.search(form, pos, endpos + 1) is not None


def lower_same_length(text: str) -> str:
    """`text` lower-cased and with curly apostrophes straightened, keeping every offset."""
    low = text.lower()
    if len(low) != len(text):
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return low.replace("’", "'")


@plain_class  # pickled with the rules pack (see monitor.native)
class KeywordIndex:
    """Aliases (literal) and cue/topic patterns (regexes with literal stems) in one automaton."""

    __slots__ = ("_automaton", "_cue_always", "_cues", "_topic_always", "_topics")

    def __init__(
        self, literals: Mapping[str, str], cues: Sequence[str], topics: Sequence[str]
    ) -> None:
        """`literals` maps normalised text (lower case, single spaces) to tags (a: alias, g: group
        phrase, p: pronoun); `cues` and `topics` are regex sources."""
        keys: dict[str, tuple[str, list[int], list[int]]] = {}
        for literal, tags in literals.items():
            key = f" {word_form(literal)} "
            keys[key] = (keys[key][0] + tags, [], []) if key in keys else (tags, [], [])
        self._cues = [re.compile(rf"(?:{s})(?!\w)", re.IGNORECASE) for s in cues]
        self._topics = [re.compile(rf"(?:{s})(?!\w)", re.IGNORECASE) for s in topics]
        self._cue_always = [
            (i, re.compile(rf"(?<!\w)(?:{s})(?!\w)", re.IGNORECASE))
            for i, s in enumerate(cues)
            if self._index(keys, s, i, 1)
        ]
        self._topic_always = [
            (i, re.compile(rf"(?<!\w)(?:{s})(?!\w)", re.IGNORECASE))
            for i, s in enumerate(topics)
            if self._index(keys, s, i, 2)
        ]
        automaton = ahocorasick.Automaton()
        for key, (tags, cue_ids, topic_ids) in keys.items():
            ids = sorted(set(cue_ids)), sorted(set(topic_ids))
            cue_pats = tuple((i, self._cues[i]) for i in ids[0])
            topic_pats = tuple((i, self._topics[i]) for i in ids[1])
            every = [self._cues[i].pattern for i in ids[0]] + [
                self._topics[i].pattern for i in ids[1]
            ]
            # one combined test first: most stems seen in a text start none of their patterns
            gate = re.compile("|".join(every), re.IGNORECASE) if len(every) > 1 else None
            # (offset of the key's start from its last character, tags, the name between the
            # spaces, patterns, gate): everything the scan loop needs, computed once here
            automaton.add_word(key, (len(key) - 1, tags, key[1:-1], cue_pats, topic_pats, gate))
        automaton.make_automaton()
        self._automaton = automaton

    @staticmethod
    def _index(
        keys: dict[str, tuple[str, list[int], list[int]]], source: str, i: int, slot: int
    ) -> bool:
        """Register pattern i under its stems; True when it has none (try it everywhere)."""
        stems = literal_stems(source, _STEM) or literal_stems(source, _SHORT_STEM)
        if not stems:
            return True
        for stem in stems:
            entry = keys.setdefault(" " + word_form(stem), ("", [], []))
            cast(list[int], entry[slot]).append(i)
        return False

    def scan(self, text: str) -> tuple[list[tuple[int, int, str, str]], list[Hit], list[Hit]]:
        """Literal spans (start, end, normalised text, tags), every cue hit (sorted by start, then pattern order:
        several rules may start at one place, the reader tries them in order) and topic hits."""
        return self.scan_form(text, f" {word_form(text)} ")

    def scan_form(
        self, text: str, padded: str
    ) -> tuple[list[tuple[int, int, str, str]], list[Hit], list[Hit]]:
        """`scan(text)` when the padded word form `f" {word_form(text)} "` is already known."""
        aliases: list[tuple[int, int, str, str]] = []
        cue_set: set[Hit] = set()
        topic_set: set[Hit] = set()
        for found in self._automaton.iter(padded):
            # typed, so compiled code (monitor/native.py) unpacks the tuples by index
            hit: tuple[int, _Entry] = found
            last, entry = hit
            offset, tags, name, cue_pats, topic_pats, gate = entry
            start = last - offset
            if tags:
                aliases.append((start, last - 1, name, tags))
                if not cue_pats and not topic_pats:
                    continue
            if gate is not None and gate.match(text, start) is None:
                continue
            for i, regex in cue_pats:
                m = regex.match(text, start)
                if m is not None and m.end() > start:
                    cue_set.add((start, m.end(), i))
            for i, regex in topic_pats:
                m = regex.match(text, start)
                if m is not None and m.end() > start:
                    topic_set.add((start, m.end(), i))
        cue_hits = list(cue_set)
        topic_hits = list(topic_set)
        for i, regex in self._cue_always:
            cue_hits.extend(
                (m.start(), m.end(), i) for m in regex.finditer(text) if m.end() > m.start()
            )
        for i, regex in self._topic_always:
            topic_hits.extend(
                (m.start(), m.end(), i) for m in regex.finditer(text) if m.end() > m.start()
            )
        return _longest(aliases), sorted(cue_hits), _longest_hits(topic_hits)


def _longest(spans: list[tuple[int, int, str, str]]) -> list[tuple[int, int, str, str]]:
    spans.sort(key=lambda s: (s[0], -s[1]))
    out: list[tuple[int, int, str, str]] = []
    end = -1
    for span in spans:
        if span[0] >= end:
            out.append(span)
            end = span[1]
    return out


def _longest_hits(hits: list[Hit]) -> list[Hit]:
    """At one start the longest match wins (then the earlier pattern); later overlaps are dropped.
    Patterns matching exactly the same text all stay ("host another round": talks and mediation;
    a pattern listed twice is dropped where the claims are merged)."""
    hits.sort(key=lambda h: (h[0], -h[1], h[2]))
    out: list[Hit] = []
    end = -1
    for hit in hits:
        if hit[0] >= end:
            out.append(hit)
            end = hit[1]
        elif hit[0] == out[-1][0] and hit[1] == end:
            out.append(hit)
    return out
