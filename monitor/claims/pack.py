"""The rules pack: actors, people, topics and cue patterns read from YAML and compiled once.

`load_pack()` reads the packaged files in `monitor/claims/rules/`, then each `--rules DIR` (its
`actors.yaml`, `people.yaml`, `topics.yaml`, `patterns.yaml`, all optional), then each `--actors
FILE`. Later files extend earlier ones: an entry for a known actor code adds aliases, a known topic
gets more cues, cues and markers are appended. Every mistake raises `ConfigError` naming the file
and line. Everything is compiled here, so `extract()` does no set-up work.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from monitor.claims import pack_files
from monitor.claims.keywords import KeywordIndex, WordStartGate, literal_stems, word_form
from monitor.claims.pack_files import ActorEntry, CueRule, RawRules
from monitor.claims.segment import BreakIndex
from monitor.errors import ConfigError

__all__ = ["Actor", "CueRule", "Markers", "RulesPack", "load_pack"]

_RULE_FILES = ("actors.yaml", "people.yaml", "topics.yaml", "patterns.yaml")


@dataclass(frozen=True, kw_only=True, slots=True)
class Actor:
    """One actor: its code, display name and kind (state, observer, organisation, group, other)."""

    code: str
    name: str
    kind: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Markers:
    """Compiled marker patterns (see patterns.yaml `markers`)."""

    negation: re.Pattern[str]
    refusal: re.Pattern[str]
    conditional: re.Pattern[str]
    hedge: re.Pattern[str]
    irrealis: re.Pattern[str]
    future_end: re.Pattern[str]
    speech: re.Pattern[str]
    object_word: re.Pattern[str]
    title_words: frozenset[str]
    person_pronouns: frozenset[str]
    clause_break: re.Pattern[str]
    clause_break_index: BreakIndex | None  # the same breaks in an automaton (all ASCII literals)
    determiners: frozenset[str]
    container: re.Pattern[str]
    # For the markers searched in stretches of a post (each starts every match at a word start)
    gates: Mapping[str, WordStartGate] = field(default_factory=dict, compare=False, repr=False)
    # Pure functions of a word (or two) and these markers, remembered (bounded: mentions.py)
    word_cache: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    pair_cache: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class RulesPack:
    """Everything `extract()` needs, compiled: build it with `load_pack()`."""

    actors: Mapping[str, Actor]
    index: KeywordIndex
    alias_info: Mapping[str, tuple[str, bool]]  # normalised alias -> (code, is a person)
    exact_case: Mapping[str, str]  # normalised alias -> its only spelling (letters and digits)
    topics: tuple[str, ...]
    topic_of: tuple[tuple[str, bool], ...]  # topic pattern index -> (topic, strong)
    cue_rules: tuple[CueRule, ...]  # cue pattern index -> rule
    markers: Markers
    sources: tuple[str, ...]
    places: frozenset[str] = frozenset()  # normalised aliases that are capitals: venues too
    leaders: frozenset[str] = frozenset()  # normalised aliases of heads of state or government
    actor_kinds: Mapping[str, str] = field(default_factory=dict)  # code -> kind
    # aliases that name an actor only for a span of days (see `actor_on`), and of those the
    # actor each names outside its periods, where it has an undated entry too
    dated: Mapping[str, Dated] = field(default_factory=dict)
    undated: Mapping[str, tuple[str, bool]] = field(default_factory=dict)


def norm_alias(text: str) -> str:
    """How an alias and a matched name are compared: lower case words, non-word characters as
    single spaces ("U.S." and "U.S" are "u s"; "Kyiv's" starts with "kyiv")."""
    return " ".join(word_form(text).split())


def _alternation(sources: Iterable[str]) -> str:
    return "|".join(sources) or "(?!x)x"


def _words(sources: Iterable[str]) -> re.Pattern[str]:
    """Any of `sources` as whole words, any case. When every match must start with one of a few
    ASCII letters, a look-ahead at them goes first: the same matches, found faster."""
    body = _alternation(list(sources))
    stems = literal_stems(body)
    firsts = {stem[0] for stem in stems or ()}
    gate = ""
    if stems and all(c.isascii() and c.isalpha() for c in firsts):
        gate = f"(?=[{''.join(sorted(firsts))}])"
    return re.compile(rf"{gate}(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)


def _literals(phrases: list[str]) -> re.Pattern[str]:
    """Any of `phrases` (matched literally, any case), behind a look-ahead at their first letters:
    the same matches, found several times faster because most places fail at one character."""
    body = _alternation(re.escape(b) for b in phrases)
    if not phrases or not all(phrases):
        return re.compile(body, re.IGNORECASE)
    first = "".join(sorted({re.escape(b[0]) for b in phrases}))
    return re.compile(rf"(?=[{first}])(?:{body})", re.IGNORECASE)


def _break_index(phrases: list[str]) -> BreakIndex | None:
    """`_literals(phrases)` as an automaton over lower-cased text (see `segment.BreakIndex`).
    Only when every phrase is ASCII: IGNORECASE matches a few non-ASCII letters (the Kelvin
    sign, dotless i, long s) to ASCII ones, which lower() does not."""
    if not phrases or not all(phrases) or not all(p.isascii() for p in phrases):
        return None
    return BreakIndex(phrases)


Dated = tuple[tuple[str, bool, str, str], ...]
"""An alias's periods: (code, is a person, since, until), ISO days, "" when open."""


def _compile_actors(
    entries: list[ActorEntry],
) -> tuple[dict[str, Actor], dict[str, tuple[str, bool]], dict[str, str], dict[str, Dated]]:
    actors: dict[str, Actor] = {}
    info: dict[str, tuple[str, bool]] = {}
    exact: dict[str, str] = {}
    dated: dict[str, list[tuple[str, bool, str, str]]] = {}
    for entry in entries:
        known = actors.get(entry.code)
        actors[entry.code] = Actor(
            code=entry.code,
            name=entry.name or (known.name if known else entry.code),
            kind=entry.kind or (known.kind if known else "state"),
        )
        spans = [(a, p, "", "") for a, p in entry.aliases]
        spans += [(a, p, x.since, x.until) for x in entry.periods for a, p in x.aliases]
        for alias, person, since, until in spans:
            key = norm_alias(alias)
            if since or until:
                dated.setdefault(key, []).append((entry.code, person, since, until))
            else:
                info[key] = (entry.code, person)
            compact = "".join(ch for ch in alias if ch.isalnum())
            if compact.isupper() and len(compact) <= 3:
                exact[key] = compact
            else:
                exact.pop(key, None)
    for key, periods in dated.items():
        if key not in info:  # a post with no day: the latest period's actor (today's pack)
            latest = max(periods, key=lambda p: (p[3] or "9999-12-31", p[2]))
            info[key] = (latest[0], latest[1])
    return actors, info, exact, {key: tuple(periods) for key, periods in dated.items()}


def actor_on(pack: RulesPack, key: str, day: str) -> tuple[str, bool] | None:
    """Who the alias `key` names in a post of `day` (ISO; "" when unknown): the actor of a period
    holding that day, else its undated actor; None when it named nobody then (a period's alias
    with no undated entry, outside every period). Not for aliases outside `pack.alias_info`."""
    periods = pack.dated.get(key)
    if periods is None or not day:
        return pack.alias_info[key]
    for code, person, since, until in periods:
        if since <= day and (not until or day < until):
            return code, person
    return pack.undated.get(key)


# The markers searched in stretches of a post through a gate (see keywords.WordStartGate): it
# lets through 12% of the conditional's searches on the benchmark's posts, 64% of the hedge's,
# 41% of irrealis', 25% of the container's, 78% of the future's and 94% of the speech verbs'; where
# it does, the regex is tried only where a stem starts instead of at every character.
_GATED = ("conditional", "hedge", "irrealis", "container", "future_end", "speech")


def _compile_markers(m: Mapping[str, list[str]]) -> Markers:
    markers = _markers(m)
    gates = {name: WordStartGate(getattr(markers, name).pattern) for name in _GATED}
    return dataclasses.replace(markers, gates=gates)


def _markers(m: Mapping[str, list[str]]) -> Markers:
    preps = _alternation([*m["prepositions"], *m["object_verbs"]])
    return Markers(
        negation=_words(m["negation"]),
        refusal=_words(m["refusal"]),
        conditional=_words(m["conditional"]),
        hedge=_words(m["hedge"]),
        irrealis=_words(m["irrealis"]),
        future_end=re.compile(
            rf"(?<!\w)(?:{_alternation(m['future'])})\W+(?:\w+\W+){{0,2}}$", re.IGNORECASE
        ),
        speech=_words(m["speech"]),
        object_word=re.compile(rf"(?:{preps})", re.IGNORECASE),
        title_words=frozenset(w.lower() for t in m["titles"] for w in t.split()),
        person_pronouns=frozenset(p.lower() for p in m["pronouns_person"]),
        clause_break=_literals(m["clause_breaks"]),
        clause_break_index=_break_index(m["clause_breaks"]),
        container=_words(m["containers"]),
        determiners=frozenset(d.lower() for d in m["determiners"]),
    )


def _packaged_dir() -> Path:
    return Path(str(resources.files("monitor.claims") / "rules"))


def load_pack(
    actor_files: Iterable[Path | str] = (), rules_dirs: Iterable[Path | str] = ()
) -> RulesPack:
    """The packaged rules, extended by each rules directory and then each extra actor file.

    Raises `ConfigError` ("actors.yaml line 12: ...") for a missing file, bad YAML, an unknown key,
    a bad code, topic or kind, or a pattern that does not compile.
    """
    raw = RawRules()
    packaged = _packaged_dir()
    for name in _RULE_FILES:
        pack_files.read_rules_file(raw, packaged / name, name)
    for directory in rules_dirs:
        folder = Path(directory)
        if not folder.is_dir():
            raise ConfigError(f"{folder}: rules directory not found")
        present = [name for name in _RULE_FILES if (folder / name).is_file()]
        if not present:
            raise ConfigError(f"{folder}: holds none of {', '.join(_RULE_FILES)}")
        for name in present:
            pack_files.read_rules_file(raw, folder / name, str(folder / name))
    for file in actor_files:
        pack_files.read_actor_file(raw, Path(file), str(file), people=False)
    pack_files.check_cue_topics(raw)
    actors, info, exact, dated = _compile_actors(raw.actors)
    plain = {key: info[key] for key in dated if _has_undated(raw.actors, key)}
    topic_of = [(t, True) for t, (strong, _) in raw.topics.items() for _ in strong]
    topic_of += [(t, False) for t, (_, weak) in raw.topics.items() for _ in weak]
    topic_sources = [s for strong, _ in raw.topics.values() for s in strong]
    topic_sources += [s for _, weak in raw.topics.values() for s in weak]
    literals = dict.fromkeys(info, "a")
    for phrase in raw.markers["group"]:
        literals[norm_alias(phrase)] = literals.get(norm_alias(phrase), "") + "g"
    for phrase in raw.markers["state_nouns"]:
        literals[norm_alias(phrase)] = literals.get(norm_alias(phrase), "") + "s"
    for phrase in raw.markers["group_nouns"]:
        literals[norm_alias(phrase)] = literals.get(norm_alias(phrase), "") + "r"
    for word in [*raw.markers["pronouns_person"], *raw.markers["pronouns_any"]]:
        literals[norm_alias(word)] = literals.get(norm_alias(word), "") + "p"
    index = KeywordIndex(literals, [c.match for c in raw.cues], topic_sources)
    return RulesPack(
        actors=actors,
        index=index,
        alias_info=info,
        exact_case=exact,
        topics=tuple(raw.topics),
        topic_of=tuple(topic_of),
        cue_rules=tuple(raw.cues),
        markers=_compile_markers(raw.markers),
        sources=tuple(raw.sources),
        places=frozenset(norm_alias(p) for entry in raw.actors for p in entry.places),
        leaders=frozenset(
            norm_alias(p)
            for entry in raw.actors
            for p in (*entry.leaders, *(q for x in entry.periods for q in x.leaders))
        ),
        actor_kinds={code: actor.kind for code, actor in actors.items()},
        dated=dated,
        undated=plain,
    )


def _has_undated(entries: list[ActorEntry], key: str) -> bool:
    return any(norm_alias(alias) == key for entry in entries for alias, _ in entry.aliases)
