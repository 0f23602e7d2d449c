"""Reference implementations: the extraction code as it was before the speed work (commit
475087a), kept so the tests can show the faster code gives the same results on any text."""

# ruff: noqa
from __future__ import annotations

import itertools
import re
from typing import Any

_QUOTES = "\"“”‘’'()[]"

_NON_WORD = re.compile(r"[\W_]")


def lower_same_length(text: str) -> str:
    """`text` lower-cased and with curly apostrophes straightened, keeping every offset."""
    low = text.lower()
    if len(low) != len(text):
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    return low.replace("’", "'")


def word_form(text: str) -> str:
    """The definition: lower case (same length), every non-word character a space."""
    return _NON_WORD.sub(" ", lower_same_length(text))


_END = re.compile(r"(?=[.!?…\s])(?:[.!?…]+[\"”’')\]]*\s+(?=[\"“‘'(\[]?[A-Z0-9•–—-])|\s+[•·]\s+)")
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


def _split_line(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans = []
    cursor = start
    for m in _END.finditer(text, start, end):
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


def split_sentences(
    text: str, clause_break: re.Pattern[str]
) -> list[tuple[int, int, tuple[tuple[int, int], ...], bool]]:
    """The sentences of `text` (non-empty spans, in order), each with its clauses."""
    out = []
    line_start = 0
    for line in text.split("\n"):
        line_end = line_start + len(line)
        for raw_start, raw_end in _split_line(text, line_start, line_end):
            s, e = _trim(text, raw_start, raw_end)
            if s >= e:
                continue
            cuts = [s]
            for m in clause_break.finditer(text, s, e):
                if m.start() > cuts[-1]:
                    cuts.append(m.start())
            cuts.append(e)
            clauses = tuple((a, b) for a, b in itertools.pairwise(cuts) if b > a)
            quoted = text[s] in '"“‘' or text[line_start : line_start + 1] in ('"', "“")
            out.append((s, e, clauses, quoted))
        line_start = line_end + 1
    return out


def is_object(text: str, start: int, pack: Any) -> bool:
    """A name at `start` is an object when, past titles and capitalised words ("from Turkish
    President Recep Tayyip Erdogan"), the word before it is a preposition or a verb such as
    "accused"; punctuation or the start of the line ends the search."""
    markers = pack.markers
    line_start = text.rfind("\n", 0, start) + 1
    words = text[max(line_start, start - 64) : start].split()
    i = len(words) - 1
    while i >= 0:
        word = words[i]
        if word[-1] in ",.;:!?—–":
            return False
        bare = word.strip(_QUOTES)
        low = bare.lower()
        if low in ("the", "a", "an") or low in markers.title_words or bare[:1].isupper():
            i -= 1
            continue
        break
    if i < 0:
        return False
    bare = words[i].strip(_QUOTES)
    if markers.object_word.fullmatch(bare):
        return True
    return (
        i >= 1
        and markers.object_word.fullmatch(f"{words[i - 1].strip(_QUOTES)} {bare}") is not None
    )


_JOINED = frozenset({"and", "or", "and the", "or the"})
_BY_BEFORE = re.compile(r"\bby\s+(?:the\s+)?$", re.IGNORECASE)


def name_objects(text: str, names: list[tuple[int, int]], pack: Any) -> list[bool]:
    """Whether each name (start, end, in text order) is an object: `is_object`, or joined by
    "and"/"or" to a name just before it that is an object and does not follow "by" (a rule of
    issue 4's second round, written plainly)."""
    flags: list[bool] = []
    for i, (start, _end) in enumerate(names):
        flag = is_object(text, start, pack)
        if not flag and i > 0 and flags[i - 1]:
            p_start, p_end = names[i - 1]
            gap = " ".join(text[p_end:start].lower().split())
            flag = gap in _JOINED and not _BY_BEFORE.search(text[max(0, p_start - 8) : p_start])
        flags.append(flag)
    return flags


_NUMWORD = (
    r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?"
    r"|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen"
    r"|sixteen|seventeen|eighteen|nineteen)"
)
_NUM = rf"(?:\d{{1,3}}(?:,\d{{3}})+|\d+(?:\.\d+)?|{_NUMWORD}(?:[- ](?:hundred|thousand|million))?|a (?:hundred|thousand))"
_COUNT = re.compile(
    rf"(?<![\w,.-])(?:more than |over |about |around |nearly |almost |some |at least |up to )?({_NUM})"
    rf"(?:[- ](hundred|thousand|million))?(?![\w-])(?!\s*(?:-|–|to|or)\s*(?:\d|{_NUMWORD})[- ]?(?:hours?|days?|weeks?|months?))"
    r"(?!\s*(?:-|–|to)?\s*(?:hours?|days?|weeks?|months?|years?|per ?cent|%|km|miles|kilomet|o'clock|am|pm|gmt|bst|utc))"
    r"(?!\s+(?:\w+\s+)?(?:sides?|countries|leaders|delegations|parties|rounds?|times|presidents|nations|governments|teams|stages|phases|points)\b)"
    r"|\b(dozens|hundreds|thousands|scores)\b",
    re.IGNORECASE,
)
