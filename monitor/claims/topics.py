"""Step 4b: what a cue is about. The first topic named after the cue in its clause (a list
gives a claim per topic), else one before it, else the verb's own topic, else what "it" or "such
a meeting" points back to. Pure functions of the post's context (`reading.Context`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from monitor.claims.reading import Context, Cue, TopicHit, window_end
from monitor.claims.segment import Sentence

_ANAPHOR_AFTER = re.compile(
    r"\W*(?:\w+\W+){0,2}?(?:it|this|them|these|those|(?:the|this|that) (?:(?-i:[A-Z][\w.-]*) )?(?:deal|agreement|accord|plan|proposal|arrangement|decree|offer|initiative"
    r"|idea|suggestion|sequencing|approach|formula|request|demands?|conditions?|terms|option|proposals"
    r"|plans)|(?:the|this|that) (?:[\w-]+ )?idea)\b",  # "rejected that sequencing", "the suggestion"
    re.IGNORECASE,
)
_ANAPHOR_BEFORE = re.compile(
    r"\b(?:such|this|that|these|those|the)\s+(?:an?\s+)?(idea|plan|proposal|offer|demand|meeting|summit|deal|request|condition|step|option|measure)s?\b",
    re.IGNORECASE,
)
_EXPLAINED = re.compile(
    r"\s+(?:under which|in which|whereby|by which|that (?:would|will)|which (?:would|will))\b",
    re.IGNORECASE,
)
_TERMS_EXPLAINED = re.compile(
    r"(?:\s+[\w-]+){0,3}?\s*,?\s+(?:under which|in which|whereby|by which|"
    r"(?:that|which) (?:would |will |also )?(?:commits?|includes?|provides? for|calls? for|sees?|"
    r"requires?|binds?|sets? out)|including)\b",
    re.IGNORECASE,
)
# "a list of children it wants brought home": what is wanted comes before its holder
_WANTED_DONE = re.compile(
    r"\s+(?:(?:to\s+be|back|all)\s+)?(?:returned|freed|released|brought (?:home|back)|"
    r"handed (?:over|back)|exchanged|repatriated|sent home)\b",
    re.IGNORECASE,
)
# "urged them to ...": the pronoun is who is asked (matched from the pronoun's last four characters)
_ASKED_TO = re.compile(r"them\s+to\b", re.IGNORECASE)
_RELATIVE = re.compile(r"\b(?:which|that|whom)\b", re.IGNORECASE)
_NOUN_TOPICS = {"meeting": ("leaders_meeting", "talks"), "summit": ("leaders_meeting",)}
_LONG_LIST_GAP = re.compile(
    r"^(?!.*\b(?:including|such as|among|notably|especially|particularly|like|for|before|after|while|with|on)\b)"
    r"[^.;:]{0,60}?(?:,\s*|\s+)(?:and|or|as well as|plus)\s+(?:an?\s+|the\s+)?(?:[\w-]+\s+){0,2}$",
    re.IGNORECASE,
)
_LIST_GAP = re.compile(
    r"^(?=.*(?:[,;–—-]|\band\b|\bor\b))(?!.*\b(?:including|such as|among|notably|especially|particularly|like|of|for)\b)"
    r"[\s,;–—-]*(?:(?:and|or|as well as|plus)\s+)?(?:\w+\s+){0,3}[\s,;–—-]*(?:(?:and|or)\s+)?$",
    re.IGNORECASE,
)
# The same preposition again after "and": "calling for a meeting with Putin and for tougher
# sanctions" is a list of two
_PREP_LIST_GAP = re.compile(
    r"^[^.;:,]{0,40}?\s+(?:and|or|as well as)\s+(?:also\s+)?(?:for|on|to)\s+(?:an?\s+|the\s+)?(?:[\w-]+\s+){0,2}$",
    re.IGNORECASE,
)
# A list of nominalised acts: "the release of more prisoners, the return of children taken to
# Russia and preparations for a meeting"
_ACT_LIST_GAP = re.compile(
    r"^[^.;:]{0,60}?(?:,\s*(?:and\s+|or\s+)?|\s+(?:and|or|as well as)\s+)(?:the\s+|a\s+|an\s+)?"
    r"(?:return|release|exchange|swap|withdrawal|pull-?out|lifting|easing|removal|end|halt|"
    r"resumption|preparations?|creation|establishment|deployment|deliver(?:y|ies)|entry|"
    r"reopening|opening|recognition|repatriation|restoration|transfer|handover)\s+"
    r"(?:of|for|to)\s+(?:the\s+|a\s+|an\s+|more\s+|all\s+)?(?:(?-i:[A-Z])[\w-]*\s+)?$",
    re.IGNORECASE,
)
_COORDINATED = re.compile(r"^(?!.*\b(?:including|such as|among)\b).*\b(?:and|or)\b", re.IGNORECASE)
# A person named in full right after "freed"/"released": two to four capitalised words (case
# matters here), followed by punctuation, the clause's end or a word that cannot go on a name
# ("released New York Times footage" releases footage; "Keith Siegel's video" a video).
_FULL_NAME = re.compile(
    r"[ \t]+([A-Z][a-z]+(?:-[A-Z]?[a-z]+)?(?:[ \t]+[A-Z][a-z]+(?:-[A-Z]?[a-z]+)?){1,3})"
    r"(?=\s*(?:[,.;:()\u2013\u2014]|$|(?:on|in|at|after|before|from|to|into|and|who|whom|late|early"
    r"|last|this|yesterday|today|tonight|earlier|following|as|over|during|when|with|without|under"
    r"|amid)\b))"
)
_NOT_NAMES = frozenset(
    [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "the",
        "a",
        "an",
    ]
)
_FREEING_RULES = frozenset({"release"})  # cue rules whose verb frees people: "freed", "released"
_HANDING_RULES = frozenset({"hand-over"})  # and these when the verb is "handed over" or "back"


# A demand's next verb phrase: "must withdraw its forces from the four regions, drop its
# ambition to join Nato and accept limits" (a lower-case word after ", " or "and", then its object)
_VERB_CONJUNCT = re.compile(
    r"[^;:.]*?(?:,\s+(?:and\s+)?|\s+and\s+)(?P<verb>(?-i:[a-z])[a-z-]*)\s+(?:[\w'’-]+\s+){0,4}",
    re.IGNORECASE,
)
_NOT_VERBS = frozenset(
    [
        "a",
        "an",
        "the",
        "its",
        "their",
        "his",
        "her",
        "this",
        "that",
        "these",
        "those",
        "any",
        "all",
        "some",
        "more",
        "no",
        "which",
        "who",
        "whom",
        "whose",
        "where",
        "when",
        "while",
        "as",
        "and",
        "or",
        "but",
        "so",
        "in",
        "on",
        "at",
        "for",
        "with",
        "from",
        "to",
        "of",
        "by",
        "into",
        "including",
        "such",
        "other",
        "said",
        "says",
        "say",
        "told",
        "tells",
        "added",
        "adds",
        "also",
        "then",
    ]
)


def _verb_conjunct(gap: str) -> bool:
    """The gap between two topics after a demand opens a second verb phrase of the demand."""
    found = _VERB_CONJUNCT.fullmatch(gap)
    if found is None:
        return False
    verb = found.group("verb").lower()
    return verb not in _NOT_VERBS and not verb.endswith("ing")


# After a pronoun: it is who is asked ("urged them to start talks"), not what is asked for
_ADDRESSEE = re.compile(r"\s+to\s", re.IGNORECASE)


_CONJUNCT = re.compile(r",\s+and\s+|;\s+", re.IGNORECASE)


def _conjunct_start(text: str, start: int, holder_end: int) -> int:
    """Where the conjunct of a holder starts: after the last ", and" before it ("..., writing that
    the hostages will be released, and Israel will withdraw": a "that" before the ", and" opens
    no relative clause around Israel)."""
    if ", " not in text[start:holder_end] and ";" not in text[start:holder_end]:
        return start
    for found in _CONJUNCT.finditer(text, start, holder_end):
        start = found.end()
    return start


# Before a weak topic: where or when something was said, not what ("a demand its negotiators
# raised at the first round of talks")
_OCCASION = re.compile(
    r"\b(?:at|during|on the sidelines of|ahead of)\s+(?:the\s+|a\s+|an\s+|this\s+|last\s+)?"
    r"(?:[\w-]+\s+){0,3}$",
    re.IGNORECASE,
)


def _occasion(text: str, start: int, topic: TopicHit) -> bool:
    """A weak topic that names the occasion of the cue ("raised at the first round of talks")."""
    return _OCCASION.search(text, max(start, topic.start - 40), topic.start) is not None


# The rest of what was just done: "would return more", "will free the rest", "release others"
_MORE = re.compile(
    r"\s+(?:more(?!\s+than\b)|the rest|others|the others|the remainder)\b", re.IGNORECASE
)


def more_of(text: str, end: int) -> bool:
    """ "would return more", "will free the rest": more of what was just done follows the verb."""
    return _MORE.match(text, end) is not None


def _prep_list(text: str, chosen: list[TopicHit], gap: str) -> bool:
    """ "for A and for B": the preposition before the first topic comes again before the next."""
    found = _PREP_LIST_GAP.match(gap)
    if found is None:
        return False
    again = gap[found.start() :].split()
    prep = next(w.lower() for w in again if w.lower() in ("for", "on", "to"))
    before = text[max(0, chosen[0].start - 60) : chosen[0].start].lower().split()
    return prep in before[-6:]


_DEFINITE = re.compile(r"\b(?:the|this|that)\s+(?:[\w.’'-]+\s+){0,2}$", re.IGNORECASE)


def _definite(text: str, start: int, end: int) -> bool:
    """ "the US proposal", "that offer": a noun cue that names something said before."""
    return _DEFINITE.search(text, max(start, end - 30), end) is not None


def _anaphor_after(text: str, pos: int, endpos: int) -> re.Match[str] | None:
    """`_ANAPHOR_AFTER.match(text, pos, endpos)`: every word it ends on holds "it" or "th", so an
    ASCII stretch without them has no match (no odd case folds there: "ı" matches "i")."""
    stretch = text[pos:endpos]
    if stretch.isascii():
        low = stretch.lower()
        if "it" not in low and "th" not in low:
            return None
    return _ANAPHOR_AFTER.match(text, pos, endpos)


def _relative(text: str, pos: int, endpos: int) -> re.Match[str] | None:
    """`_RELATIVE.search(text, pos, endpos)`, skipped where neither "wh" nor "that" occurs (no
    odd case folds in those letters, and "which" in any case starts with "wh")."""
    low = text[pos:endpos].lower()
    if "wh" not in low and "that" not in low:
        return None
    return _RELATIVE.search(text, pos, endpos)


def topics_of(  # noqa: PLR0911, PLR0912, PLR0915  (the fallbacks in order: after, anaphor, before, own, antecedent)
    ctx: Context,
    cue: Cue,
    sentence: Sentence,
    clause: tuple[int, int],
    *,
    claimed: Sequence[TopicHit] = (),
    floor: int | None = None,
) -> list[TopicHit]:
    """The topics a cue is about: first named after it (with a list that follows), else before it
    in the clause (after its holder, when the holder comes first), else, for "it"/"such a
    meeting", in the sentences before."""
    allowed = cue.rule.topics
    wanted = _wanted_before(ctx, cue, clause)
    if wanted:  # "the 60 hostages it wants freed in the first phase": the hostages
        return wanted
    end = window_end(ctx, cue, clause)
    after = [
        t for t in ctx.topics_in(cue.end, end)
        if (allowed is None or t.topic in allowed) and (t.strong or not _occasion(ctx.text, cue.end, t))
    ]  # fmt: skip
    if cue.rule.kind == "fulfilment" and after:
        markers = ctx.pack.markers
        blocker = markers.gates["container"].search(
            markers.container, ctx.text, ctx.form, cue.end, after[0].start
        )
        if blocker is not None:
            after = [t for t in after if t.start < blocker.start()]
    first = _first_topic(ctx, after)
    if first is not None and not first.strong:
        named = [
            t for t in ctx.topics_in(cue.start - 80, cue.end)
            if t.strong and t.start <= cue.start and cue.end <= t.end and (allowed is None or t.topic in allowed)
        ]  # fmt: skip
        if named:  # "will not withdraw from X in the first phase": the verb's own topic wins
            return named[:1]
    if (cue.rule.after_refusal or cue.rule.topic_after) and first is None:
        return []  # "would not stop until it had achieved its goals": the price names no topic
    pointer = _anaphor_after(ctx.text, cue.end, min(clause[1], cue.end + 30))
    if (
        pointer is not None
        and cue.rule.kind == "demand"
        and _ASKED_TO.match(ctx.text, pointer.end() - 4, clause[1])
    ):
        pointer = None  # "urged them to start talks": who is asked, not what was named before
    if (
        pointer is not None
        and not cue.rule.after_refusal
        and (first is None or (not first.strong and first.start >= pointer.end()))
        and not _ADDRESSEE.match(ctx.text, pointer.end())  # "urged them to start talks": who
    ):
        # "poured cold water on the proposal": the proposal named before
        found = _antecedent(ctx, sentence, allowed, (), claimed, upto=cue.start)
        if found:
            return found
    if first is not None and first.strong:
        strong = [t for t in after if t.strong and t.start >= first.start]
        if len(strong) > 1 and (strong[0].start, strong[0].end) == (strong[1].start, strong[1].end):
            first = strong[0]  # twins: both are read below
        chosen = [strong[0]]
        for nxt in strong[1:]:
            if (nxt.start, nxt.end) == (chosen[-1].start, chosen[-1].end):
                chosen.append(nxt)  # one phrase, two topics: "host another round of talks"
                continue
            gap = ctx.text[chosen[-1].end : nxt.start]
            if (
                _LIST_GAP.match(gap)
                or _LONG_LIST_GAP.match(gap)
                or _prep_list(ctx.text, chosen, gap)
                or ((" of " in gap or " for " in gap or " to " in gap) and _ACT_LIST_GAP.match(gap))
                or (cue.rule.kind == "demand" and _verb_conjunct(gap))
            ):
                chosen.append(nxt)
            else:
                break
        return _with_terms(ctx, chosen, after, clause)
    if first is not None:
        if _EXPLAINED.match(ctx.text, first.end):
            # "approved a deal under which Hamas would free 50 hostages": what the deal does
            explained = [
                t for t in ctx.topics_in(first.end, clause[1])
                if t.strong and (allowed is None or t.topic in allowed)
            ]  # fmt: skip
            head = _first_topic(ctx, explained)
            if head is not None:
                return [head]
        return [first]
    start = clause[0]
    if (
        floor is not None
        and floor > clause[0]
        and not _relative(ctx.text, _conjunct_start(ctx.text, clause[0], floor), floor)
        and not _WANTED_DONE.match(ctx.text, cue.end)
    ):
        start = floor  # "Ukraine needs X": what comes before the holder is another clause's
    before = [
        t for t in ctx.topics_in(start, cue.start)
        if t.end <= cue.start and (allowed is None or t.topic in allowed)
    ]  # fmt: skip
    if before:
        return _list_before(ctx, before, cue)
    own = [
        t for t in ctx.topics_in(cue.start - 80, cue.end)
        if (cue.end <= t.end or t.start >= cue.start) and (t.strong or cue.rule.only_future)
        and (allowed is None or t.topic in allowed)
    ]  # fmt: skip
    if own:  # the verb names its topic itself: "withdraw", "swap"
        return own[:1]
    freed = _freed_by_name(ctx, cue, clause)
    if freed is not None:
        return [freed]
    if more_of(ctx.text, cue.end):  # "handed over four bodies, and would return more"
        earlier = [t for t in claimed[-8:] if sentence.start <= t.start < cue.start]
        if earlier and (allowed is None or earlier[-1].topic in allowed):
            return earlier[-1:]
    if _signs_nothing(ctx, cue):  # "Baku has refused to sign until ...": the text named before
        signed = [
            t
            for t in _antecedent(ctx, sentence, allowed, ("peace_terms",), claimed, upto=cue.start)
            if t.topic == "peace_terms"
        ]
        if signed:
            return signed
    pronoun = _anaphor_after(ctx.text, cue.end, min(clause[1], cue.end + 30)) or _anaphor_after(
        ctx.text, cue.start, cue.end
    )
    noun = _ANAPHOR_BEFORE.search(ctx.text, clause[0], cue.start)
    if not (pronoun or noun or (cue.rule.noun and _definite(ctx.text, clause[0], cue.start))):
        return []  # ("accepted the US proposal": a noun cue can point back itself)
    kinds = _NOUN_TOPICS.get(noun.group(1).lower(), ()) if noun else ()
    return _antecedent(ctx, sentence, allowed, kinds, claimed, upto=cue.start)


# After a signing verb, no object: the clause or sentence ends, or a time or condition follows
_NO_OBJECT = re.compile(
    r"\s*(?:[,.;:!?\"”’)]|$|(?:on|in|at|by|until|unless|before|after|only|when|once|if|yet|as"
    r"|soon|later|today|tomorrow|next|this|so|but|and)\b)",
    re.IGNORECASE,
)


_BE_BEFORE = re.compile(r"\b(?:be|been|being|is|are|was|were)\s+$", re.IGNORECASE)


def _signs_nothing(ctx: Context, cue: Cue) -> bool:
    """A commitment or refusal to sign with nothing signed named after it ("has refused to sign
    until ...", "will sign on Friday"): what is signed is a text named before."""
    if cue.rule.kind not in ("agreement", "rejection"):
        return False
    verb = ctx.text[cue.start : cue.end].lower()
    if not verb.rsplit(None, 1)[-1].startswith("sign"):
        return False
    if _BE_BEFORE.search(ctx.text, max(0, cue.start - 12), cue.start) is not None:
        return False  # "the agreement had been due to be signed": what is signed is its subject
    return _NO_OBJECT.match(ctx.text, cue.end) is not None


def _list_before(ctx: Context, before: list[TopicHit], cue: Cue) -> list[TopicHit]:
    """The topic named last before the cue, with the strong ones listed with it ("Prisoners of
    war, other detainees and the bodies of the dead are to be exchanged": prisoners and bodies)."""
    chosen = [before[-1]]
    if not chosen[0].strong or cue.rule.kind not in ("agreement", "fulfilment"):
        return chosen
    edge = chosen[0].start  # where the listed item (one or more hits of a topic) starts
    for prev in reversed(before[:-1]):
        gap = ctx.text[prev.end : edge]
        if prev.topic == chosen[-1].topic and len(gap.split()) <= 3:
            edge = prev.start  # "the bodies of the dead": one item
            continue
        if not prev.strong or not (_LIST_GAP.match(gap) or _LONG_LIST_GAP.match(gap)):
            break
        if prev.topic not in {t.topic for t in chosen}:
            chosen.append(prev)
        edge = prev.start
    return chosen[::-1]


def _wanted_before(ctx: Context, cue: Cue, clause: tuple[int, int]) -> list[TopicHit]:
    """ "a list of children it wants brought home": what is wanted freed or returned is named
    before its holder (a strong topic), and a weak one after ("in the first phase") is not it."""
    if cue.rule.kind != "demand" or not _WANTED_DONE.match(ctx.text, cue.end):
        return []
    allowed = cue.rule.topics
    wanted = [
        t for t in ctx.topics_in(clause[0], cue.start)
        if t.strong and t.end <= cue.start and (allowed is None or t.topic in allowed)
    ]  # fmt: skip
    return wanted[-1:]


def _with_terms(
    ctx: Context, chosen: list[TopicHit], after: list[TopicHit], clause: tuple[int, int]
) -> list[TopicHit]:
    """ "signed a declaration that commits both sides to a permanent ceasefire", "a peace
    agreement that would include Ukraine's withdrawal": the terms named are claimed too."""
    if chosen[-1].topic != "peace_terms":
        return chosen
    terms = _TERMS_EXPLAINED.match(ctx.text, chosen[-1].end, clause[1])
    if terms is None:
        return chosen
    inside = [
        t for t in after if t.strong and t.start >= terms.end() and t.topic != "peace_terms"
    ]  # fmt: skip
    if inside and inside[0].start - terms.end() <= 40:
        return [*chosen, inside[0]]
    return chosen


def _freed_by_name(ctx: Context, cue: Cue, clause: tuple[int, int]) -> TopicHit | None:
    """ "The rebels freed Luis Manuel Diaz", "handed over Leonard Francis": people freed,
    released or handed over by full name are a prisoner release, when the name is no actor, place, day or month the pack knows."""
    if "prisoner_exchange" not in (cue.rule.topics or ("prisoner_exchange",)):
        return None
    if cue.rule.rule not in _FREEING_RULES:
        verb = ctx.text[cue.start : cue.end].lower()
        if cue.rule.rule not in _HANDING_RULES or not (
            verb.startswith("hand") and verb.endswith(("over", "back"))
        ):
            return None  # "returned Air Force One to Washington" returns no person
    found = _FULL_NAME.match(ctx.text, cue.end, clause[1])
    if found is None:
        return None
    if any(w.lower() in _NOT_NAMES for w in found.group(1).split()):
        return None
    if any(m.start < found.end(1) for m in ctx.mentions_in(found.start(1), found.end(1))):
        return None  # "freed Israeli hostages", "released Ukraine's ...": an actor, not a person
    return TopicHit(found.start(1), found.end(1), "prisoner_exchange", True)


def _antecedent(
    ctx: Context,
    sentence: Sentence,
    allowed: frozenset[str] | None,
    kinds: tuple[str, ...],
    claimed: Sequence[TopicHit],
    *,
    upto: int = -1,
) -> list[TopicHit]:
    """What "it" or "such a meeting" points back to in the two sentences before: a topic of the
    noun's kind ("meeting": a leaders' meeting or talks), else the topic of the last claim made
    there, else the first topic named there; else a topic earlier in the same sentence."""
    earlier = ctx.sentences_before(sentence, 2)
    if not earlier:
        return _same_sentence(ctx, sentence, allowed, upto)
    since = earlier[0].start
    fits = [
        t for t in ctx.topics_in(since, sentence.start) if allowed is None or t.topic in allowed
    ]
    if kinds:
        of_kind = [t for t in fits if t.topic in kinds]
        return of_kind[-1:]
    recent = [
        t
        for t in claimed[-8:]
        if since <= t.start < sentence.start and (allowed is None or t.topic in allowed)
    ]
    if recent:
        return recent[-1:]
    for previous in reversed(earlier):
        first = _first_topic(ctx, [t for t in fits if previous.start <= t.start < previous.end])
        if first is not None:
            return [first]
    return _same_sentence(ctx, sentence, allowed, upto)


def _same_sentence(
    ctx: Context, sentence: Sentence, allowed: frozenset[str] | None, upto: int
) -> list[TopicHit]:
    """ "help bring them home": the children named earlier in the same sentence."""
    if upto < 0:
        return []
    found = [
        t
        for t in ctx.topics_in(sentence.start, upto)
        if t.end <= upto and (allowed is None or t.topic in allowed)
    ]
    first = _first_topic(ctx, found)
    return [first] if first is not None else []


def _first_topic(ctx: Context, topics: list[TopicHit]) -> TopicHit | None:
    """The first topic named; a weak one gives way to a strong one right after it ("the
    exchange of bodies" is about bodies) or, failing that, to the first strong one at all."""
    if not topics:
        return None
    first = topics[0]
    for nxt in topics[
        1:
    ]:  # "a US-brokered ceasefire": the last of adjacent topic words is the head
        if nxt.strong and ctx.text[first.end : nxt.start].strip(" -") == "":
            first = nxt
        else:
            break
    if first.strong:
        return first
    for nxt in topics[1:]:
        gap = ctx.text[first.end : nxt.start]
        if nxt.strong and (len(gap.split()) <= 3 or _COORDINATED.search(gap)):
            return nxt  # "the exchange of bodies"; "build on the exchange and agree on a ceasefire"
    return first
