"""Step 2: who is named where: actor names, pronouns and "the two sides", resolved to codes.

A mention knows whether it is an object (after a preposition or a verb such as "accused": then it
is not who acts), whether it is possessive ("Kyiv's demand"), and, for a pronoun, which actor it
points back to: the last named person for "he"/"she", else the last actor named as a subject.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Mapping
from typing import NamedTuple

from monitor.claims.pack import Markers, RulesPack, actor_on

_POSSESSIVE_PRONOUNS = frozenset({"its", "their", "his", "her", "our", "my", "whose"})
_OBJECT_PRONOUNS = frozenset({"him", "them", "us", "me"})
_EITHER_PRONOUNS = frozenset({"it", "her", "you"})  # subject or object: look at the word before
_GENERIC = {"state_noun": "state", "group_noun": "group"}
_STATE_KINDS = frozenset({"state", "observer", "group", "other"})
_BETWEEN = frozenset({"intra-", "inter-"})  # "intra-Afghan negotiations", "inter-Korean talks"
# Mentions are built with tuple.__new__ (positional, in field order): a NamedTuple's own __new__
# is a Python function, and with keywords it costs twice as much (a post makes dozens).
_new = tuple.__new__


class Mention(NamedTuple):
    """One mention of an actor. `code` is "" for a pronoun that points to nobody known.

    A NamedTuple, not a frozen dataclass: posts make dozens of these and they are built on the
    hot path (a frozen dataclass's __init__ costs several times more).
    """

    start: int
    end: int
    code: str
    form: str  # name, pronoun, group, who
    person: bool = False
    possessive: bool = False
    obj: bool = False


def _possessive_after(text: str, end: int) -> bool:
    nxt = text[end : end + 2]
    return nxt in ("'s", "’s") or (nxt[:1] in ("'", "’") and text[end - 1 : end] == "s")


_QUOTES = "\"“”‘’'()[]"


_PUNCTUATED = frozenset(",.;:!?—–")
_ARTICLES = frozenset(("the", "a", "an"))
_CACHE_LIMIT = 50_000  # words (and word pairs) remembered per pack; cleared when full

# What a word before a name says, by its spelling (the same for every post, so remembered):
_STOP = 0  # ends with punctuation: the search ends, no object
_PASS = 1  # an article, a title word or a capitalised word: look at the word before it
_OBJECT = 2  # a preposition or an object verb: an object
_OTHER = 3  # another word: an object only if it and the word before it are ("call on")


def _word_class(word: str, markers: Markers, cache: dict[str, int]) -> int:
    found = cache.get(word)
    if found is None:
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        bare = word.strip(_QUOTES)
        low = bare.lower()
        if word[-1] in _PUNCTUATED:
            found = _STOP
        elif low in _ARTICLES or low in markers.title_words or bare[:1].isupper():
            found = _PASS
        elif markers.object_word.fullmatch(bare):
            found = _OBJECT
        else:
            found = _OTHER
        cache[word] = found
    return found


def _of_object(before: str, markers: Markers) -> bool:
    """ "of the" after a lower-case word that is no title ("the sidelines of the", "hours of the")
    makes the name after it an object; after a title ("the leader(s) of the") it does not."""
    bare = before.strip(_QUOTES)
    low = bare.lower()
    return (
        bare[:1].islower()
        and bare[-1:].isalpha()
        and low not in markers.title_words
        and low.removesuffix("s") not in markers.title_words
    )


def is_object(text: str, start: int, pack: RulesPack) -> bool:
    """A name at `start` is an object when, past titles and capitalised words ("from Turkish
    President Recep Tayyip Erdogan"), the word before it is a preposition or a verb such as
    "accused"; punctuation or the start of the line ends the search.

    Each word's part in this is a pure function of its spelling and the pack, so it is
    remembered per pack (`Markers.word_cache`, bounded): the regex runs once per new word."""
    markers = pack.markers
    cache = markers.word_cache
    low = max(0, start - 64)  # a newline further back changes nothing: the window is 64 at most
    words = text[max(text.rfind("\n", low, start) + 1, low) : start].split()
    i = len(words) - 1
    while i >= 0:
        found = _word_class(words[i], markers, cache)
        if (
            found == _PASS
            and words[i] == "of"
            and 0 < i < len(words) - 1
            and words[i + 1].lower() in _ARTICLES
            and _of_object(words[i - 1], markers)
        ):
            found = (
                _OBJECT  # "on the sidelines of the UN General Assembly" ("Secretary of State X")
            )
        if found == _STOP:
            return False
        if found != _PASS:
            break
        i -= 1
    if i < 0:
        return False
    if found == _OBJECT:
        return True
    if i < 1:
        return False
    pair = f"{words[i - 1].strip(_QUOTES)} {words[i].strip(_QUOTES)}"
    known = markers.pair_cache.get(pair)
    if known is None:
        if len(markers.pair_cache) >= _CACHE_LIMIT:
            markers.pair_cache.clear()
        known = markers.pair_cache[pair] = markers.object_word.fullmatch(pair) is not None
    return known


def _pronoun_case(spelling: str) -> bool:
    return (
        spelling == "I" or spelling.islower() or (spelling[:1].isupper() and spelling[1:].islower())
    )


def raw_mentions(
    text: str, literal_hits: list[tuple[int, int, str, str]], pack: RulesPack, day: str = ""
) -> list[Mention]:
    """Name, pronoun and group mentions in text order (pronouns not yet resolved). `day` (the
    post's, ISO) picks the actor of a dated alias (`pack.actor_on`)."""
    found: list[Mention] = []
    exact_case = pack.exact_case
    dated = pack.dated
    last_object = -1  # where the last name that is an object ends
    for s, e, key, tags in literal_hits:
        spelling = text[s:e]
        if (
            text[e : e + 1] == ","
            and len(spelling) > 3
            and spelling.isupper()
            and (s == 0 or text[s - 1] == "\n")
        ):
            continue  # a dateline ("DOHA, July 19 -") says where the story was filed, not who acts
        if (text[e : e + 1] == "-" and text[e : e + 6].lower() == "-based") or (
            text[s - 1 : s] == "-" and text[max(0, s - 6) : s].lower() in _BETWEEN
        ):
            continue  # "a UK-based war monitor", "intra-Afghan talks": no actor who acts
        exact = exact_case.get(key)
        if "a" in tags and (
            exact is None or exact == "".join(ch for ch in spelling if ch.isalnum())
        ):
            if key in dated:
                named = actor_on(pack, key, day)
                if named is None:
                    continue  # a name that spoke for nobody in the post's time
                code, person = named
            else:
                code, person = pack.alias_info[key]
            obj = is_object(text, s, pack) or (
                # "called on the United States and Europe": a name joined to an object by
                # "and"/"or" is an object too (not after "by": "put forward by Qatar and Egypt")
                last_object >= 0
                and " ".join(text[last_object:s].lower().split()) in _AND_OR
                and not _after_by(text, found)
            )
            found.append(
                _new(Mention, (s, e, code, "name", person, _possessive_after(text, e), obj))
            )
            last_object = e if obj else -1
        elif "g" in tags:
            found.append(_new(Mention, (s, e, "", "group", False, False, is_object(text, s, pack))))
        elif "s" in tags or "r" in tags:  # "the government", "the rebels": resolved below
            form = "state_noun" if "s" in tags else "group_noun"
            found.append(
                _new(
                    Mention,
                    (s, e, "", form, False, _possessive_after(text, e), is_object(text, s, pack)),
                )
            )
        elif "p" in tags and _pronoun_case(spelling):
            found.append(
                _new(
                    Mention,
                    (
                        s,
                        e,
                        "",
                        "who" if key == "who" else "pronoun",
                        key in pack.markers.person_pronouns,
                        key in _POSSESSIVE_PRONOUNS,
                        key in _OBJECT_PRONOUNS
                        or (key in _EITHER_PRONOUNS and is_object(text, s, pack)),
                    ),
                )
            )
    return found


_AFTER_BY = re.compile(r"\bby\s+(?:the\s+)?$", re.IGNORECASE)
_AND_OR = frozenset({"and", "or", "and the", "or the"})


def _after_by(text: str, found: list[Mention]) -> bool:
    """The last name found follows "by" (a passive's agent: who acts)."""
    last = next(m for m in reversed(found) if m.form == "name")
    return _AFTER_BY.search(text, max(0, last.start - 8), last.start) is not None


def _only_named(mentions: list[Mention], kinds: Mapping[str, str]) -> dict[str, str]:
    """The one state and the one armed group a post names (not as objects), or ""."""
    named: dict[str, set[str]] = {"state": set(), "group": set()}
    for m in mentions:
        if m.form == "name" and not m.person and not m.obj:  # "in Doha" is no candidate
            named.get(kinds.get(m.code, ""), set()).add(m.code)
    return {
        form: next(iter(named[k])) if len(named[k]) == 1 else "" for form, k in _GENERIC.items()
    }


def main_pair(mentions: list[Mention], pack: RulesPack) -> tuple[str, ...]:
    """The post's two state or group actors most named as subjects: whom "the two sides" means."""
    counts: Counter[str] = Counter()
    first: dict[str, int] = {}
    actors = pack.actors
    for m in mentions:
        if m.form != "name" or m.obj:
            continue
        actor = actors.get(m.code)
        if actor is not None and actor.kind in _STATE_KINDS:
            counts[m.code] += 1
            first.setdefault(m.code, m.start)
    ranked = sorted(counts, key=lambda c: (-counts[c], first[c]))
    return tuple(sorted(ranked[:2]))


def _first_subject(
    mentions: list[Mention], starts: list[int], start: int, end: int, person: bool
) -> str:
    for m in mentions[bisect_left(starts, start) : bisect_left(starts, end)]:
        if m.code and not m.obj and (m.person or not person):
            return m.code
    return ""


def resolve(  # noqa: PLR0912  (one branch per form of mention)
    text: str,
    mentions: list[Mention],
    pair: tuple[str, ...],
    sentences: list[tuple[int, int]],
    kinds: Mapping[str, str] | None = None,
) -> list[Mention]:
    """Give each pronoun, "who" and group mention the code it points to ("" when unknown).

    A pronoun points to the nearest actor named before it in its sentence who is not an object
    (a person for "he"/"she"); failing that, to the subject (the first such actor) of the
    sentences before it, nearest first. "The government" is the one state the post names (not as
    an object), "the rebels" or "the group" the one armed group it names (`kinds`: code -> actor
    kind); with none or several, nobody.
    """
    only: dict[str, str] | None = None  # computed at the first "the government" or "the rebels"
    out: list[Mention] = []
    out_starts: list[int] = []
    previous: Mention | None = None
    bounds = sorted(sentences)
    index = 0
    for m in mentions:
        if m.form == "name":  # a name is itself (the sentence index below only moves forward)
            out.append(m)
            out_starts.append(m.start)
            previous = m
            continue
        while index + 1 < len(bounds) and bounds[index + 1][0] <= m.start:
            index += 1
        code = m.code
        if m.form == "group":
            code = pair[0] if len(pair) == 2 else ""  # "both sides" needs two known sides
        elif m.form in _GENERIC:
            if only is None:
                only = _only_named(mentions, kinds or {})
            code = only[m.form]
        elif m.form == "who":
            gap = text[previous.end : m.start] if previous else "x"
            code = previous.code if previous and gap.strip(" ,") == "" else ""
        elif m.form == "pronoun":
            code = ""
            sentence_start = bounds[index][0] if bounds else 0
            for earlier in reversed(out):
                if earlier.start < sentence_start:
                    break
                if earlier.code and not earlier.obj and (earlier.person or not m.person):
                    code = earlier.code
                    break
            for person_only in (True, False) if m.person else (False,):
                back = index - 1
                while not code and back >= 0 and back >= index - 3:
                    code = _first_subject(
                        out, out_starts, bounds[back][0], bounds[back][1], person_only
                    )
                    back -= 1
        person = previous.person if m.form == "who" and previous is not None and code else m.person
        resolved = (
            m
            if code == m.code
            else _new(Mention, (m.start, m.end, code, m.form, person, m.possessive, m.obj))
        )
        out.append(resolved)
        out_starts.append(resolved.start)
        previous = resolved
    return out
