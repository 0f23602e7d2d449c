"""Step 5: attributes of a claim read from its stretch of text: counts, durations, categories,
scope and deadlines. Pure functions of the text (and of the post's time, for deadlines).
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta
from typing import Any

from monitor.claims.keywords import WordStartGate, padded_form

_UNITS = {
    "zero": 0, "one": 1, "a": 1, "an": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_VAGUE = {"dozens": "dozens", "hundreds": "hundreds", "thousands": "thousands", "scores": "dozens"}
_NUMWORD = (
    r"(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?"
    r"|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen"
    r"|sixteen|seventeen|eighteen|nineteen)"
)
_NUM = rf"(?:\d{{1,3}}(?:,\d{{3}})+|\d+(?:\.\d+)?|{_NUMWORD}(?:[- ](?:hundred|thousand|million))?|a (?:hundred|thousand))"
_COUNT = re.compile(  # the look-ahead holds the characters a match can start with: 16.7 -> 10.9 us
    rf"(?=[\dadefhmnostuz])(?:(?<![\w,.-])(?:more than |over |about |around |nearly |almost |some |at least |up to )?({_NUM})"
    rf"(?:[- ](hundred|thousand|million))?(?![\w-])(?!\s*(?:-|–|to|or)\s*(?:\d|{_NUMWORD})[- ]?(?:hours?|days?|weeks?|months?))"
    r"(?!\s*(?:-|–|to)?\s*(?:hours?|days?|weeks?|months?|years?|per ?cent|%|km|miles|kilomet|o'clock|am|pm|gmt|bst|utc))"
    r"(?!\s+(?:\w+\s+)?(?:sides?|countries|leaders|delegations|parties|rounds?|times|presidents|nations|governments|teams|stages|phases|points)\b)"
    r"|\b(dozens|hundreds|thousands|scores)\b)",
    re.IGNORECASE,
)
_UNIT_RE = r"(hours?|days?|weeks?|months?)"
_DURATION = re.compile(  # the look-ahead holds the letters a number can start with: a faster skip
    rf"(?=[\dafnostez])(?<![\w-])({_NUM})(?:\s*(?:-to-|-|–|\bto\b|\bor\b)\s*({_NUM}))?[- ]{_UNIT_RE}(?![\w])",
    re.IGNORECASE,
)
_AGE_RANGE = re.compile(r"\baged (\d{1,2})\s*(?:-|–|to)\s*(\d{1,2})\b", re.IGNORECASE)
_UNDER = re.compile(
    r"\b(?:younger than|under(?: the age of)?|below(?: the age of)?|aged under) (\d{1,2})\b",
    re.IGNORECASE,
)
_CATEGORIES = (
    (
        "seriously wounded",
        re.compile(
            r"\b(?:seriously|severely|heavily|heavy|gravely|badly) (?:wounded|injured)", re.I
        ),
    ),
    (
        "wounded",
        re.compile(
            r"\b(?<!seriously )(?<!severely )(?<!heavily )(?<!heavy )(?<!gravely )(?<!badly )(?:wounded|injured)\b",
            re.I,
        ),
    ),
    ("sick", re.compile(r"\b(?:sick|ill|seriously ill)\b", re.I)),
    ("women", re.compile(r"\bwomen\b", re.I)),
    ("children", re.compile(r"\b(?:children|minors)\b", re.I)),
    ("elderly", re.compile(r"\b(?:elderly|older people)\b", re.I)),
    ("civilians", re.compile(r"\bcivilians?\b", re.I)),
    ("soldiers", re.compile(r"\b(?:soldiers|servicemen|combatants|troops)\b", re.I)),
)
_SCOPE_FULL = re.compile(r"\b(?:full|complete|comprehensive|total|general|all-out)\b", re.I)
_SCOPE_PARTIAL = re.compile(
    r"\b(?:partial|limited|local(?:i[sz]ed)?|in certain areas|(?:certain |some )?(?:parts|sections|areas) of|energy|maritime)\b",
    re.I,
)
_UNCONDITIONAL = re.compile(r"\bunconditional(?:ly)?\b", re.I)
_LIFT = re.compile(
    r"\b(?:lift(?:s|ed|ing)?|eas(?:e|es|ed|ing)|relief|remov(?:e|al|ed|ing)|roll(?:ed|ing)? back|scrap(?:ped|ping)?|suspend(?:ed|ing)?|cut(?:ting)?)\b",
    re.I,
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_DEADLINE = re.compile(  # the look-ahead holds the first letters of the alternatives below
    r"(?=[abentouw])(?:\b(?:(?:by|before|until|at) )?(?:the )?end of (?:the |this |next )?(week|month|year)\b"
    r"|\b(next|this|the coming) (week|month|year)\b"
    r"|\b(tomorrow)\b"
    r"|\bwithin (?:the next )?(\d+|" + _NUMWORD + r"|a) (days?|weeks?|months?)\b"
    r"|\b(?:by|on|before|until|next) (monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b"
    r"|\b(?:by|on|before|until) (\d{1,2}) (january|february|march|april|may|june|july|august|september|october|november|december)\b"
    r"|\b(?:by|on|before|until) (january|february|march|april|may|june|july|august|september|october|november|december) (\d{1,2})\b)",
    re.IGNORECASE,
)


# Every deadline names one of these (its unit, day or month); in a text without the characters
# IGNORECASE folds oddly onto ASCII letters ("ſ" is an "s", "ı" and "İ" are an "i", the Kelvin
# sign a "k"), a regex match needs one of them in the lower-cased text.
_DEADLINE_NEEDS = (
    "end of", "week", "month", "year", "tomorrow", "day", "january", "february", "march",
    "april", "may", "june", "july", "august", "september", "october", "november", "december",
)  # fmt: skip
_ODD_FOLDS = ("ſ", "ı", "İ", "\u212a")

_DEADLINE_WORDS = (
    "end of",
    "next ",
    "this ",
    "coming ",
    "tomorrow",
    "within ",
    "by ",
    "on ",
    "before ",
    "until ",
)


def parse_number(text: str) -> int | None:
    """A number written in digits ("6,000") or words ("two", "twenty-five", "two thousand")."""
    words = text.lower().replace(",", "").replace("-", " ").split()
    if len(words) == 1 and words[0].replace(".", "", 1).isdigit():
        return int(float(words[0]))
    total, current = 0, 0
    for word in words:
        if word.isdigit():
            current += int(word)
        elif word in _UNITS:
            current += _UNITS[word]
        elif word in _SCALES:
            current = max(current, 1) * _SCALES[word]
            if _SCALES[word] >= 1000:
                total, current = total + current, 0
        else:
            return None
    return total + current


_AGE_BEFORE = re.compile(r"(?:aged|age|under|than|below|over the age of)\s*$")


# Gates (see keywords.WordStartGate): every match of these regexes starts at a word start with
# one of a few literal stems, so a stretch whose word form holds none of them has no match and
# the regex (50-100 ns a character with IGNORECASE) need not run. A count always holds a number
# at a word start (after "more than " or where the match starts), in digits or in words; so
# does a duration.
_NUMBER_GATE = WordStartGate(
    rf"(?:[0-9]|{_NUMWORD}|a (?:hundred|thousand)|dozens|hundreds|thousands|scores)"
)
_GATES = {
    regex: WordStartGate(regex.pattern)
    for regex in (
        _SCOPE_FULL,
        _SCOPE_PARTIAL,
        _UNCONDITIONAL,
        _LIFT,
        _UNDER,
        _AGE_RANGE,
        *(regex for _, regex in _CATEGORIES),
    )
}


def _plain_form(text: str) -> str | None:
    padded, plain = padded_form(text)
    return padded if plain else None


def _search(regex: re.Pattern[str], text: str, form: str | None) -> re.Match[str] | None:
    """`regex.search(text)`, skipped when its gate shows it cannot match."""
    return _GATES[regex].search(regex, text, form, 0, len(text))


def find_count(text: str) -> int | str | None:
    """The first count of things in `text`, not a duration, age, percentage or year."""
    if not _NUMBER_GATE.may_match(_plain_form(text), 0, len(text)):
        return None
    for m in _COUNT.finditer(text):
        if m.group(3):
            return _VAGUE[m.group(3).lower()]
        before = text[max(0, m.start() - 12) : m.start()].lower()
        if _AGE_BEFORE.search(before):
            continue
        value = parse_number(m.group(1) + (" " + m.group(2) if m.group(2) else ""))
        if value is None or (1900 <= value <= 2100 and "," not in m.group(1)) or value in (0, 1):
            continue
        return value
    return None


def _iso(amount: int, unit: str) -> str:
    unit = unit.lower().rstrip("s")
    return f"PT{amount}H" if unit == "hour" else f"P{amount}{unit[0].upper()}"


def _may_hold_duration(text: str) -> bool:
    """Every duration ends in "hour", "day", "week" or "month"; lower() maps the only non-ASCII
    letter IGNORECASE matches to one of their letters (the Kelvin sign, "k") onto it, so a text
    without them has no duration and the regex need not run."""
    low = text.lower()
    return "hour" in low or "day" in low or "week" in low or "month" in low


def find_duration(text: str) -> str | None:
    """A duration as ISO 8601 ("30-day" -> P30D); a range gives both ends ("two-to-three day" -> P2D/P3D)."""
    if not _may_hold_duration(text) or not _NUMBER_GATE.may_match(_plain_form(text), 0, len(text)):
        return None
    m = _DURATION.search(text)
    if m is None:
        return None
    low = parse_number(m.group(1))
    high = parse_number(m.group(2)) if m.group(2) else None
    if low is None:
        return None
    if high is not None and high != low:
        return f"{_iso(low, m.group(3))}/{_iso(high, m.group(3))}"
    return _iso(low, m.group(3))


def find_categories(text: str) -> list[str]:
    """Categories of people named: wounded, sick, under 25, aged 18-25, women, civilians..."""
    form = _plain_form(text)
    found = [name for name, regex in _CATEGORIES if _search(regex, text, form)]
    end = len(text)
    found += [f"under {m.group(1)}" for m in _GATES[_UNDER].finditer(_UNDER, text, form, 0, end)]
    found += [
        f"aged {m.group(1)}-{m.group(2)}"
        for m in _GATES[_AGE_RANGE].finditer(_AGE_RANGE, text, form, 0, end)
    ]
    return list(dict.fromkeys(found))


def _end_of_month(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _resolve(m: re.Match[str], today: date) -> date:  # noqa: PLR0911  (one return per kind of deadline)
    g = m.groups()
    if g[0]:
        unit = g[0].lower()
        if unit == "week":
            return today + timedelta(days=6 - today.weekday())
        return _end_of_month(today) if unit == "month" else today.replace(month=12, day=31)
    if g[1]:
        which, unit = g[1].lower(), g[2].lower()
        if unit == "week":
            end = today + timedelta(days=6 - today.weekday())
            return end if which == "this" else end + timedelta(days=7)
        if unit == "month":
            return _end_of_month(
                today if which == "this" else _end_of_month(today) + timedelta(days=1)
            )
        return date(today.year if which == "this" else today.year + 1, 12, 31)
    if g[3]:
        return today + timedelta(days={"tomorrow": 1}.get(g[3].lower(), 0))
    if g[4]:
        amount = parse_number(g[4]) or 1
        unit = g[5].lower().rstrip("s")
        return today + timedelta(days=amount * {"day": 1, "week": 7, "month": 30}[unit])
    if g[6]:
        ahead = (_WEEKDAYS.index(g[6].lower()) - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    day_s, month_s = (g[7], g[8]) if g[7] else (g[10], g[9])
    month = _MONTHS[month_s.lower()]
    day = min(int(day_s), calendar.monthrange(today.year, month)[1])
    target = date(today.year, month, day)
    return (
        target
        if target >= today
        else date(today.year + 1, month, min(day, calendar.monthrange(today.year + 1, month)[1]))
    )


def find_deadline(text: str, published: datetime | None) -> dict[str, str]:
    """`due` (ISO date, the last day it allows) and `due_text` ("next week") when a deadline is named.

    Without a publication time only `due_text` is given: nothing is resolved against a clock.
    """
    low = text.lower()
    if not any(word in low for word in _DEADLINE_WORDS):
        return {}
    if not any(odd in text for odd in _ODD_FOLDS) and not any(w in low for w in _DEADLINE_NEEDS):
        return {}
    m = _DEADLINE.search(text)
    if m is None:
        return {}
    out = {"due_text": m.group(0)}
    if published is not None:
        out["due"] = _resolve(m, published.date()).isoformat()
    return out


def attrs_for(topic: str, text: str, published: datetime | None) -> dict[str, Any]:
    """The attributes worth keeping for `topic`, read from the claim's stretch of text."""
    attrs: dict[str, Any] = {}
    if topic == "ceasefire":
        duration = find_duration(text)
        if duration:
            attrs["duration"] = duration
        form = _plain_form(text)
        if _search(_SCOPE_PARTIAL, text, form):
            attrs["scope"] = "partial"
        elif _search(_SCOPE_FULL, text, form):
            attrs["scope"] = "full"
        if _search(_UNCONDITIONAL, text, form):
            attrs["unconditional"] = True
    elif topic in ("prisoner_exchange", "bodies_return", "children_return", "humanitarian_aid"):
        count = (
            find_count(_DURATION.sub(" ", text) if _may_hold_duration(text) else text)
            if _NUMBER_GATE.may_match(_plain_form(text), 0, len(text))
            else None  # no number: no count (and no duration to blank out)
        )
        if count is not None:
            attrs["count"] = count
        if topic == "prisoner_exchange":
            categories = find_categories(text)
            if categories:
                attrs["categories"] = categories
    elif topic == "sanctions":
        attrs["direction"] = "lift" if _search(_LIFT, text, _plain_form(text)) else "impose"
    attrs.update(find_deadline(text, published))
    return attrs
