"""The extraction pipeline: a post's text to claims, as a list of small pure steps.

    text --scan--> alias, cue and topic hits (one automaton)      keywords.py
         --split--> sentences and clauses                         segment.py
         --name--> mentions, pronouns and "the two sides" resolved mentions.py
         --read--> for each cue: does it stand, whose is it             reading.py
         --topic--> what it is about                                  topics.py
         --attrs--> counts, durations, categories, deadlines       attrs.py
         --merge--> one claim per (kind, actor, topic) in the post  (here)

`extract()` is pure and deterministic: the only time it uses is the post's own `published`.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import Any

from monitor.claims import attrs as attributes
from monitor.claims.mentions import Mention, main_pair, raw_mentions, resolve
from monitor.claims.model import Claim, ClaimKind
from monitor.claims.pack import RulesPack
from monitor.claims.reading import (
    Context,
    Cue,
    TopicHit,
    coordinated,
    counterpart_of,
    is_future,
    is_hypothetical,
    is_irrealis,
    is_negated,
    is_noun_use,
    is_refused,
    owner_of,
    previous_subject,
    speaker_of,
    subject_of,
)
from monitor.claims.segment import Sentence, clause_of, split_sentences
from monitor.claims.topics import topics_of
from monitor.posts import Post

_OUTCOMES = ("agreement", "fulfilment")
INFERRED = (
    "/actor-inferred"  # rule suffix: nobody was named, the post's two main actors were assumed
)
_FIRM_FUTURE = re.compile(
    r"\b(?:will|would|shall|['’]ll|going to|set to|due to|agreed to|expected to|pledged to|promised to|is to|are to)\W+(?:\w+\W+){0,2}$",
    re.IGNORECASE,
)
_AFTER_AND = re.compile(r"\s+and\s+(?:also\s+)?$", re.IGNORECASE)
_PRESENT_S = re.compile(r"[a-z]+[^s\W]s\b", re.IGNORECASE)
_PRESENT_SPEECH = re.compile(
    r"\b(?:says|adds|tells|insists|argues|stresses|claims|warns|notes)\b", re.IGNORECASE
)
_AFTER_COMMA_AND = re.compile(r",\s+and\s+(?:\w+\s+)?$", re.IGNORECASE)
_NEW_CONJUNCT = re.compile(r",\s+and\s+|;\s+", re.IGNORECASE)
_COMMITTED = frozenset(
    {"committed", "agreed", "pledged", "promised", "vowed", "consented", "close"}
)
_ING_AUXILIARIES = frozenset(
    [
        "to",  # "committed to releasing"
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "am",
        "started",
        "starts",
        "start",
        "began",
        "begin",
        "begins",
        "continue",
        "continues",
        "continued",
        "keep",
        "keeps",
        "kept",
    ]
)
_FIRM_FUTURE_ANYWHERE = re.compile(
    r"\b(?:will|would|shall|going to|set to|due to|agreed to|expected to|pledged to|promised to|committed to)\b",
    re.IGNORECASE,
)
_GERUND_AFTER_PREPOSITION = re.compile(
    r"\b(?:for|of|on|about|before|after|without|in|by|from)\s+\w+ing$", re.IGNORECASE
)
_PLACE = re.compile(r"\b(?:in|at)\s+((?-i:[A-Z][\w'’-]+)(?:\s+(?:or|and)\s+(?-i:[A-Z][\w'’-]+))?)")


_MEETING = re.compile(r"\b(?:meet(?:ing|s)?|summit|talks)\s+(?:between|with|of)\s+", re.IGNORECASE)


def people_meetings(text: str, mentions: list[Mention]) -> list[TopicHit]:
    """A meeting "between Zelensky and Putin": two named people of different actors make a
    leaders' meeting even without the words "leaders" or "presidents"."""
    hits = []
    starts = [x.start for x in mentions]
    for m in _MEETING.finditer(text):
        near = mentions[bisect_left(starts, m.end()) : bisect_left(starts, m.end() + 80)]
        people = [x for x in near if x.person and x.form == "name"]
        if len({x.code for x in people}) >= 2:
            hits.append(
                TopicHit(
                    start=m.start(),
                    end=max(x.end for x in people[:2]),
                    topic="leaders_meeting",
                    strong=True,
                )
            )
    return hits


def build_context(post: Post, pack: RulesPack) -> Context | None:
    """Scan, split and name: everything the per-cue reading needs, or None when no cue is present."""
    text = post.text()
    alias_hits, cue_hits, topic_hits = pack.index.scan(text)
    if not cue_hits or (
        not topic_hits and "meet" not in text.lower()
    ):  # a claim needs a cue and a topic
        return None
    topics = tuple(
        TopicHit(start=s, end=e, topic=pack.topic_of[i][0], strong=pack.topic_of[i][1])
        for s, e, i in topic_hits
    )
    topic_starts = [t.start for t in topics]
    cues = tuple(
        Cue(start=s, end=e, rule=pack.cue_rules[i])
        for s, e, i in cue_hits
        if not any(
            t.start < s
            and e <= t.end  # a cue word ending a topic phrase ("peace agreement") is its noun
            for t in topics[bisect_left(topic_starts, s - 80) : bisect_left(topic_starts, s + 1)]
        )
    )
    mentions = raw_mentions(text, alias_hits, pack)
    meetings = people_meetings(text, mentions)
    if meetings:
        kept = [t for t in topics if not any(m.start <= t.start < m.end for m in meetings)]
        topics = tuple(sorted([*kept, *meetings], key=lambda t: t.start))
    if not topics:  # every claim needs a topic
        return None
    pair = main_pair(mentions, pack)
    sentences = tuple(split_sentences(text, pack.markers.clause_break))
    resolved = tuple(resolve(text, mentions, pair, [(s.start, s.end) for s in sentences]))
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
    )


def _is_gerund_or_possessed(ctx: Context, cue: Cue) -> bool:
    """ "lifting of sanctions", "lifting sanctions would ...", "Children's return": the act named,
    not done or promised. An -ing form counts only after a form of "be" or "start"/"continue"."""
    before = ctx.text[max(0, cue.start - 24) : cue.start].split()
    if before and before[-1].endswith(("'s", "’s")):
        return True
    if ctx.text[cue.end : cue.end + 4].lower() == " of ":
        return True  # "the lifting of sanctions", "an 'all for all' exchange of the prisoners"
    word = ctx.text[cue.start : cue.end].split()[0].lower()
    if len(word) < 6 or not word.endswith("ing"):  # "bring" is no -ing form
        return False
    last = before[-1].lower() if before else ""
    if last == "to":  # "committed to releasing" promises; "links the truce to lifting" does not
        return len(before) < 2 or before[-2].lower() not in _COMMITTED
    return last not in _ING_AUXILIARIES


def _firm_future(ctx: Context, cue: Cue, clause: tuple[int, int]) -> bool:
    """A committed future before the cue: "will monitor", or "pledged to restore ... and to start"."""
    if _FIRM_FUTURE.search(ctx.text, max(clause[0], cue.start - 40), cue.start):
        return True
    before = ctx.text[clause[0] : cue.start]
    return (
        bool(re.search(r"\band to\s+$", before))
        and _FIRM_FUTURE_ANYWHERE.search(before) is not None
    )


def _is_complement(ctx: Context, cue: Cue, clause: tuple[int, int], read: set[int]) -> bool:
    """An outcome verb that only says what an earlier cue (one that made a claim) asks for or
    refuses ("asks for children to be returned", "refused to release", "offered to exchange")."""
    for other in ctx.cues_in(clause[0], cue.start):
        if _NEW_CONJUNCT.search(ctx.text, other.end, cue.start):
            continue  # "..., and the US side pledged to help bring them home": a clause of its own
        if other.rule.agent != "speaker" and other.start in read:
            if other.rule.kind in ("demand", "rejection"):
                return True
            if other.rule.kind == "proposal" and len(ctx.text[other.end : cue.start].split()) <= 3:
                return True
    return False


def _from_agent(ctx: Context, cue: Cue, clause: tuple[int, int]) -> Mention | None:
    for m in ctx.mentions_in(cue.end, clause[1]):
        if m.code and ctx.text[max(0, m.start - 5) : m.start].lower().endswith("from "):
            return m
    return None


def _actor(
    ctx: Context, cue: Cue, kind: str, sentence: Sentence, clause: tuple[int, int]
) -> tuple[Mention | None, bool]:
    """Who holds the position, and whether the cue reads as a noun without an owner (then: nobody)."""
    rule = cue.rule
    if (
        kind in _OUTCOMES
        and not rule.noun
        and (
            is_noun_use(ctx, cue)
            or _is_gerund_or_possessed(ctx, cue)
            or _GERUND_AFTER_PREPOSITION.search(ctx.text, max(0, cue.start - 12), cue.end)
        )
    ):
        return (
            None,
            True,
        )  # "their return", "the exchange", "for signing": a mention of the act, not a claim
    owner = owner_of(ctx, cue, clause) if kind not in _OUTCOMES or rule.noun else None
    if rule.agent == "from":
        return _from_agent(ctx, cue, clause), False
    if rule.agent == "speaker":
        found = speaker_of(ctx, cue, sentence)
        if found is None and sentence.quoted:
            found = previous_subject(ctx, sentence)
        return found, False
    if owner is not None:
        return owner, False
    if is_noun_use(ctx, cue):
        return None, True
    found = subject_of(ctx, cue, sentence)
    if _AFTER_COMMA_AND.search(ctx.text, max(sentence.start, cue.start - 30), cue.start) or (
        _AFTER_AND.search(ctx.text, max(sentence.start, cue.start - 30), cue.start)
        and _PRESENT_S.match(ctx.text, cue.start)
        and _PRESENT_SPEECH.search(ctx.text, sentence.start, cue.start)
    ):
        # "X told reporters that Y was ready ..., and urged Z", "Kurti says Serbia is trying ...
        # and calls on the EU": the verb after "and" goes with the speaker's
        found = speaker_of(ctx, cue, sentence) or found
    if found is None and kind in _OUTCOMES:
        found = speaker_of(ctx, cue, sentence) or previous_subject(ctx, sentence)
    return found, False


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
            out["place"] = [p.strip() for p in re.split(r"\s+(?:or|and)\s+", place.group(1))]
    elif topic.topic == "mediation":
        out["mediator"] = counterpart or actor
    return out


def read_cue(  # noqa: PLR0911, PLR0912, PLR0917  (the reading rules in order, each an early return)
    ctx: Context,
    cue: Cue,
    sentence: Sentence,
    post: Post,
    claimed: list[TopicHit] | None = None,
    read: set[int] | None = None,
) -> list[Claim]:
    """The claims one cue makes (none when negated, hypothetical, unowned or without a topic).

    `claimed` collects the topic hits of the claims made so far in the post (for "it" later on),
    `read` the starts of the cues that made claims (an outcome right after one is its complement).
    """
    rule = cue.rule
    clause = clause_of(sentence, cue.start)
    kind = rule.kind
    rule_name = rule.rule
    if rule.only_future and not _firm_future(ctx, cue, clause):
        return []  # "will monitor" commits; "someone to monitor" or a headline's "to host" does not
    if rule.complement and not any(
        o.rule.kind in _OUTCOMES for o in ctx.cues_in(cue.end, clause[1])
    ):
        return []
    if rule.future and is_future(ctx, cue, clause):
        kind, rule_name = rule.future, f"{rule.rule}-future"
    if kind in _OUTCOMES and (
        is_irrealis(ctx, cue, clause) or _is_complement(ctx, cue, clause, read or set())
    ):
        return []
    if not rule.keep_hypothetical and is_hypothetical(ctx, cue, sentence, clause, kind):
        return []
    holder, unowned = _actor(ctx, cue, kind, sentence, clause)
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
    topics = topics_of(ctx, cue, sentence, clause, claimed=claimed or (), floor=floor)
    if not topics:
        return []
    if claimed is not None:
        claimed.extend(topics)
    if read is not None:
        read.add(cue.start)
    counterpart = counterpart_of(ctx, cue, actor, clause)
    parties: tuple[str, ...] = ()
    if kind in _OUTCOMES:
        actor, parties = _parties(ctx, actor, None if group else holder, counterpart)
    stretch = ctx.text[cue.start : clause[1]] + " \n " + ctx.text[clause[0] : cue.start]
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


def _parties(
    ctx: Context, actor: str, holder: Mention | None, counterpart: str
) -> tuple[str, tuple[str, ...]]:
    """The actor and parties of an agreement or fulfilment. A joint subject ("India and Pakistan
    agreed"; "the two sides agreed", `holder` None) gives one actor, whichever sorts first, so a
    post's title and body make the same claim."""
    joint = set(coordinated(ctx, holder)) if holder is not None else set(ctx.pair)
    names = {actor, *joint}
    if joint:
        actor = min(names)
    if counterpart:
        names.add(counterpart)
    if len(names) == 1 and actor in ctx.pair:
        names.update(ctx.pair)
    return actor, tuple(sorted(names))


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
            found = read_cue(ctx, cues[index], sentence, post, claimed, read)
            claims.extend(found)
            start = cues[index].start
            if found:
                covered = cues[index].end
            index += 1
            if found:  # the first rule that reads at a place wins; the others there are skipped
                while index < len(cues) and cues[index].start == start:
                    index += 1
    return merge(claims)
