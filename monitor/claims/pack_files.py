"""Reading and checking the four kinds of rules file into one `RawRules` (before compiling)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from monitor.claims.model import KINDS
from monitor.claims.schema import (
    LineList,
    LineMap,
    check_code,
    check_keys,
    check_name,
    check_regex,
    fail,
    read_yaml,
    want_map,
    want_strings,
)

_ACTOR_KEYS = {"name", "kind", "demonyms", "capital", "aliases", "people", "leaders", "periods"}
_PERIOD_KEYS = {"since", "until", "aliases", "people", "leaders"}
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ACTOR_KINDS = {"state", "observer", "organisation", "group", "other"}
_TOPIC_KEYS = {"cues", "weak"}
_CUE_KEYS = {
    "kind",
    "rule",
    "match",
    "only_future",
    "complement",
    "condition",
    "agent",
    "topics",
    "future",
    "noun",
    "negation",
    "hypothetical",
    "after_refusal",
    "topic_after",
    "other_topic",
}
_AGENTS = {"subject", "speaker", "from"}
MARKERS = (
    "negation",
    "refusal",
    "conditional",
    "hedge",
    "irrealis",
    "future",
    "speech",
    "prepositions",
    "object_verbs",
    "group",
    "state_nouns",
    "group_nouns",
    "pronouns_person",
    "pronouns_any",
    "clause_breaks",
    "determiners",
    "titles",
    "containers",
)
_NO_PLURAL = ("ese", "sh", "ch", "ss", "s", "x", "z", "i")


@dataclass(frozen=True, kw_only=True, slots=True)
class ActorEntry:
    """One actor entry as read: its aliases are (text, is a person) pairs."""

    code: str
    name: str
    kind: str
    aliases: tuple[tuple[str, bool], ...]
    places: tuple[str, ...] = ()  # aliases that are also places (capitals): "the Doha deal"
    leaders: tuple[str, ...] = ()  # people who are heads of state or government: "would meet Putin"
    periods: tuple[Period, ...] = ()  # aliases that name this actor only between two days


@dataclass(frozen=True, kw_only=True, slots=True)
class Period:
    """Aliases that name an actor only in posts published from `since` (inclusive) until `until`
    (exclusive), both ISO days ("" when open): a negotiator who later joined a government."""

    since: str
    until: str
    aliases: tuple[tuple[str, bool], ...]
    leaders: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class CueRule:
    """One cue pattern of patterns.yaml (see the comments there for each field)."""

    kind: str
    rule: str
    match: str
    agent: str = "subject"
    topics: frozenset[str] | None = None
    future: str | None = None
    only_future: bool = False
    complement: bool = False
    condition: bool = False
    noun: bool = False
    keep_negated: bool = False
    negated_as_rejection: bool = False
    keep_hypothetical: bool = False
    after_refusal: bool = False
    topic_after: bool = False  # its topic is named after it, or there is none
    other_topic: bool = False  # an object that names no topic is the topic "other"
    where: str = ""


@dataclass(kw_only=True, slots=True)
class RawRules:
    """Rules as read from every file, in order, before compiling."""

    actors: list[ActorEntry] = field(default_factory=list)
    topics: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    cues: list[CueRule] = field(default_factory=list)
    markers: dict[str, list[str]] = field(default_factory=lambda: {m: [] for m in MARKERS})
    sources: list[str] = field(default_factory=list)


def read_rules_file(raw: RawRules, path: Path, label: str) -> None:
    """Read one file of a rules directory, by its name, into `raw`."""
    if path.name == "actors.yaml":
        read_actor_file(raw, path, label, people=False)
    elif path.name == "people.yaml":
        read_actor_file(raw, path, label, people=True)
    elif path.name == "topics.yaml":
        _read_topics(raw, path, label)
    else:
        _read_patterns(raw, path, label)


def _plurals(demonym: str) -> list[str]:
    if demonym.lower().endswith(_NO_PLURAL):
        return [demonym]
    return [demonym, demonym + "s"]


def read_actor_file(raw: RawRules, path: Path, label: str, *, people: bool) -> None:
    """Read an actors file of the spec's form (code: {name, aliases, ...}); `people` marks persons."""
    data = want_map(read_yaml(path, label), label, 1, "an actors file")
    raw.sources.append(label)
    for code, value in data.items():
        line = data.key_lines[code]
        check_code(code, label, line)
        if value is None:
            value = LineMap()  # noqa: PLW2901  ("UKR:" alone is an empty entry)
            value.line, value.key_lines = line, {}
        entry = want_map(value, label, line, f"actor {code}")
        check_keys(entry, _ACTOR_KEYS, label, f"actor {code}")
        name = entry.get("name")
        if name is not None and not isinstance(name, str):
            raise fail(label, entry.key_lines["name"], f"name of {code} must be text")
        kind = entry.get("kind")
        if kind is not None and kind not in _ACTOR_KINDS:
            raise fail(
                label,
                entry.key_lines["kind"],
                f"kind of {code} must be one of {sorted(_ACTOR_KINDS)}",
            )

        def strings(key: str, entry: LineMap = entry, code: str = code) -> list[str]:
            return want_strings(
                entry.get(key), label, entry.key_lines.get(key, entry.line), f"{key} of {code}"
            )

        aliases: list[tuple[str, bool]] = []
        if name:
            aliases.append((name, False))
        for demonym in strings("demonyms"):
            aliases += [(d, False) for d in _plurals(demonym)]
        aliases += [(c, False) for c in strings("capital")]
        aliases += [(a, people) for a in strings("aliases")]
        aliases += [(p, True) for p in strings("people")]
        aliases += [(p, True) for p in strings("leaders")]
        raw.actors.append(
            ActorEntry(
                code=code,
                name=name or "",
                kind=kind or "",
                aliases=tuple(aliases),
                places=tuple(strings("capital")),
                leaders=tuple(strings("leaders")),
                periods=_periods(entry, label, code, people=people),
            )
        )


def _periods(entry: LineMap, label: str, code: str, *, people: bool) -> tuple[Period, ...]:
    """An actor's `periods:` list: each item names people (and aliases) for a span of days."""
    value = entry.get("periods")
    if value is None:
        return ()
    line = entry.key_lines["periods"]
    if not isinstance(value, LineList):
        raise fail(label, line, f"periods of {code} must be a list of {{since, until, people}}")
    out: list[Period] = []
    for item, item_line in zip(value, value.item_lines, strict=True):
        period = want_map(item, label, item_line, f"a period of {code}")
        check_keys(period, _PERIOD_KEYS, label, f"a period of {code}")
        days: dict[str, str] = {}
        for key in ("since", "until"):
            day = period.get(key)
            if day is None:
                days[key] = ""
                continue
            where = period.key_lines[key]
            if not isinstance(day, str) or not _DAY.fullmatch(day):
                raise fail(label, where, f"{key} of a period of {code} must be a day: YYYY-MM-DD")
            try:
                date.fromisoformat(day)
            except ValueError:
                raise fail(
                    label, where, f"{key} of a period of {code}: no such day {day}"
                ) from None
            days[key] = day
        if not (days["since"] or days["until"]):
            raise fail(label, item_line, f"a period of {code} needs since, until or both")
        if days["since"] and days["until"] and days["since"] >= days["until"]:
            raise fail(label, item_line, f"a period of {code} must end after it starts")

        def strings(key: str, period: LineMap = period) -> list[str]:
            where = period.key_lines.get(key, period.line)
            return want_strings(period.get(key), label, where, f"{key} of a period of {code}")

        aliases = [(a, people) for a in strings("aliases")]
        aliases += [(p, True) for p in (*strings("people"), *strings("leaders"))]
        if not aliases:
            raise fail(label, item_line, f"a period of {code} names nobody")
        out.append(
            Period(
                since=days["since"],
                until=days["until"],
                aliases=tuple(aliases),
                leaders=tuple(strings("leaders")),
            )
        )
    return tuple(out)


def _read_topics(raw: RawRules, path: Path, label: str) -> None:
    data = want_map(read_yaml(path, label), label, 1, "a topics file")
    raw.sources.append(label)
    for topic, value in data.items():
        line = data.key_lines[topic]
        check_name(topic, label, line, "topic")
        entry = want_map(value, label, line, f"topic {topic}")
        check_keys(entry, _TOPIC_KEYS, label, f"topic {topic}")
        strong, weak = raw.topics.setdefault(topic, ([], []))
        for key, into in (("cues", strong), ("weak", weak)):
            cues = entry.get(key)
            items = want_strings(cues, label, entry.key_lines.get(key, line), f"{key} of {topic}")
            lines = getattr(cues, "item_lines", [entry.key_lines.get(key, line)] * len(items))
            for source, item_line in zip(items, lines, strict=True):
                check_regex(source, label, item_line)
                into.append(source)


def _flag(entry: LineMap, key: str, label: str, allowed: tuple[Any, ...]) -> Any:
    value = entry.get(key)
    if value is not None and value not in allowed:
        raise fail(
            label, entry.key_lines[key], f"{key} must be one of {list(allowed)}, not {value!r}"
        )
    return value


def _read_cue(value: Any, label: str, line: int) -> CueRule:
    entry = want_map(value, label, line, "a cue")
    check_keys(entry, _CUE_KEYS, label, "a cue")
    for key in ("kind", "rule", "match"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise fail(label, entry.key_lines.get(key, line), f"a cue needs {key!r} (text)")
    if entry["kind"] not in KINDS:
        raise fail(
            label,
            entry.key_lines["kind"],
            f"kind must be one of {list(KINDS)}, not {entry['kind']!r}",
        )
    check_regex(entry["match"], label, entry.key_lines["match"])
    topics = entry.get("topics")
    return CueRule(
        kind=entry["kind"],
        rule=entry["rule"].strip(),
        match=entry["match"],
        agent=_flag(entry, "agent", label, tuple(sorted(_AGENTS))) or "subject",
        topics=frozenset(want_strings(topics, label, entry.key_lines.get("topics", line), "topics"))
        if topics is not None
        else None,
        future=_flag(entry, "future", label, KINDS),
        only_future=bool(_flag(entry, "only_future", label, (True, False))),
        complement=bool(_flag(entry, "complement", label, (True, False))),
        condition=bool(_flag(entry, "condition", label, (True, False))),
        noun=bool(_flag(entry, "noun", label, (True, False))),
        keep_negated=_flag(entry, "negation", label, ("keep", "drop", "rejection")) == "keep",
        negated_as_rejection=entry.get("negation") == "rejection",
        keep_hypothetical=_flag(entry, "hypothetical", label, ("keep", "drop")) == "keep",
        after_refusal=bool(_flag(entry, "after_refusal", label, (True, False))),
        topic_after=bool(_flag(entry, "topic_after", label, (True, False))),
        other_topic=bool(_flag(entry, "other_topic", label, (True, False))),
        where=f"{label} line {line}",
    )


def _read_patterns(raw: RawRules, path: Path, label: str) -> None:
    data = want_map(read_yaml(path, label), label, 1, "a patterns file")
    raw.sources.append(label)
    check_keys(data, {"cues", "markers"}, label, "a patterns file")
    cues = data.get("cues")
    if cues is not None:
        if not isinstance(cues, LineList):
            raise fail(label, data.key_lines["cues"], "cues must be a list")
        for item, line in zip(cues, cues.item_lines, strict=True):
            raw.cues.append(_read_cue(item, label, line))
    markers = data.get("markers")
    if markers is not None:
        markers = want_map(markers, label, data.key_lines["markers"], "markers")
        check_keys(markers, set(MARKERS), label, "markers")
        for key, value in markers.items():
            items = want_strings(
                value,
                label,
                markers.key_lines[key],
                f"markers {key}",
                strip=key != "clause_breaks",  # their spaces say where words end
            )
            lines = getattr(value, "item_lines", [markers.key_lines[key]] * len(items))
            for source, item_line in zip(items, lines, strict=True):
                if key != "clause_breaks":
                    check_regex(source, label, item_line)
            raw.markers[key].extend(items)


def check_cue_topics(raw: RawRules) -> None:
    """Every topic a cue names must exist once all files are read."""
    for cue in raw.cues:
        for topic in sorted(cue.topics or ()):
            if topic not in raw.topics:
                raise fail(
                    cue.where.split(" line ")[0],
                    int(cue.where.rsplit(" ", 1)[1]),
                    f"unknown topic {topic!r}",
                )
        if cue.kind not in KINDS:  # pragma: no cover - checked on reading
            raise fail(cue.where, 0, "bad kind")
