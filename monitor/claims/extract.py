"""The extraction pipeline: a post's text to claims, as a list of small pure steps.

    text --scan--> alias, cue and topic hits (one automaton)      keywords.py
         --split--> sentences and clauses                         segment.py
         --name--> mentions, pronouns and "the two sides" resolved mentions.py
         --read--> for each cue: does it stand (reading.py), whose is it (holders.py)
         --topic--> what it is about                                  topics.py
         --attrs--> counts, durations, categories, deadlines       attrs.py
         --merge--> one claim per (kind, actor, topic) in the post  (here)

`extract()` is pure and deterministic: the only time it uses is the post's own `published`.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from itertools import pairwise
from typing import Any

from monitor.claims import attrs as attributes
from monitor.claims.holders import (
    firm_future,
    holder_of,
    is_asked_for,
    is_complement,
    is_other_half,
    parties_of,
)
from monitor.claims.keywords import padded_form
from monitor.claims.mentions import Mention, main_pair, raw_mentions, resolve
from monitor.claims.model import Claim, ClaimKind
from monitor.claims.pack import CueRule, RulesPack, norm_alias
from monitor.claims.reading import (
    Context,
    Cue,
    TopicHit,
    counterpart_of,
    follows_refusal,
    is_future,
    is_hypothetical,
    is_irrealis,
    is_negated,
    is_refused,
    price_of,
    window_end,
)
from monitor.claims.segment import Sentence, clause_of, split_sentences
from monitor.claims.topics import more_of, topics_of
from monitor.posts import Post

_OUTCOMES = ("agreement", "fulfilment")
_new = tuple.__new__
INFERRED = (
    "/actor-inferred"  # rule suffix: nobody was named, the post's two main actors were assumed
)
_PLACE = re.compile(r"\b(?:in|at)\s+((?-i:[A-Z][\w'’-]+)(?:\s+(?:or|and)\s+(?-i:[A-Z][\w'’-]+))?)")

_PLACE_JOIN = re.compile(r"\s+(?:or|and)\s+")

_MEETING = re.compile(
    r"(?=[mst])\b(?:meet(?:ing|s)?|summit|talks)\s+(?:between|with|of)\s+", re.IGNORECASE
)


# What a _MEETING match looks like in a plain text's padded word form (see
# keywords.padded_form): the regex runs only where the form holds one (most posts have none).
_MEETING_FORM = re.compile(r" (?:meet(?:ing|s)?|summit|talks) +(?:between|with|of) ")
_MEETING_WORDS = (" meet", " summit", " talks")  # one of them first: a substring test is cheaper


def people_meetings(text: str, mentions: list[Mention], form: str | None = None) -> list[TopicHit]:
    """A meeting "between Zelensky and Putin": two named people of different actors make a
    leaders' meeting even without the words "leaders" or "presidents". `form`: the text's padded
    word form when it is plain, to skip the regex where it cannot match."""
    hits: list[TopicHit] = []
    if form is not None and (
        not any(word in form for word in _MEETING_WORDS) or _MEETING_FORM.search(form) is None
    ):
        return hits
    starts = [x.start for x in mentions]
    for m in _MEETING.finditer(text):
        near = mentions[bisect_left(starts, m.end()) : bisect_left(starts, m.end() + 80)]
        people = [x for x in near if x.person and x.form == "name"]
        if len({x.code for x in people}) >= 2:
            hits.append(
                TopicHit(m.start(), max(x.end for x in people[:2]), "leaders_meeting", True)
            )
    return hits


# One person met, invited or to be met ("would meet Zelenskyy", "a meeting with Putin", "invited
# Trump to Moscow"), by a person of another actor named before: a leaders' meeting too. ("talks
# with" one person are not: an envoy's talks with a president are talks.)
_MEET_ONE = re.compile(
    r"(?=[mi])\b(?:meet(?:ing|s)?|met|invit(?:e|es|ed|ing))\s+(?:with\s+)?", re.IGNORECASE
)
_MEET_ONE_WORDS = (" meet", " met ", " invit")
# Titles and first names between the verb and the person: "with Russian President Vladimir Putin"
_BEFORE_NAME = re.compile(r"(?:(?:[A-Z][\w.’'-]*|of|the)\s+){0,4}")
# Two people joined before a meeting word: "Zelensky and Putin meet", "a Putin-Zelensky meeting"
_PAIR_JOIN = re.compile(r"\s*(?:-|–|and)\s*")
_PAIR_MEET = re.compile(
    r"[\s'’s]*(?:(?:are|were|is|was)\s+)?(?:(?:set|due|expected|scheduled|going|planning|likely|ready)\s+)?"
    r"(?:(?:to|would|will|could|should|can|must)\s+)?(?:meet(?:ing|s)?|met|summit|talks)\b",
    re.IGNORECASE,
)


def person_meetings(
    text: str, mentions: list[Mention], form: str, leaders: frozenset[str]
) -> list[TopicHit]:
    """Leaders' meetings named by one person met or invited ("he would meet Zelenskyy", "calling
    for a meeting with Putin", "Putin invited Trump to Moscow": the person named before, of
    another actor, is the other side), or by two people joined before a meeting word ("proposed
    that Zelensky and Putin meet", "a Putin-Zelensky meeting"). Both must be leaders (heads of
    state or government: `leaders`, normalised aliases): "He Lifeng would meet Bessent" is talks.
    `form`: the text's padded word form (`keywords.padded_form`: one character longer at the
    start, the same offsets after it)."""
    hits: list[TopicHit] = []
    named = [x for x in mentions if x.person and x.form == "name"]
    if len(named) < 2:
        return hits  # a meeting needs two leaders named
    starts_one = sorted(
        i for word in _MEET_ONE_WORDS for i in _finds(form, word)
    )  # where "meet", "met", "invit..." start (form index i + 1 is text index i)
    if not starts_one and " summit" not in form and " talks" not in form:
        return hits  # no word that could make a meeting of them
    people = [x for x in named if norm_alias(text[x.start : x.end]) in leaders]
    if len(people) < 2:
        return hits
    starts = [x.start for x in people]
    for at in starts_one:
        m = _MEET_ONE.match(text, at)
        if m is None:
            continue
        k = bisect_left(starts, m.end())
        if k == 0 or k == len(people):
            continue
        met, before = people[k], people[k - 1]
        if met.code == before.code or met.possessive or met.start - m.end() > 40:
            continue  # ("would meet Trump's envoy Witkoff": the envoy is met)
        gap = _BEFORE_NAME.match(text, m.end(), met.start)
        if gap is None or gap.end() != met.start:
            continue
        hits.append(TopicHit(m.start(), met.end, "leaders_meeting", True))
    for a, b in pairwise(people):
        if a.code == b.code or b.possessive or b.start - a.end > 7:
            continue  # ("Trump and Putin's envoys met")
        join = _PAIR_JOIN.match(text, a.end, b.start)
        if join is None or join.end() != b.start:
            continue
        word = _PAIR_MEET.match(text, b.end)
        if word is not None:
            hits.append(TopicHit(a.start, word.end(), "leaders_meeting", True))
    return hits


def _finds(form: str, word: str) -> list[int]:
    """Every place `word` (" meet") occurs in `form`."""
    found = []
    at = form.find(word)
    while at >= 0:
        found.append(at)
        at = form.find(word, at + 1)
    return found


_QUANTIFIERS = frozenset(["any", "no", "every", "each", "another", "further", "more"])
_PEOPLE_RETURNED = frozenset(["prisoner_exchange", "bodies_return", "children_return"])


def _things_named(
    text: str,
    mentions: list[Mention],
    cues: tuple[Cue, ...],
    topics: tuple[TopicHit, ...],
    pack: RulesPack,
) -> list[Mention]:
    """Names that only describe a thing named right after them are not who acts (marked as
    objects): a capital before a deal or talks ("Under the Minsk agreement", "the Doha talks"),
    a demonym after a quantifier before a topic ("had not received any Russian memorandum"), a
    name before the people exchanged or returned ("Ukrainian prisoners arrived home")."""
    topic_starts = [t.start for t in topics]
    cue_starts = [c.start for c in cues]
    out = mentions
    for i, m in enumerate(mentions):
        if m.form != "name" or m.obj or m.person or m.possessive or text[m.end : m.end + 1] != " ":
            continue
        nxt = m.end + 1
        k = bisect_left(topic_starts, nxt)
        topic = topics[k] if k < len(topics) and topic_starts[k] == nxt else None
        if topic is None:
            k = bisect_left(cue_starts, nxt)
            if not (k < len(cues) and cue_starts[k] == nxt and cues[k].rule.noun):
                continue
        # "Ukrainian prisoners were freed": whose people they are, not who frees them
        people = topic is not None and topic.strong and topic.topic in _PEOPLE_RETURNED
        place = norm_alias(text[m.start : m.end]) in pack.places
        before = text[max(0, m.start - 12) : m.start].split()[-1:]
        quantified = (
            topic is not None
            and topic.strong
            and bool(before)
            and before[0].lower() in _QUANTIFIERS
        )
        if place or quantified or people:
            if out is mentions:
                out = list(mentions)
            out[i] = m._replace(obj=True)
    return out


_MAY_MEET = re.compile(r"meet|invit", re.IGNORECASE)


def build_context(post: Post, pack: RulesPack) -> Context | None:
    """Scan, split and name: everything the per-cue reading needs, or None when no cue is present."""
    text = post.text()
    padded, plain = padded_form(text)
    alias_hits, cue_hits, topic_hits = pack.index.scan_form(text, padded)
    rules = pack.cue_rules
    if not cue_hits or (
        not topic_hits
        and not _MAY_MEET.search(text)  # ("invited Putin to Istanbul": a leaders' meeting, below)
        and not any(rules[i].other_topic for _, _, i in cue_hits)
    ):  # a claim needs a cue and a topic (or a cue whose object can be the topic "other")
        return None
    # The hot-path records are built with tuple.__new__ (positional, in field order): a
    # NamedTuple's own __new__ is a Python function, and with keywords it costs twice as much.
    topic_of = pack.topic_of
    topics = tuple([_new(TopicHit, (s, e, *topic_of[i])) for s, e, i in topic_hits])
    topic_starts = [t.start for t in topics]
    cues = tuple(
        [
            _new(Cue, (s, e, rules[i]))
            for s, e, i in cue_hits
            if not any(
                t.start < s
                and e <= t.end  # a cue word ending a topic phrase ("peace agreement") is its noun
                for t in topics[
                    bisect_left(topic_starts, s - 80) : bisect_left(topic_starts, s + 1)
                ]
            )
        ]
    )
    day = post.published.date().isoformat() if post.published and pack.dated else ""
    mentions = raw_mentions(text, alias_hits, pack, day)
    meetings = people_meetings(text, mentions, padded if plain else None)
    met = person_meetings(text, mentions, padded, pack.leaders) if pack.leaders else None
    if met:
        meetings = sorted([*meetings, *met], key=lambda t: t.start)
    if meetings:
        kept = [t for t in topics if not any(m.start <= t.start < m.end for m in meetings)]
        topics = tuple(sorted([*kept, *meetings], key=lambda t: t.start))
    if not topics and not any(c.rule.other_topic for c in cues):  # every claim needs a topic
        return None
    mentions = _things_named(text, mentions, cues, topics, pack)
    pair = main_pair(mentions, pack)
    sentences = tuple(
        split_sentences(text, pack.markers.clause_break, pack.markers.clause_break_index, plain)
    )
    resolved = tuple(
        resolve(text, mentions, pair, [(s.start, s.end) for s in sentences], pack.actor_kinds)
    )
    return Context(
        text=text,
        pack=pack,
        sentences=sentences,
        mentions=resolved,
        topics=topics,
        cues=cues,
        pair=pair,
        mention_starts=tuple(m.start for m in resolved),
        cue_starts=tuple(c.start for c in cues),
        topic_starts=tuple(t.start for t in topics),
        sentence_starts=tuple(s.start for s in sentences),
        form=padded if plain else None,
    )


def _extra_attrs(  # noqa: PLR0917  (a private helper of read_cue, called once)
    ctx: Context,
    topic: TopicHit,
    sentence: Sentence,
    clause: tuple[int, int],
    actor: str,
    counterpart: str,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if topic.topic == "peace_terms":
        out["document"] = ctx.text[topic.start : topic.end].lower()
    elif topic.topic in ("leaders_meeting", "talks"):
        people = sorted(
            {m.code for m in ctx.mentions_in(clause[0], clause[1]) if m.person and m.form == "name"}
        )
        if people:
            out["participants"] = people
        place = _PLACE.search(ctx.text, topic.start, sentence.end)
        if place:
            out["place"] = [p.strip() for p in _PLACE_JOIN.split(place.group(1))]
    elif topic.topic == "mediation":
        out["mediator"] = counterpart or actor
    return out


# A condition after a commitment that names the price ("would stop its attacks if Israel ended
# its strikes", "will stop firing only for as long as Israel does"): an offer, not an agreement.
_NEXT_CONJUNCT = re.compile(r",\s+and\s+|;\s+", re.IGNORECASE)
_OFFER_IF = re.compile(r"(?:only )?(?:if|provided|so long as|as long as)\b", re.IGNORECASE)
# A price named after a commitment still to come ("would sign the treaty only after Armenia
# removed the claims", "will halt the offensive only once ..."): the commitment waits on it.
_ONLY_AFTER = re.compile(r"\bonly (?:[\w-]+ ){0,4}?(?:after|once|when)\b", re.IGNORECASE)


def _conditional_price(
    ctx: Context, cue: Cue, sentence: Sentence, clause: tuple[int, int], rule_name: str
) -> str | None:
    """A future outcome verb ("would stop", "will release") whose only doubt is a condition after
    it in its sentence, of the kind that names a price ("if", "as long as"; not "unless" or
    "whether"), with no hedge before it: the holder offers it on that condition ("offer") when
    the condition's subject is someone named (the price is what they do; "would sign if the last
    points could be settled" is a forecast), or, negated, refuses it until then ("refusal":
    "would not return to talks as long as it is attacked", read on as a negated cue). None:
    hypothetical, no claim."""
    if not rule_name.endswith("-future") and not (
        cue.rule.kind == "agreement" and is_future(ctx, cue, clause)
    ):
        return None  # ("would only agree to a ceasefire if ...": an agreement still to come too)
    condition = ctx.conditions.get(sentence.start, -1)
    price = _OFFER_IF.match(ctx.text, condition) if condition >= cue.end else None
    if price is None:
        return None
    markers = ctx.pack.markers
    if markers.gates["hedge"].search(markers.hedge, ctx.text, ctx.form, clause[0], cue.start):
        return None
    if is_negated(ctx, cue, clause, None):
        return "refusal"
    payer = ctx.mentions_in(price.end(), min(price.end() + 40, sentence.end))
    if not (payer and payer[0].code and payer[0].form != "pronoun"):
        return None  # "would sign if the last points could be settled": no price, a forecast
    return "offer"


# The demand a price condition names ("only once Armenia committed to a timetable for
# withdrawal"): read like a cue at the condition, its topic named after it
_PRICE_RULE = CueRule(kind="demand", rule="on-condition", match="", topic_after=True)


def _price_demands(  # noqa: PLR0917  (a private helper of read_cue, called once)
    ctx: Context,
    cue: Cue,
    kind: str,
    sentence: Sentence,
    clause: tuple[int, int],
    price: tuple[int, int, bool],
    post: Post,
    claimed: list[TopicHit] | None,
) -> list[Claim]:
    """A commitment's price is its holder's demand: "Azerbaijan would halt its offensive only once
    Armenia committed to a timetable for withdrawing its forces" demands the withdrawal."""
    holder, unowned = holder_of(ctx, cue, kind, sentence, clause)
    if unowned or holder is None or not holder.code:
        return []
    at = _new(Cue, (price[0], price[1], _PRICE_RULE))
    inside = (price[0], clause_of(sentence, max(price[0], price[1] - 1))[1])
    topics = topics_of(ctx, at, sentence, inside)
    if claimed is not None:
        claimed.extend(topics)
    counterpart = counterpart_of(ctx, at, holder.code, inside) if topics else ""
    return _make_claims(
        ctx, post, at, sentence, inside, "demand", holder.code, (), topics, counterpart,
        _PRICE_RULE.rule,
    )  # fmt: skip


def _priced(  # noqa: PLR0911, PLR0917  (a private helper of read_cue, called once)
    ctx: Context,
    cue: Cue,
    kind: str,
    rule_name: str,
    sentence: Sentence,
    clause: tuple[int, int],
    post: Post,
    claimed: list[TopicHit] | None,
) -> tuple[str, list[Claim]]:
    """How a price condition in the sentence changes an outcome cue: "" (none), "inside" (the cue
    is the condition's content: no claim), "drop" (a commitment on that condition: only the
    demand), "offer" or "refuse" (read on as an offer or a refusal, plus the demand)."""
    price = price_of(ctx, sentence)
    if price is None:
        return "", []
    if price[1] <= cue.start:
        if _NEXT_CONJUNCT.search(ctx.text, price[1], cue.start) is None:
            return "inside", []  # "only once Armenia committed to ...": what is asked for
        return "", []
    if cue.end > price[0] or _NEXT_CONJUNCT.search(ctx.text, cue.end, price[0]) is not None:
        return "", []
    negated = is_negated(ctx, cue, clause, None)
    still_to_come = (
        rule_name.endswith("-future")
        or cue.rule.only_future
        or (kind == "agreement" and is_future(ctx, cue, clause))
    )
    if not (negated or still_to_come):
        return "", []
    demands = _price_demands(ctx, cue, kind, sentence, clause, price, post, claimed)
    if negated:
        return "refuse", demands
    return ("offer" if price[2] else "drop"), demands


# What an object cannot open with to stand for a topic of its own: a pronoun or a word that
# points back ("rejected it", "rejected that idea": about something named before), or a word
# that opens no object ("rejected as unacceptable", "rejected by Kyiv", "refused to sign")
_POINTING = frozenset(
    [
        "it",
        "this",
        "that",
        "these",
        "those",
        "them",
        "such",
        "him",
        "her",
        "us",
        "me",
        "any",
        "its",
        "to",
        "as",
        "by",
        "in",
        "on",
        "at",
        "with",
        "from",
        "after",
        "before",
        "because",
        "since",
        "when",
        "while",
        "and",
        "but",
        "or",
        "so",
        "outright",
        "out",
        "again",
        "also",
        "publicly",
        "is",  # "our demand is simple": the noun's verb, no object
        "are",
        "was",
        "were",
        "has",
        "have",
        "had",
        "will",
        "would",
    ]
)
_DENIED = re.compile(
    r"\s*(?:the\s+|these\s+|such\s+|all\s+|an?\s+)?(?:[\w-]+\s+){0,2}?(?:accusations?|allegations?|claims?|"
    r"reports?|charges?|criticism|suggestions?|assertions?|characteri[sz]ations?)\b",
    re.IGNORECASE,
)
OTHER = "other"  # the topic of a clear demand, refusal or proposal whose object names none


def _other_topic(ctx: Context, cue: Cue, clause: tuple[int, int]) -> list[TopicHit]:
    """ "called for an end to foreign interference", "rejected accusations of occupation", "will
    never accept an amnesty": a cue that says plainly what it asks or refuses, with an object of
    two words or more that names no topic of the pack's, is about that object (topic "other")."""
    if ctx.topics_in(cue.end, clause[1]):
        return []  # a topic named further on ("called for the UN to send observers"): not this
    end = window_end(ctx, cue, clause)
    words = ctx.text[cue.end : end].split()
    if len(words) < 2 or words[0].lower().strip("\"“‘'(,") in _POINTING:
        return []
    if _DENIED.match(ctx.text, cue.end, end):
        return []  # "rejected the accusation": a denial, not a position on what is negotiated
    return [_new(TopicHit, (cue.end, end, OTHER, False))]


def _waits_on_price(
    ctx: Context, cue: Cue, sentence: Sentence, clause: tuple[int, int], rule_name: str
) -> bool:
    """An outcome still to come with "only after/once/when" after it in its sentence ("would
    sign the treaty only after Armenia removed the claims"): it waits on that price; and the
    price itself ("... only after the restrictions were lifted") is asked for, not done."""
    price = _ONLY_AFTER.search(ctx.text, max(sentence.start, clause[0] - 40), cue.start)
    if price is not None and price.end() >= clause[0] - 1:
        # (only when what comes before is still to come: "Israel withdrew only after Hamas
        # released the hostages" tells of two things done)
        return price_of(ctx, sentence) is not None
    return _ONLY_AFTER.search(ctx.text, cue.end, sentence.end) is not None and (
        rule_name.endswith("-future")
        or (cue.rule.kind == "agreement" and is_future(ctx, cue, clause))
    )


def read_cue(  # noqa: PLR0911, PLR0912, PLR0917  (the reading rules in order, each an early return)
    ctx: Context,
    cue: Cue,
    sentence: Sentence,
    post: Post,
    claimed: list[TopicHit] | None = None,
    read: set[int] | None = None,
    priced: list[Claim] | None = None,
) -> list[Claim]:
    """The claims one cue makes (none when negated, hypothetical, unowned or without a topic).

    `claimed` collects the topic hits of the claims made so far in the post (for "it" later on),
    `read` the starts of the cues that made claims (an outcome right after one is its complement),
    `priced` the demands of a price condition after the cue ("would sign only after ..."): not
    the cue's own claims, so they go there (and nowhere when it is None).
    """
    rule = cue.rule
    # (a price's clause is where its cue ends: "only ... | after X")
    clause = clause_of(sentence, cue.end - 1 if rule.after_refusal else cue.start)
    kind = rule.kind
    rule_name = rule.rule
    if rule.only_future and not firm_future(ctx, cue, clause):
        return []  # "will monitor" commits; "someone to monitor" or a headline's "to host" does not
    if rule.after_refusal and not follows_refusal(ctx, cue, sentence):
        return []  # "the truce runs until May": no refusal before it, so no price named
    if rule.complement and not any(
        o.rule.kind in _OUTCOMES for o in ctx.cues_in(cue.end, clause[1])
    ):
        return []
    if rule.future and is_future(ctx, cue, clause):
        kind, rule_name = rule.future, f"{rule.rule}-future"
    if kind in _OUTCOMES and (
        is_irrealis(ctx, cue, clause)
        or is_complement(ctx, cue, clause, read or set())
        or _waits_on_price(ctx, cue, sentence, clause, rule_name)  # "would sign only after ..."
    ):
        return []
    refusing = False
    if kind in _OUTCOMES and price_of(ctx, sentence) is not None:
        mode, demands = _priced(ctx, cue, kind, rule_name, sentence, clause, post, claimed)
        if priced is not None:
            priced.extend(demands)
        if mode in ("inside", "drop"):
            return []
        refusing = mode == "refuse"
    if kind == "proposal" and is_asked_for(ctx, cue, clause, read or set()):
        return []  # "urged Moscow to present it": what the demand asks for, not an offer
    if rule.condition and is_other_half(ctx, cue, clause, read or set()):
        return []  # "307 were returned in exchange for 307 Ukrainians": the exchange was done
    if (
        not rule.keep_hypothetical
        and not refusing  # "would not return to talks unless ...": a refusal on that condition
        and is_hypothetical(ctx, cue, sentence, clause, kind)
    ):
        price = _conditional_price(ctx, cue, sentence, clause, rule_name)
        if price is None:
            return []
        if price == "offer":
            kind, rule_name = "proposal", f"{rule_name}/if"
    holder, unowned = holder_of(ctx, cue, kind, sentence, clause)
    if unowned:
        return []
    before_owner = holder if holder and holder.end <= cue.start else None
    if not rule.keep_negated and is_negated(ctx, cue, clause, before_owner):
        refused = rule.negated_as_rejection or (
            kind in _OUTCOMES and is_refused(ctx, cue, clause, before_owner)
        )
        if not refused:
            return []
        kind, rule_name = "rejection", f"{rule.rule}-refused"
    if holder is None or not holder.code:
        if kind not in _OUTCOMES or len(ctx.pair) != 2:
            return []
        actor, group = ctx.pair[0], True
        rule_name += INFERRED
    else:
        actor, group = holder.code, holder.form == "group"
    floor = holder.end if holder is not None and holder.end <= cue.start else None
    topics = topics_of(ctx, cue, sentence, clause, claimed=claimed or (), floor=floor) or (
        _other_topic(ctx, cue, clause) if rule.other_topic else []
    )
    if not topics:
        return []
    if claimed is not None:
        claimed.extend(t for t in topics if t.topic != OTHER)  # "it" never points to "other"
    if read is not None:
        read.add(cue.start)
    counterpart = counterpart_of(ctx, cue, actor, clause)
    parties: tuple[str, ...] = ()
    if kind in _OUTCOMES:
        actor, parties = parties_of(ctx, actor, None if group else holder, counterpart)
    return _make_claims(
        ctx, post, cue, sentence, clause, kind, actor, parties, topics, counterpart, rule_name
    )


def _make_claims(  # noqa: PLR0917  (a claim's fields)
    ctx: Context,
    post: Post,
    cue: Cue,
    sentence: Sentence,
    clause: tuple[int, int],
    kind: str,
    actor: str,
    parties: tuple[str, ...],
    topics: list[TopicHit],
    counterpart: str,
    rule_name: str,
) -> list[Claim]:
    """One claim a topic, with the attributes read from the cue's clause."""
    stretch = ctx.text[cue.start : clause[1]]
    if not more_of(ctx.text, cue.end):  # ("freed 50 ... and would release more": not 50 more)
        stretch += " \n " + ctx.text[clause[0] : cue.start]
    quote = ctx.text[sentence.start : sentence.end]
    claims = []
    for topic in topics:
        attrs = attributes.attrs_for(topic.topic, stretch, post.published)
        attrs.update(_extra_attrs(ctx, topic, sentence, clause, actor, counterpart))
        if counterpart and kind not in _OUTCOMES:
            attrs["counterpart"] = counterpart
        claims.append(
            Claim(
                post_id=post.post_id,
                kind=_as_kind(kind),
                actor=actor,
                topic=topic.topic,
                parties=parties,
                attrs=attrs,
                quote=quote,
                span=(sentence.start, sentence.end),
                rule=rule_name,
            )
        )
    return claims


def _as_kind(kind: str) -> ClaimKind:
    return kind  # type: ignore[return-value]  # checked against KINDS when the pack was loaded


def merge(claims: list[Claim]) -> list[Claim]:
    """One claim per (kind, actor, topic) in a post: a title that repeats the body, or the same
    position said twice, is one claim; later mentions add attributes and parties the first lacked.
    A claim whose actor was only inferred ("Bodies of soldiers returned") gives way to one of the
    same kind and topic whose actor is named."""
    named = {(c.kind, c.topic) for c in claims if not c.rule.endswith(INFERRED)}
    claims = [c for c in claims if not c.rule.endswith(INFERRED) or (c.kind, c.topic) not in named]
    merged: dict[tuple[str, str, str], Claim] = {}
    for claim in claims:
        key = (claim.kind, claim.actor, claim.topic)
        first = merged.get(key)
        if first is None:
            merged[key] = claim
            continue
        attrs = dict(first.attrs)
        for name, value in claim.attrs.items():
            attrs.setdefault(name, value)
        parties = tuple(sorted({*first.parties, *claim.parties}))
        merged[key] = Claim(
            post_id=first.post_id,
            kind=first.kind,
            actor=first.actor,
            topic=first.topic,
            parties=parties,
            attrs=attrs,
            quote=first.quote,
            span=first.span,
            rule=first.rule,
        )
    return list(merged.values())


def extract(post: Post, pack: RulesPack) -> list[Claim]:
    """Read one post into claims, in the order they appear in its text.

    Pure and deterministic: the same post and pack always give the same claims; deadlines are
    resolved against `post.published` (left unresolved, as `due_text`, when it is None).
    Every claim's `quote == post.text()[span[0]:span[1]]`. Never raises on odd text.
    """
    ctx = build_context(post, pack)
    if ctx is None:
        return []
    claims: list[Claim] = []
    claimed: list[TopicHit] = []
    read: set[int] = set()
    priced: list[Claim] = []
    cues = list(ctx.cues)
    position = 0
    for sentence in ctx.sentences:
        while position < len(cues) and cues[position].start < sentence.start:
            position += 1
        index = position
        covered = -1
        while index < len(cues) and cues[index].start < sentence.end:
            if cues[index].start < covered:  # inside a cue that read: "in exchange for"
                index += 1
                continue
            found = read_cue(ctx, cues[index], sentence, post, claimed, read, priced)
            claims.extend(found)
            if priced:  # a price condition's demands: not the cue's own, so no rule is skipped
                claims.extend(priced)
                priced.clear()
            start = cues[index].start
            if found:
                covered = cues[index].end
            index += 1
            if found:  # the first rule that reads at a place wins; the others there are skipped
                while index < len(cues) and cues[index].start == start:
                    index += 1
    return merge(claims)
