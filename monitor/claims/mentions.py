"""Step 2: who is named where: actor names, pronouns and "the two sides", resolved to codes.

A mention knows whether it is an object (after a preposition or a verb such as "accused": then it
is not who acts), whether it is possessive ("Kyiv's demand"), and, for a pronoun, which actor it
points back to: the last named person for "he"/"she", else the last actor named as a subject.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from monitor.claims.pack import RulesPack

_POSSESSIVE_PRONOUNS = frozenset({"its", "their", "his", "her", "our", "my", "whose"})
_STATE_KINDS = frozenset({"state", "observer", "group", "other"})


@dataclass(frozen=True, kw_only=True, slots=True)
class Mention:
    """One mention of an actor. `code` is "" for a pronoun that points to nobody known."""

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


def _is_object(text: str, start: int, pack: RulesPack) -> bool:
    return pack.markers.object_end.search(text, max(0, start - 90), start) is not None


def raw_mentions(text: str, alias_hits: list[tuple[int, int, str]], pack: RulesPack) -> list[Mention]:
    """Name, pronoun and group mentions in text order (pronouns not yet resolved)."""
    found: list[Mention] = []
    taken: list[tuple[int, int]] = []
    for s, e, key in alias_hits:
        spelling = pack.exact_case.get(key)
        if spelling is not None and text[s:e] != spelling:
            continue
        code, person = pack.alias_info[key]
        found.append(
            Mention(
                start=s,
                end=e,
                code=code,
                form="name",
                person=person,
                possessive=_possessive_after(text, e),
                obj=_is_object(text, s, pack),
            )
        )
        taken.append((s, e))
    for m in pack.markers.group.finditer(text):
        found.append(Mention(start=m.start(), end=m.end(), code="", form="group", obj=_is_object(text, m.start(), pack)))
    for m in pack.markers.pronoun.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        word = m.group().lower()
        found.append(
            Mention(
                start=m.start(),
                end=m.end(),
                code="",
                form="who" if word == "who" else "pronoun",
                person=word in pack.markers.person_pronouns,
                possessive=word in _POSSESSIVE_PRONOUNS,
                obj=word in ("him", "them", "us") or _is_object(text, m.start(), pack),
            )
        )
    found.sort(key=lambda x: (x.start, -x.end))
    return found


def main_pair(mentions: list[Mention], pack: RulesPack) -> tuple[str, ...]:
    """The post's two most named state or group actors: whom "the two sides" means."""
    counts: Counter[str] = Counter()
    first: dict[str, int] = {}
    for m in mentions:
        actor = pack.actors.get(m.code)
        if m.form == "name" and actor is not None and actor.kind in _STATE_KINDS:
            counts[m.code] += 1
            first.setdefault(m.code, m.start)
    ranked = sorted(counts, key=lambda c: (-counts[c], first[c]))
    return tuple(sorted(ranked[:2]))


def resolve(text: str, mentions: list[Mention], pair: tuple[str, ...]) -> list[Mention]:
    """Give each pronoun, "who" and group mention the code it points to ("" when unknown)."""
    out: list[Mention] = []
    last_subject = ""
    last_subject_person = ""
    last_person = ""
    previous: Mention | None = None
    for m in mentions:
        code = m.code
        if m.form == "group":
            code = pair[0] if pair else ""
        elif m.form == "who":
            gap = text[previous.end : m.start] if previous else "x"
            code = previous.code if previous and gap.strip(" ,") == "" else ""
        elif m.form == "pronoun":
            code = (last_subject_person or last_person or last_subject) if m.person else last_subject
        resolved = m if code == m.code else Mention(
            start=m.start,
            end=m.end,
            code=code,
            form=m.form,
            person=m.person,
            possessive=m.possessive,
            obj=m.obj,
        )
        out.append(resolved)
        if code and not m.obj:
            last_subject = code
            if m.person:
                last_subject_person = code
        if code and m.person and m.form == "name":
            last_person = code
        previous = resolved
    return out
