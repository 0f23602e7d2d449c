"""Step 4a: whose position a cue is, and whether an outcome verb stands on its own: owners and
subjects through reported speech, the speaker of "must", joint subjects and their parties,
commitments ("will monitor", "committed to releasing") and complements ("asks for children to be
returned"). Pure functions of the post's context (`reading.Context`).
"""

from __future__ import annotations

import re

from monitor.claims.mentions import Mention
from monitor.claims.reading import (
    Context,
    Cue,
    coordinated,
    is_future,
    is_noun_use,
    owner_of,
    previous_subject,
    refusal_before,
    speaker_of,
    subject_of,
)
from monitor.claims.segment import Sentence

_OUTCOMES = ("agreement", "fulfilment")
_FIRM_FUTURE = re.compile(
    r"\b(?:will|would|shall|['’]ll|going to|set to|due to|agreed to|expected to|pledged to|promised to|is to|are to|plans? to|planned to|planning to|intends? to|intended to)\W+(?:\w+\W+){0,2}$",
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
        "begun",
        "begin",
        "begins",
        "starting",
        "beginning",
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
_TO_BEFORE = re.compile(r"\bto\s+$", re.IGNORECASE)
_AGENT_AFTER = re.compile(
    r"\s*(?:[:,;.!?]|\s(?:by|on|in|at|to|from|after|over|as)\b)", re.IGNORECASE
)
_GERUND_AFTER_PREPOSITION = re.compile(
    r"\b(?:for|of|on|about|before|after|without|in|by|from)\s+\w+ing$", re.IGNORECASE
)


# "A humanitarian truce agreed in March collapsed", "the deal signed last year": a participle
# right after a topic noun with a determiner describes the thing (background), no claim now
_DETERMINED = re.compile(r"\b(?:a|an|the|this|that|its|their)\s+(?:[\w-]+\s+){0,2}$", re.IGNORECASE)
_PARTICIPLE_AFTER = re.compile(
    r"\s+(?:in|on|at|last|earlier|between|with|by|under|two|three|four|several|a|an)\b",
    re.IGNORECASE,
)


def _describes_topic(ctx: Context, cue: Cue) -> bool:
    word = ctx.text[cue.start : cue.end].split()[0].lower()
    if not word.endswith("ed") or cue.rule.kind != "agreement":
        return False
    topics = ctx.topics_in(cue.start - 40, cue.start)
    if not topics or topics[-1].end != cue.start - 1 or ctx.text[cue.start - 1] != " ":
        return False
    return (
        _DETERMINED.search(ctx.text, max(0, topics[-1].start - 40), topics[-1].start) is not None
        and _PARTICIPLE_AFTER.match(ctx.text, cue.start + len(word)) is not None
    )


def _is_gerund_or_possessed(ctx: Context, cue: Cue) -> bool:
    """ "lifting of sanctions", "lifting sanctions would ...", "Children's return": the act named,
    not done or promised. An -ing form counts only after a form of "be" or "start"/"continue"."""
    before = ctx.text[max(0, cue.start - 24) : cue.start].split()
    if before and before[-1].endswith(("'s", "’s")):
        return True
    if ctx.text[cue.end : cue.end + 4].lower() == " of ":
        # "the lifting of sanctions", "an 'all for all' exchange of the prisoners"; but a past
        # verb with its particle is done: "pulled out of southern Lebanon"
        verb = ctx.text[cue.start : cue.end].lower()
        return not (verb.endswith((" out", " back")) and verb.split()[0].endswith("ed"))
    word = ctx.text[cue.start : cue.end].split()[0].lower()
    if len(word) < 6 or not word.endswith("ing"):  # "bring" is no -ing form
        return False
    last = before[-1].lower() if before else ""
    if last == "to":  # "committed to releasing" promises; "links the truce to lifting" does not
        return len(before) < 2 or before[-2].lower() not in _COMMITTED
    return last not in _ING_AUXILIARIES


# What may stand before a headline's "to" besides the actors' names: "Russia and Ukraine to",
# "Leaders of Armenia and Azerbaijan to", "Kyiv, Moscow to", "Trump, Putin set to" (the last is
# already a firm future)
_HEADLINE_FILLER = re.compile(
    r"(?:\W|\b(?:and|the|both|leaders?|delegations?|negotiators?|envoys?|officials?|of|from)\b)*",
    re.IGNORECASE,
)
_HEADLINE_TO = re.compile(r"\s+to\s+$")


def headline_future(ctx: Context, cue: Cue, clause: tuple[int, int]) -> bool:
    """A headline's infinitive is its future: "Russia and Ukraine to hold talks in Istanbul",
    "Putin to meet Trump in Alaska". Only names (and "and", "the", "leaders of" ...) stand
    between the clause's start and "to": no verb that "to" could complete ("wants to meet")."""
    if not _HEADLINE_TO.search(ctx.text, max(clause[0], cue.start - 8), cue.start):
        return False
    names = [m for m in ctx.mentions_in(clause[0], cue.start) if m.code and m.end <= cue.start]
    if not names or any(m.form == "pronoun" for m in names):
        return False
    position = clause[0]
    for m in names:
        if _HEADLINE_FILLER.fullmatch(ctx.text, position, m.start) is None:
            return False
        position = m.end
    return _HEADLINE_TO.fullmatch(ctx.text, position, cue.start) is not None


def firm_future(ctx: Context, cue: Cue, clause: tuple[int, int]) -> bool:
    """A committed future before the cue: "will monitor", or "pledged to restore ... and to
    start", or a headline's "Russia and Ukraine to hold talks"."""
    if _FIRM_FUTURE.search(ctx.text, max(clause[0], cue.start - 40), cue.start):
        return True
    if headline_future(ctx, cue, clause):
        return True
    before = ctx.text[clause[0] : cue.start]
    return (
        bool(re.search(r"\band to\s+$", before))
        and _FIRM_FUTURE_ANYWHERE.search(before) is not None
    )


# A relative clause right before an outcome verb: what the proposed thing would do
_WHICH_WOULD = re.compile(
    r"\b(?:which|that|who) (?:would|will|could|is to|are to)\s+(?:\w+\s+)?$", re.IGNORECASE
)


def is_complement(ctx: Context, cue: Cue, clause: tuple[int, int], read: set[int]) -> bool:
    """An outcome verb that only says what an earlier cue (one that made a claim) asks for or
    refuses ("asks for children to be returned", "refused to release", "offered to exchange")."""
    for other in ctx.cues_in(clause[0], cue.start):
        if _NEW_CONJUNCT.search(ctx.text, other.end, cue.start):
            continue  # "..., and the US side pledged to help bring them home": a clause of its own
        if other.rule.agent != "speaker" and other.start in read:
            if other.rule.kind in ("demand", "rejection"):
                return True
            if other.rule.kind == "proposal" and (
                len(ctx.text[other.end : cue.start].split()) <= 3
                or _WHICH_WOULD.search(ctx.text, max(other.end, cue.start - 40), cue.start)
                is not None
            ):
                return True  # "proposed three working groups, which would meet online": its terms
    return False


def is_asked_for(ctx: Context, cue: Cue, clause: tuple[int, int], read: set[int]) -> bool:
    """An offer verb right after "to" in what an earlier demand asks ("urged Moscow to present
    it"): the demand's content, not an offer of its own."""
    if not _TO_BEFORE.search(ctx.text, max(clause[0], cue.start - 8), cue.start):
        return False
    for other in ctx.cues_in(clause[0], cue.start):
        if _NEW_CONJUNCT.search(ctx.text, other.end, cue.start):
            continue
        if other.rule.kind == "demand" and other.rule.agent != "speaker" and other.start in read:
            return True
    return False


def is_other_half(ctx: Context, cue: Cue, clause: tuple[int, int], read: set[int]) -> bool:
    """A condition cue ("in exchange for") after an outcome already carried out in its clause
    ("307 soldiers were returned in exchange for 307 prisoners"): the exchange's other half."""
    for other in ctx.cues_in(clause[0], cue.start):
        if (
            other.start in read
            and other.rule.kind == "fulfilment"
            and not (other.rule.future and is_future(ctx, other, clause))
        ):
            return True
    return False


def _is_participle_opening(ctx: Context, cue: Cue, sentence: Sentence) -> bool:
    """A sentence opened by a past participle ("Freed Ukrainian prisoners wave flags"): an
    adjective naming who was freed, not who freed them."""
    if cue.start != sentence.start:
        return False
    word = ctx.text[cue.start : cue.end].split()[0].lower()
    return word.endswith("ed") and not _AGENT_AFTER.match(ctx.text, cue.end)


def _from_agent(ctx: Context, cue: Cue, clause: tuple[int, int]) -> Mention | None:
    for m in ctx.mentions_in(cue.end, clause[1]):
        if m.code and ctx.text[max(0, m.start - 5) : m.start].lower().endswith("from "):
            return m
    return None


# "Moscow's terms are unchanged: Ukraine must withdraw ...": what follows the colon is the owner's
_TERMS_COLON = re.compile(
    r"['’]s? (?:\w+ )?(?:terms|demands|conditions|preconditions|position|red lines)\b[^:.;]{0,40}:\s",
    re.IGNORECASE,
)


def _terms_owner(ctx: Context, cue: Cue, sentence: Sentence) -> Mention | None:
    """The owner of the terms a colon opens, for a "must" after it with no speaker."""
    if ":" not in ctx.text[sentence.start : cue.start]:
        return None
    for m in ctx.mentions_in(sentence.start, cue.start):
        if m.possessive and m.code and _TERMS_COLON.match(ctx.text, m.end):
            colon = ctx.text.find(":", m.end, cue.start)
            if colon >= 0 and ctx.text.find(":", colon + 1, cue.start) < 0:
                return m
    return None


_PASSIVE_BY = re.compile(r"\s+by\s", re.IGNORECASE)


def holder_of(  # noqa: PLR0911, PLR0912  (each way of finding the holder an early return)
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
            or _is_participle_opening(ctx, cue, sentence)
            or _describes_topic(ctx, cue)
        )
    ):
        return (
            None,
            True,
        )  # "their return", "the exchange", "for signing": a mention of the act, not a claim
    if kind in _OUTCOMES and not rule.noun and _is_passive(ctx, cue, clause):
        return _passive_holder(ctx, cue, sentence, clause), False
    owner = owner_of(ctx, cue, clause) if kind not in _OUTCOMES or rule.noun else None
    if owner is None and kind == "proposal" and _PASSIVE_BY.match(ctx.text, cue.end):
        return None, True  # "a truce proposed by the Quad": whoever proposed it, not the subject
    if rule.agent == "from":
        return _from_agent(ctx, cue, clause), False
    if rule.agent == "speaker":
        found = speaker_of(ctx, cue, sentence)
        if found is None and sentence.quoted:
            found = previous_subject(ctx, sentence)
        if found is None:
            found = _terms_owner(ctx, cue, sentence)
        return found, False
    if owner is not None:
        return owner, False
    if rule.after_refusal:
        # "the group would not take part in intra-Afghan negotiations until its prisoners are
        # released": the demand is whoever refuses, named before the refusal
        at = refusal_before(ctx, cue, sentence)
        if at >= 0:
            return subject_of(ctx, Cue(at, at, rule), sentence), False
    elif is_noun_use(ctx, cue):
        return None, True
    found = _conjunct_subject(ctx, cue, sentence) or subject_of(ctx, cue, sentence)
    own = (
        _own_subject(ctx, cue, sentence, found) if found is not None or kind in _OUTCOMES else None
    )
    if own is not None:
        # "The UN mission said the two military delegations had reached ...": the reporter is not
        # the holder; the two sides are (no holder: the post's pair), anyone else is nobody
        return None, own != "sides"
    near = max(sentence.start, cue.start - 30)
    # both regexes need "and" (letters with no odd case folds): a plain substring test first
    if "and" in ctx.text[near : cue.start].lower() and (
        _AFTER_COMMA_AND.search(ctx.text, near, cue.start)
        or (
            _AFTER_AND.search(ctx.text, near, cue.start)
            and _PRESENT_S.match(ctx.text, cue.start)
            and _PRESENT_SPEECH.search(ctx.text, sentence.start, cue.start)
        )
    ):
        # "X told reporters that Y was ready ..., and urged Z", "Kurti says Serbia is trying ...
        # and calls on the EU": the verb after "and" goes with the speaker's
        found = speaker_of(ctx, cue, sentence) or found
    if found is None and kind not in _OUTCOMES and _first_person_before(ctx, cue, clause):
        # '"We are ready for a ceasefire," Zelensky said': "we" in a quote is its speaker
        found = speaker_of(ctx, cue, sentence)
    if found is None and kind in _OUTCOMES:
        found = speaker_of(ctx, cue, sentence) or previous_subject(ctx, sentence)
        if found is not None and _sides_without_them(ctx, cue, sentence, found):
            found = None  # and the post has no two main actors to stand for the two sides
    return found, False


_OWN_NP = re.compile(
    r"\s+(?:that\s+)?(?:(?:on|last|this|earlier)\s+\w+\s+)?(?:that\s+)?"
    r"((?:the|both|a|an)\s+[^,;:\"“”]*)$",
    re.IGNORECASE,
)
# Nouns for people or bodies that can hold a position ("the military council", "the generals");
# not a singular "delegation" or "team": "Zelensky said the delegation would push for" is his own
_PEOPLE = frozenset(
    [
        "delegations",
        "delegates",
        "sides",
        "parties",
        "camps",
        "teams",
        "negotiators",
        "mediators",
        "generals",
        "leaders",
        "council",
        "commission",
        "committee",
        "movement",
        "alliance",
        "coalition",
        "opposition",
        "officials",
        "representatives",
        "envoys",
        "ministers",
        "military",
        "army",
        "junta",
        "rebels",
        "militias",
        "fighters",
        "commanders",
    ]
)
_LAST_THAT = re.compile(r".*,\s+and\s+(?:that\s+)", re.IGNORECASE | re.DOTALL)
_TWO_SIDES = re.compile(
    r"(?:the\s+two|both)\s+(?:[\w-]+\s+){0,2}(?:delegations|sides|parties|camps|teams)\b",
    re.IGNORECASE,
)


def _own_subject(  # noqa: PLR0911  (each way the clause keeps its reading an early return)
    ctx: Context, cue: Cue, sentence: Sentence, found: Mention | None
) -> str | None:
    """A reported clause with a subject of its own that names no actor ("X said the military
    council would ..."): "sides" when it is the two delegations, sides, parties, camps or teams,
    "other" for people or bodies, None when the clause has no such subject (the reporter or the
    subject found holds it)."""
    if found is not None and found.end > cue.start:
        return None
    markers = ctx.pack.markers
    verb = None
    for v in markers.gates["speech"].finditer(
        markers.speech, ctx.text, ctx.form, sentence.start, cue.start
    ):
        verb = v
    if verb is None:
        return None
    rest = ctx.text[verb.end() : cue.start]
    last = _LAST_THAT.match(rest)
    if last is not None:
        rest = " " + rest[last.end() :]
    match = _OWN_NP.match(rest)
    if match is None or len(match.group(1).split()) > 10:
        return None
    start = cue.start - len(match.group(1))
    if found is not None and found.end > start:
        return None  # the subject found is inside the clause: it holds the position
    inside = ctx.mentions_in(start, cue.start)
    if any(m.code for m in inside):
        return None  # a known actor, read as before
    if any(m.form == "group" for m in inside):
        # "the UN said the two delegations agreed", the UN not one of the post's main actors:
        # the two sides; two sides the reporter is one of: read as before
        return "sides" if found is not None and found.code not in ctx.pair else None
    words = {w.lower().strip("'’") for w in match.group(1).split()[:6]}
    if words.isdisjoint(_PEOPLE):
        return None  # "said the deal provided for ...": a thing, the reporter's account of it
    return "sides" if _TWO_SIDES.match(match.group(1)) else "other"


# A verb right after "and" (and perhaps "to" or an auxiliary): a second verb of the same subject
_VERB_AFTER_AND = re.compile(
    r"\band\s+(?:(?:also|then|later|to|will|would|has|have|had|is|are|was|were|be|been)\s+){0,2}$",
    re.IGNORECASE,
)


def _conjunct_subject(ctx: Context, cue: Cue, sentence: Sentence) -> Mention | None:
    """ "Russia agreed to return the remains of Ukrainian soldiers and offered a ceasefire", "Hamas
    is to release the hostages within 72 hours of the Israeli pullback, and to hand over the
    remains": a verb right after "and" has the subject of the verb before it, not a name inside
    that verb's object."""
    start = max(sentence.start, cue.start - 40)
    if ctx.form is not None:  # the padded word form (one longer at the start): " and " in it
        if ctx.form.find(" and ", start, cue.start + 1) < 0:
            return None
    elif "and" not in ctx.text[start : cue.start].lower():
        return None
    conj = _VERB_AFTER_AND.search(ctx.text, start, cue.start)
    if conj is None:
        return None
    for other in reversed(ctx.cues_in(sentence.start, conj.start())):
        if other.end <= conj.start() and not is_noun_use(ctx, other):
            return subject_of(ctx, other, sentence)
    return None


_PASSIVE_BEFORE = re.compile(
    r"\b(?:was|were|been|being|be|is|are)\s+(?:(?:also|now|finally|reportedly|eventually|"
    r"successfully|safely|all|then)\s+)?$",
    re.IGNORECASE,
)
_BY_AGENT_AFTER = re.compile(r"\s+by\s+(?:the\s+)?$", re.IGNORECASE)


def _is_passive(ctx: Context, cue: Cue, clause: tuple[int, int]) -> bool:
    """A past participle after a form of "be": "were released", "was handed over"."""
    verb = ctx.text[cue.start : cue.end].split()[0].lower()
    return verb.endswith(("ed", "en")) and (
        _PASSIVE_BEFORE.search(ctx.text, max(clause[0], cue.start - 24), cue.start) is not None
    )


def _passive_holder(
    ctx: Context, cue: Cue, sentence: Sentence, clause: tuple[int, int]
) -> Mention | None:
    """ "Three hostages were released by Hamas", "The bodies ... were repatriated, Ukraine
    said": the doer is the agent after "by", else whoever reports it; never a name that only
    describes the people handed over ("Ukrainian soldiers")."""
    agent = _passive_agent(ctx, cue, clause)
    if agent is not None:
        return agent
    found = speaker_of(ctx, cue, sentence)
    if found is None:
        # "..., the UN refugee agency said. Prisoners of war are to be exchanged": who spoke before
        # is not who exchanges them; one of the post's two sides may be (else: the two sides)
        found = previous_subject(ctx, sentence)
        if found is not None and found.code not in ctx.pair:
            return None
    if found is not None and _sides_without_them(ctx, cue, sentence, found):
        return None
    return found


def _passive_agent(ctx: Context, cue: Cue, clause: tuple[int, int]) -> Mention | None:
    """The named actor right after the participle's "by" ("released by Hamas")."""
    for m in ctx.mentions_in(cue.end, min(clause[1], cue.end + 40)):
        if m.code and _BY_AGENT_AFTER.fullmatch(ctx.text, cue.end, m.start):
            return m
        break
    return None


_FIRST_PERSON = frozenset(["we", "i", "our", "us", "my"])


def _first_person_before(ctx: Context, cue: Cue, clause: tuple[int, int]) -> bool:
    """A first-person pronoun nobody was found for opens the cue's clause before it."""
    return any(
        m.form == "pronoun" and not m.code and ctx.text[m.start : m.end].lower() in _FIRST_PERSON
        for m in ctx.mentions_in(clause[0], cue.start)
    )


def _sides_without_them(ctx: Context, cue: Cue, sentence: Sentence, found: Mention) -> bool:
    """ "The two sides committed to a ceasefire, Qatar said at the time", in a post that names
    nobody but Qatar: an account of two others, not Qatar's commitment. A speaker who opens the
    report ("Ukraine's ombudsman said the two sides would ...") or a post that names another
    actor leaves the speaker as one of the sides."""
    if not any(
        m.form == "group" and not m.code and not m.obj and m.start < found.start
        for m in ctx.mentions_in(sentence.start, cue.start)
    ):
        return False
    return all(m.code in ("", found.code) for m in ctx.mentions)


def parties_of(
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
