"""Steps 3-4: for each cue, decide whether it stands (negation, conditions, wishes), whose
position it is (reported speech, possessives, pronouns, "the two sides") and what it is about.

Everything here is a pure function of the post's text, its mentions, its cue and topic hits.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import NamedTuple

from monitor.claims.mentions import Mention
from monitor.claims.pack import CueRule, RulesPack, norm_alias
from monitor.claims.segment import Sentence

_BY_AGENT = re.compile(r"\s+(?:by|from|of)\s+(?:the\s+)?$", re.IGNORECASE)
_CONTROL = re.compile(r"^\W*(?:\w+\W+){0,3}(?:for|of)\s+(?:not\s+)?\w*$", re.IGNORECASE)
_OUTCOMES = ("agreement", "fulfilment")
_INFINITIVE_GAP = re.compile(r"\s+(?:\w+\s+)?to\s+$|\s*$", re.IGNORECASE)
_SCOPE_BREAK = re.compile(r"\b(?:and|but|or|while|then|as)\b|[,;:]", re.IGNORECASE)
_RELATIVE_CLAUSE = re.compile(r",\s+(?:which|whom)\s+", re.IGNORECASE)
_RELATIVE_OPEN = re.compile(r"(?:which|who|whose|where|when)\b", re.IGNORECASE)
_PUNCTUATION = re.compile(r"[,;:—–\"“”()]")
_TO_GAP = re.compile(r"\s+to\s+", re.IGNORECASE)
_FOR_BEFORE = re.compile(r"\bfor\s+(?:the\s+)?$", re.IGNORECASE)
_LED_BY = re.compile(r"\b(?:led|headed|chaired|run|co-chaired) by (?:the )?$", re.IGNORECASE)
# Who speaks for an actor named after "for"/"of": "A spokesman for Hamas said", "a spokesperson
# for the Ukrainian foreign ministry called for" (the name is an object of "for", yet the holder)
_SPEAKS_FOR = re.compile(
    r"\b(?:spokes(?:man|woman|person|people)|representatives?|envoys?|negotiators?|officials?"
    r"|advis[eo]rs?|ambassadors?|delegations?|delegates?|commanders?) (?:for|of|from) (?:the )?$",
    re.IGNORECASE,
)
_ADJECTIVES = frozenset(
    [
        "key",
        "main",
        "new",
        "latest",
        "initial",
        "final",
        "fresh",
        "previous",
        "earlier",
        "own",
        "repeated",
        "renewed",
        "formal",
        "written",
        "official",
        "draft",
        "revised",
        "original",
        "central",
        "core",
        "first",
        "second",
        "third",
        "long-standing",
        "longstanding",
    ]
)


class Cue(NamedTuple):
    """A cue found in the text (a NamedTuple: built on the hot path)."""

    start: int
    end: int
    rule: CueRule


class TopicHit(NamedTuple):
    """A topic named in the text (a NamedTuple: built on the hot path)."""

    start: int
    end: int
    topic: str
    strong: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class Context:
    """What the reading steps of one post share."""

    text: str
    pack: RulesPack
    sentences: tuple[Sentence, ...]
    mentions: tuple[Mention, ...]
    topics: tuple[TopicHit, ...]
    cues: tuple[Cue, ...]
    pair: tuple[str, ...]
    mention_starts: tuple[int, ...] = ()
    cue_starts: tuple[int, ...] = ()
    topic_starts: tuple[int, ...] = ()
    sentence_starts: tuple[int, ...] = ()
    conditions: dict[int, int] = field(
        default_factory=dict
    )  # sentence start -> first condition (-1: none)
    form: str | None = None  # the padded word form when plain (`keywords.padded_form`), else None
    window_ends: dict[tuple[int, int, int, int], int] = field(
        default_factory=dict
    )  # (cue start, id of its rule, clause) -> where its object ends (topics and counterpart ask)
    prices: dict[int, tuple[int, int, bool] | None] = field(
        default_factory=dict
    )  # sentence start -> its price condition (start, end, offer form) or None (`price_of`)

    def mentions_in(self, start: int, end: int) -> tuple[Mention, ...]:
        """Mentions that start in [start, end), in text order (a bisect: posts can be huge)."""
        return self.mentions[
            bisect_left(self.mention_starts, start) : bisect_left(self.mention_starts, end)
        ]

    def cues_in(self, start: int, end: int) -> tuple[Cue, ...]:
        """Cues that start in [start, end)."""
        return self.cues[bisect_left(self.cue_starts, start) : bisect_left(self.cue_starts, end)]

    def topics_in(self, start: int, end: int) -> tuple[TopicHit, ...]:
        """Topic hits that start in [start, end)."""
        return self.topics[
            bisect_left(self.topic_starts, start) : bisect_left(self.topic_starts, end)
        ]

    def sentences_before(self, sentence: Sentence, count: int) -> tuple[Sentence, ...]:
        """Up to `count` sentences just before `sentence`."""
        index = bisect_left(self.sentence_starts, sentence.start)
        return self.sentences[max(0, index - count) : index]


# A denial right before the owner: "Iran denied (that) it had agreed to a ceasefire", "dismissed
# reports that Hamas had accepted the plan", "denied Israeli media reports that it had accepted"
_DENIED_BEFORE = re.compile(
    r"\b(?:den(?:y|ies|ied|ying)|(?:dismiss|reject)(?:s|ed|ing)?(?: [\w'’-]+){0,3}? (?:reports|claims|suggestions))"
    r"(?:(?: [\w'’-]+){0,3}? (?:reports|claims|suggestions))?(?: that)?\s+$",
    re.IGNORECASE,
)


def is_negated(ctx: Context, cue: Cue, clause: tuple[int, int], owner: Mention | None) -> bool:
    """A negation among the few words before the cue (after its owner) undoes it, and so does a
    denial of what the owner did ("Iran denied it had agreed")."""
    if ctx.pack.markers.negation.search(_before(ctx, cue, clause, owner)) is not None:
        return True
    return (
        owner is not None
        and _DENIED_BEFORE.search(ctx.text, max(0, owner.start - 48), owner.start) is not None
    )


def is_refused(ctx: Context, cue: Cue, clause: tuple[int, int], owner: Mention | None) -> bool:
    """A negated will or intention before an outcome verb: "will not withdraw", "refuses to free"."""
    return ctx.pack.markers.refusal.search(_before(ctx, cue, clause, owner)) is not None


_COMMITTED = re.compile(r"\b(?:will|would|shall|won['’]t|wouldn['’]t)\b|['’]ll\b", re.IGNORECASE)


def follows_refusal(ctx: Context, cue: Cue, sentence: Sentence) -> bool:
    """The cue opens its clause and the clause before it refuses: "will not disarm | until a
    dialogue has produced results" (the price of the refusal), not "the truce runs | until May";
    or the cue follows "only" after a commitment still to come ("would sign only after ...")."""
    if ctx.text[cue.start : cue.start + 5].lower() == "only ":
        # "would sign the treaty only after ...", "will halt only once ...": a commitment still to
        # come before it in its sentence names its price
        return (
            _COMMITTED.search(ctx.text, max(sentence.start, cue.start - 120), cue.start) is not None
        )
    return refusal_before(ctx, cue, sentence) >= 0


def refusal_before(ctx: Context, cue: Cue, sentence: Sentence) -> int:
    """Where the refusal in the clause before the cue starts (`follows_refusal`), or -1."""
    previous = None
    for a, b in sentence.clauses:
        if a <= cue.start < b:
            if ctx.text[a : cue.start].strip():
                return -1
            break
        previous = (a, b)
    if previous is None:
        return -1
    start = max(previous[0], cue.start - 120)
    found = ctx.pack.markers.refusal.search(ctx.text[start : cue.start])
    return -1 if found is None else start + found.start()


def _before(ctx: Context, cue: Cue, clause: tuple[int, int], owner: Mention | None) -> str:
    """The last few words before a cue, after its owner, inside its clause."""
    start = max(clause[0], owner.end if owner else 0, cue.start - 50)
    window = ctx.text[start : cue.start]
    breaks = list(_SCOPE_BREAK.finditer(window))
    if breaks:  # "does not support the M23 and rejected ...": the "not" stays with "support"
        window = window[breaks[-1].end() :]
    return " ".join(window.split()[-6:])


_OPENING = re.compile(r"[\W_]*(?:(?:but|and|yet|so|even)\W+)?", re.IGNORECASE)
_NEXT_CONJUNCT = re.compile(r",\s+and\s+|;\s+", re.IGNORECASE)


def _closed_condition(ctx: Context, sentence: Sentence, condition: int, cue: Cue) -> bool:
    """A condition inside the sentence whose clause ends before the cue (", and", ";"): "said the
    deal could not work as long as troops remained, and called on the AU to verify ..." (one that
    opens the sentence governs all of it: "If Russia is serious, it will agree")."""
    opening = _OPENING.match(ctx.text, sentence.start, condition)
    if opening is not None and opening.end() == condition:
        return False
    return _NEXT_CONJUNCT.search(ctx.text, condition, cue.start) is not None


def is_hypothetical(
    ctx: Context, cue: Cue, sentence: Sentence, clause: tuple[int, int], kind: str
) -> bool:
    """A condition that opens the sentence or comes before the cue ("If Russia is serious, it will
    agree"), a condition after an agreement ("will release them if ..."), or a hedge before the
    cue in its clause ("hopes they will agree")."""
    condition = ctx.conditions.get(sentence.start)
    if condition is None:  # searched once per sentence, however many cues it holds
        markers = ctx.pack.markers
        found = markers.gates["conditional"].search(
            markers.conditional, ctx.text, ctx.form, sentence.start, sentence.end
        )
        condition = ctx.conditions[sentence.start] = -1 if found is None else found.start()
    if (
        condition >= 0
        and (condition < cue.start or kind in ("agreement", "fulfilment"))
        and not (condition < cue.start and _closed_condition(ctx, sentence, condition, cue))
    ):
        return True
    markers = ctx.pack.markers
    start = clause[0]
    if ", and" in ctx.text[start : cue.start]:  # "could not work ..., and called on": not across
        for conjunct in _NEXT_CONJUNCT.finditer(ctx.text, start, cue.start):
            start = conjunct.end()
    return (
        markers.gates["hedge"].search(markers.hedge, ctx.text, ctx.form, start, cue.start)
        is not None
    )


# A condition that names the price of a commitment: "would halt its offensive only once Armenia
# committed to a timetable", "would sign only after", "would not return to talks unless",
# "would sign, but not until". The offer forms ("only if", "provided that") keep the commitment
# as an offer (see extract._conditional_price); the others leave only the demand.
_PRICE = re.compile(
    r"\b(?:only\s+(?:[\w-]+\s+){0,6}?(?P<word>once|after|if|when|until)|not\s+until|unless"
    r"|provided\s+that|on\s+(?:the\s+)?condition\s+that)\b",
    re.IGNORECASE,
)
_PRICE_WORDS = ("only ", "unless", "not until", "provided that", "condition that")
# Before the price: a commitment still to come or refused, so the condition is one
_PRICE_SCOPE = re.compile(
    r"\b(?:will|would|shall|not|never|cannot)\b|n['’]t\b|['’]ll\b", re.IGNORECASE
)


def price_of(ctx: Context, sentence: Sentence) -> tuple[int, int, bool] | None:
    """The first price condition of a sentence whose part before it commits or refuses ("would",
    "will", "not"): (start, end, is an offer form). Searched once a sentence."""
    if sentence.start in ctx.prices:
        return ctx.prices[sentence.start]
    if -1 not in ctx.prices:  # key -1: whether the post holds a price word at all
        form = ctx.form if ctx.form is not None else ctx.text.lower()
        ctx.prices[-1] = (0, 0, False) if any(word in form for word in _PRICE_WORDS) else None
    found: tuple[int, int, bool] | None = None
    if ctx.prices[-1] is None:
        ctx.prices[sentence.start] = found
        return found
    low = ctx.text[sentence.start : sentence.end].lower()
    if any(word in low for word in _PRICE_WORDS):
        m = _PRICE.search(ctx.text, sentence.start, sentence.end)
        if m is not None and _PRICE_SCOPE.search(ctx.text, sentence.start, m.start()) is not None:
            word = m.group("word")
            offer = m.group().lower().startswith("provided") or (word or "").lower() == "if"
            # "would only take effect after ...": the condition starts at its word, after the verb
            found = (m.start("word") if word else m.start(), m.end(), offer)
    ctx.prices[sentence.start] = found
    return found


def is_irrealis(ctx: Context, cue: Cue, clause: tuple[int, int]) -> bool:
    """A wish or aim before an agreement or fulfilment ("under pressure to reach a deal")."""
    markers = ctx.pack.markers
    return (
        markers.gates["irrealis"].search(markers.irrealis, ctx.text, ctx.form, clause[0], cue.start)
        is not None
    )


# "the first aid to arrive since the truce", "the last hostages to be freed": done, not to come
_FIRST_TO = re.compile(
    r"\b(?:first|last|only|latest)\s+(?:[\w-]+\s+){0,3}?to\s+(?:be\s+|have\s+been\s+)?$",
    re.IGNORECASE,
)


def is_future(ctx: Context, cue: Cue, clause: tuple[int, int]) -> bool:
    """The verb is still to come: "will be exchanged", "to hand over", "would hand over" (not
    "the first aid to arrive since the truce": an infinitive after "first" or "last" tells what
    happened)."""
    start = max(clause[0], cue.start - 60)
    markers = ctx.pack.markers
    found = markers.gates["future_end"].search(
        markers.future_end, ctx.text, ctx.form, start, cue.start
    )
    if found is None:
        return _future_before_and(ctx, cue, clause)
    start = max(clause[0], cue.start - 50)
    low = ctx.text[start : cue.start].lower()
    if "first" not in low and "last" not in low and "only" not in low:  # ("latest" has "last")
        return True
    return _FIRST_TO.search(ctx.text, start, cue.start) is None


_AND_BEFORE = re.compile(r"\band\s+$", re.IGNORECASE)


def _future_before_and(ctx: Context, cue: Cue, clause: tuple[int, int]) -> bool:
    """The verb after "and" shares the tense of the outcome verb just before it: "would free 10
    hostages and return 18 bodies", "will hand over 1,000 prisoners and return 500 bodies"."""
    if _AND_BEFORE.search(ctx.text, max(clause[0], cue.start - 6), cue.start) is None:
        return False
    for other in reversed(ctx.cues_in(clause[0], cue.start)):
        if other.end <= cue.start and other.rule.future and other.rule.kind in _OUTCOMES:
            return is_future(ctx, other, clause)
    return False


_OWNING = frozenset({"his", "her", "its", "their", "our", "my"})


def is_noun_use(ctx: Context, cue: Cue) -> bool:  # noqa: PLR0911  (each test an early return)
    """The cue word is used as a noun: it follows a determiner or a possessive ("a key demand")."""
    if cue.rule.noun:
        return True
    for other in ctx.cues_in(cue.start - 40, cue.start):
        if (
            other.end <= cue.start
            and not ctx.text[other.end : cue.start].strip()
            and not (other.rule.noun and cue.rule.kind == "agreement")
        ):
            # "rejected calls for sanctions": a cue word right after another is its object (but
            # "the deal calls for ...": a verb after a noun cue is what the noun does)
            return True
    raw = ctx.text[max(0, cue.start - 30) : cue.start].split()
    words = [w.lower() for w in raw]
    dets = ctx.pack.markers.determiners
    if len(words) > 1 and words[-2] in dets:
        for m in ctx.mentions_in(cue.start - 30, cue.start):
            if (
                m.form in ("state_noun", "group_noun")
                and not m.possessive
                and m.end <= cue.start
                and not ctx.text[m.end : cue.start].strip()
            ):
                return False  # "the rebels rejected": a description of who acts, then its verb
    if not words:
        return False
    if words[-1] in dets or " ".join(words[-2:]) in dets:
        return True
    if len(words) > 1 and words[-2] in _OWNING and words[-1] in ctx.pack.markers.title_words:
        return False  # "his government wants", "their delegation rejected": a body, then its verb
    # "a key demand", but not "the U.S. rejected": the word between is no name
    if not (
        len(words) > 1
        and words[-2] in dets
        and raw[-1].replace("-", "").isalpha()
        and not raw[-1][:1].isupper()
    ):
        return False
    # nor "the truce came into effect", "the convoy reached": the word between names a topic, the
    # subject of a verb that cannot be a noun (a phrase or a past form: "the ceasefire offer" is one)
    verb = ctx.text[cue.start : cue.end]
    if " " not in verb and not verb.lower().endswith("ed"):
        return True
    last = ctx.text.rfind(raw[-1], 0, cue.start) + len(raw[-1])
    if any(c.end == last and c.rule.noun for c in ctx.cues_in(cue.start - 40, cue.start)):
        return False  # "the agreement provides for": a noun cue, the subject
    return not any(t.end == last for t in ctx.topics_in(cue.start - 40, cue.start))


# A title in the possessive after a name: "the US president's", "Israel's prime minister's"
_TITLE_OWNER = re.compile(
    r"(?:president|minister|government|administration|leader|leadership|side|delegation|office|"
    r"envoy|negotiators?|team|army|military)(?:'s|’s|s'|s’)",
    re.IGNORECASE,
)


def owner_of(ctx: Context, cue: Cue, clause: tuple[int, int]) -> Mention | None:
    """The explicit owner of a noun cue: "Kyiv's demand", "the Russian proposal", "a demand by Kyiv"."""
    after = ctx.text[cue.end : min(clause[1], cue.end + 12)]
    for m in ctx.mentions_in(cue.end, clause[1]):
        if m.code:
            gap = ctx.text[cue.end : m.start]
            if _BY_AGENT.fullmatch(gap) or (
                not gap.strip() and after.lstrip().lower().startswith(("by", "from"))
            ):
                return m
            break
    for m in reversed(ctx.mentions_in(clause[0], cue.start)):
        if m.end > cue.start:
            continue
        gap = ctx.text[m.end : cue.start]
        if len(gap.split()) > 3 or not m.code:
            return None
        if m.form == "pronoun" and cue.rule.kind in _OUTCOMES:
            return None  # "their normalisation agreement" names an agreement already made
        words = gap.split()
        if m.possessive and words and words[0] in ("'s", "’s", "'", "’"):
            words = words[1:]
        elif not m.possessive and words and _TITLE_OWNER.fullmatch(words[-1]):
            words = words[:-1]  # "the US president's proposal": the president speaks for the US
        adjectives_only = all(w.lower().strip("\"“”'‘’") in _ADJECTIVES for w in words)
        if adjectives_only and (m.possessive or m.form == "name") and not _is_venue(ctx, m, cue):
            return m
        return None
    return None


def _is_venue(ctx: Context, m: Mention, cue: Cue) -> bool:
    """A capital naming an agreement ("the Doha deal", "the Minsk agreements") says where it
    was made, not whose it is; "Kyiv's deal" still owns it."""
    return (
        cue.rule.kind == "agreement"
        and not m.possessive
        and not m.person
        and norm_alias(ctx.text[m.start : m.end]) in ctx.pack.places
    )


def subject_of(ctx: Context, cue: Cue, sentence: Sentence) -> Mention | None:
    """Who does the verb: the nearest actor before the cue in its sentence that is not an object.

    In a relative clause (", which Arab states have rejected") only names after "which" count."""
    since = sentence.start
    clauses = (  # the regex needs a comma: most stretches have none
        list(_RELATIVE_CLAUSE.finditer(ctx.text, sentence.start, cue.start))
        if ctx.text.find(",", sentence.start, cue.start) >= 0
        and "wh" in ctx.text[sentence.start : cue.start].lower()  # "which", "whom": no odd folds
        else []
    )
    relative = clauses[-1] if clauses else None
    if relative is not None and "," not in ctx.text[relative.end() : cue.start]:
        since = relative.end()  # still inside the relative clause
    for m in reversed(ctx.mentions_in(since, cue.start)):
        if not m.code or _in_relative_clause(ctx, m, cue, sentence):
            continue
        if (
            not m.obj
            or _CONTROL.match(ctx.text[m.end : cue.start])
            or _LED_BY.search(ctx.text, max(0, m.start - 16), m.start)
            or _SPEAKS_FOR.search(ctx.text, max(0, m.start - 32), m.start)
            or (
                _TO_GAP.fullmatch(ctx.text, m.end, cue.start) is not None
                and _FOR_BEFORE.search(ctx.text, max(0, m.start - 8), m.start) is not None
            )  # "the countdown for Hamas to release": who is to do it
        ):
            if m.possessive and m.form == "name" and not _speaks_for(ctx, m, cue):
                continue
            return m
    return None


def _speaks_for(ctx: Context, m: Mention, cue: Cue) -> bool:
    """ "China's commerce ministry urged": a possessive name followed by a body or office of
    government is who acts ("Ukraine's demand" is an owner, read elsewhere)."""
    words = ctx.text[m.end : cue.start].split()[1:5]
    return any(w.lower().strip(",.'’") in ctx.pack.markers.title_words for w in words)


def _in_relative_clause(ctx: Context, m: Mention, cue: Cue, sentence: Sentence) -> bool:
    """A name inside ", which chairs ASEAN this year," is not the subject of the verb after it."""
    comma = ctx.text.rfind(", ", sentence.start, m.start)
    if comma < 0 or "," not in ctx.text[m.end : cue.start]:
        return False
    return _RELATIVE_OPEN.match(ctx.text, comma + 2) is not None


def speaker_of(ctx: Context, cue: Cue, sentence: Sentence) -> Mention | None:  # noqa: PLR0912  (headline, before and after the verb)
    """Who says the sentence: the actor next to a reporting verb, nearest to the cue."""
    best: tuple[int, Mention] | None = None
    in_sentence = ctx.mentions_in(sentence.start, sentence.end)
    for m in in_sentence:  # a headline's "Qatar: both sides have agreed ..."
        if m.code and m.start < cue.start:
            if ctx.text[m.end : m.end + 1] == ":" and m.start - sentence.start < 40:
                best = (cue.start - m.start, m)
            break
    markers = ctx.pack.markers
    verbs = markers.gates["speech"].finditer(
        markers.speech, ctx.text, ctx.form, sentence.start, sentence.end
    )
    for verb in verbs:
        if verb.start() <= cue.start < verb.end() or (
            ctx.text[verb.start()].isupper() and _inside_name(in_sentence, verb.start())
        ):
            continue  # the cue itself; "States" in "the United States" says nothing
        for m in reversed(in_sentence):
            if m.end <= verb.start() and m.code:
                if m.start >= cue.end and not _PUNCTUATION.search(ctx.text, cue.end, verb.start()):
                    break  # "dismissed Pakistani claims": a name in the cue's object says nothing
                if len(ctx.text[m.end : verb.start()].split()) <= 6 and (
                    not m.obj or _SPEAKS_FOR.search(ctx.text, max(0, m.start - 32), m.start)
                ):
                    distance = abs(cue.start - verb.start())
                    if best is None or distance < best[0]:
                        best = (distance, m)
                break
        if verb.start() >= cue.end and not _PUNCTUATION.search(ctx.text, cue.end, verb.start()):
            continue  # "demanded clarity on the fighters that Paris says Ankara sent": its object
        for m in in_sentence:
            if m.start >= verb.end() and m.code:
                gap = ctx.text[verb.end() : m.start].split()
                if gap[:1] == ["that"]:
                    break  # "claims that their delegation agreed": what is said, not who says it
                if len(gap) <= 3 and verb.start() > cue.start:
                    distance = abs(cue.start - verb.start())
                    if best is None or distance < best[0]:
                        best = (distance, m)
                break
    return best[1] if best else None


def _inside_name(mentions: tuple[Mention, ...], position: int) -> bool:
    return any(m.start < position < m.end for m in mentions if m.form == "name")


def previous_subject(ctx: Context, sentence: Sentence) -> Mention | None:
    """The last actor named as a subject before this sentence (for sentences without one)."""
    earlier = ctx.sentences_before(sentence, 3)
    since = earlier[0].start if earlier else sentence.start
    for m in reversed(ctx.mentions_in(since, sentence.start)):
        if m.code and not m.obj:
            return m
    return None


def window_end(ctx: Context, cue: Cue, clause: tuple[int, int]) -> int:
    """Where a cue's object ends: at the next verb cue in the clause. A noun cue in between
    ("refusing to meet Ukraine's demand to cease fire") is part of the object.

    Computed once per cue and clause (the topic and the counterpart both ask)."""
    key = (cue.start, id(cue.rule), clause[0], clause[1])  # the rule: cues can share a start
    found = ctx.window_ends.get(key)
    if found is None:
        found = ctx.window_ends[key] = _window_end(ctx, cue, clause)
    return found


def _window_end(ctx: Context, cue: Cue, clause: tuple[int, int]) -> int:
    for other in ctx.cues_in(cue.end, clause[1]):
        if other.rule.agent != "speaker":
            if is_noun_use(ctx, other) or owner_of(ctx, other, clause) is not None:
                continue
            if cue.rule.kind not in _OUTCOMES and other.rule.kind in _OUTCOMES:
                continue  # "pressed him to accept the deal": the outcome is what is asked for
            if _INFINITIVE_GAP.match(ctx.text[cue.end : other.start]):
                continue  # "offered to send observers": the verb after "to" is the offer's content
            return other.start
    return clause[1]


def counterpart_of(ctx: Context, cue: Cue, actor: str, clause: tuple[int, int]) -> str:
    """Another actor named after the cue in its clause ("hand over ... to Ukraine"), or ""."""
    end = window_end(ctx, cue, clause)
    for m in ctx.mentions_in(cue.end, end):
        if m.code and m.code != actor and m.form == "name" and (m.obj or m.possessive):
            return m.code
    return ""


# "Ethiopia's army chief, Birhanu Jula, and the commander of the Tigrayan forces ... signed"
_JOINED_TITLE = re.compile(
    r",?\s*and\s+(?:the\s+)?(?:[\w-]+\s+){1,2}(?:of|for)\s+(?:the\s+)?", re.IGNORECASE
)


def coordinated(ctx: Context, subject: Mention) -> list[str]:
    """Actors joined to the subject by "and" just before it ("Russia and Ukraine agreed")."""
    codes = []
    current = subject
    for m in reversed(ctx.mentions_in(subject.start - 200, subject.start)):
        if m.end <= current.start and m.code:
            gap = ctx.text[m.end : current.start].strip().lower()
            if m.code != current.code and (
                gap in ("and", ",", "&")
                or _JOINED_TITLE.fullmatch(ctx.text, m.end, current.start) is not None
            ):
                codes.append(m.code)
                current = m
                continue
            if gap == "" or (m.code == current.code and len(gap.split()) <= 3):
                current = m
                continue
            break
    return codes
