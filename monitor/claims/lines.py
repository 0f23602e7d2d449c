"""`extract()`: the claims of a post, reusing what was read of its lines before (`memo.py`).

A post's text is its lines (title, paragraphs, captions). Revisions resend whole posts and
sentences come back across posts, so each line's scan, sentences and mentions are kept, and so
are the claims it gives read alone. Most of what the reading does stays inside a line; the
places that reach out of it say so (`Context.notes`):

- "back": a pronoun, "it", a joint subject or a noun test looked before the line's start. Such a
  line is read again inside its post (only a post's first line may reuse it: nothing comes
  before it in the post either);
- "pair": "the two sides" and the parties of an agreement use the post's two main actors,
  counted over every line: the reading is kept for that pair only;
- a claim with a deadline depends on the day the post was published: kept for that day only.

Two things can cross a line break and are checked on the whole post: its scan must equal its
lines' scans laid end to end (a name or a cue running over a break, or a pattern looking across
one, would differ), and so must its meetings between two people (`people_meetings` looks 80
characters on). When either differs, the post is read whole (`extract_whole`). The claims are
always those of `extract_whole`; the tests compare both on every labelled document and on
generated and shuffled posts.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import date

from monitor.claims.extract import (
    Scan,
    build_context,
    extract_whole,
    merge,
    people_meetings,
    read_claims,
)
from monitor.claims.memo import ANY, LineEntry, Variant
from monitor.claims.mentions import Mention, named_subjects, pair_of, raw_mentions, resolve
from monitor.claims.model import Claim
from monitor.claims.pack import RulesPack
from monitor.claims.reading import BACK, PAIR, TopicHit
from monitor.claims.segment import Sentence, split_sentences
from monitor.posts import Post

Lines = list[tuple[int, str, LineEntry]]  # (offset in the post's text, line, entry)


def extract(post: Post, pack: RulesPack) -> list[Claim]:
    """Read one post into claims, in the order they appear in its text.

    Pure and deterministic: the same post and pack always give the same claims (those of
    `extract_whole`); deadlines are resolved against `post.published` (left unresolved, as
    `due_text`, when it is None). Every claim's `quote == post.text()[span[0]:span[1]]`.
    Never raises on odd text.
    """
    text = post.text()
    scan = pack.index.scan(text)
    if not scan[1] or (not scan[2] and "meet" not in text.lower()):
        return []  # a claim needs a cue and a topic
    if not pack.memo.capacity:  # the memo is off: nothing to reuse, read the post at once
        return extract_whole(post, pack, scan)
    lines = _lines(text, pack)
    if not _same_scan(scan, lines) or not _same_meetings(text, lines):
        pack.memo.whole += 1
        return extract_whole(post, pack, scan)
    whole = _Whole(text, lines, pack)
    day = post.published.date() if post.published is not None else None
    readings: list[Variant | None] = []
    inside = False  # some line must be read inside the post
    for i, (offset, line, entry) in enumerate(lines):
        if not entry.scan[1]:
            readings.append(None)  # no cue on the line: no claim of its own
            continue
        mine = entry.resolved
        if mine is None:  # its pronouns point out of the line: resolved over the whole post
            mine = whole.resolved_in(offset, len(line))
        refs = tuple((m.code, m.person) for m in mine if m.form != "name")
        variant = entry.find(whole.pair, day, refs)
        if variant is None:
            variant = _read_alone(line, entry, whole.pair, day, refs, mine, post, pack)
        if variant.back and i > 0:
            inside = True
            variant = None
        readings.append(variant)
    if inside:
        return _read_in_post(post, pack, scan, whole, readings)
    claims: list[Claim] = []
    for variant, (offset, _, _) in zip(readings, lines, strict=True):
        if variant is not None:
            claims.extend(_placed(variant.claims, offset, post.post_id))
    return merge(claims)


class _Whole:
    """The post's pair, and (built when first needed) its sentences and mentions from its
    lines', with pronouns resolved over the whole post."""

    def __init__(self, text: str, lines: Lines, pack: RulesPack) -> None:
        self.text = text
        self.lines = lines
        named: dict[str, tuple[int, int]] = {}
        for offset, _, entry in lines:
            for code, (count, first) in entry.named.items():
                seen = named.get(code)
                named[code] = (
                    (count, offset + first) if seen is None else (seen[0] + count, seen[1])
                )
        self.pair = pair_of(named)  # as `main_pair` counts it over the post's mentions
        self._parts: tuple[tuple[Sentence, ...], list[Mention]] | None = None
        self._resolved: tuple[Mention, ...] | None = None
        self._starts: list[int] = []

    def parts(self) -> tuple[tuple[Sentence, ...], list[Mention]]:
        """The post's sentences and unresolved mentions."""
        if self._parts is None:
            sentences: list[Sentence] = []
            mentions: list[Mention] = []
            for offset, _, entry in self.lines:
                sentences.extend(_shift_sentence(s, offset) for s in entry.sentences)
                mentions.extend(_shift(m, offset) for m in entry.mentions)
            self._parts = (tuple(sentences), mentions)
        return self._parts

    def resolved(self) -> tuple[Mention, ...]:
        """The post's mentions, pronouns resolved (`resolve`, as `build_context` does)."""
        if self._resolved is None:
            sentences, mentions = self.parts()
            bounds = [(s.start, s.end) for s in sentences]
            self._resolved = tuple(resolve(self.text, mentions, self.pair, bounds))
            self._starts = [m.start for m in self._resolved]
        return self._resolved

    def resolved_in(self, offset: int, length: int) -> tuple[Mention, ...]:
        """The resolved mentions of the line at `offset`, with offsets in the line."""
        resolved = self.resolved()
        low = bisect_left(self._starts, offset)
        high = bisect_left(self._starts, offset + length + 1)
        return tuple(_shift(m, -offset) for m in resolved[low:high])


def _read_in_post(
    post: Post, pack: RulesPack, scan: Scan, whole: _Whole, readings: list[Variant | None]
) -> list[Claim]:
    """Some lines depend on the lines before: read those inside the post, the others from their
    readings alone, in text order."""
    ctx = build_context(
        post, pack, scan=scan, pair=whole.pair, parts=whole.parts(), resolved=whole.resolved()
    )
    if ctx is None:
        return []
    claims: list[Claim] = []
    claimed: list[TopicHit] = []
    read: set[int] = set()
    for variant, (offset, line, entry) in zip(readings, whole.lines, strict=True):
        if not entry.scan[1]:
            continue
        if variant is None:
            span = (offset, offset + len(line) + 1)
            claims.extend(read_claims(ctx, post, span, claimed, read))
        else:
            claims.extend(_placed(variant.claims, offset, post.post_id))
            claimed.extend(
                TopicHit(t.start + offset, t.end + offset, t.topic, t.strong)
                for t in variant.claimed
            )
    return merge(claims)


def _lines(text: str, pack: RulesPack) -> Lines:
    """The post's lines with their entries (read alone and remembered when new)."""
    out: Lines = []
    offset = 0
    for line in text.split("\n"):
        entry = pack.memo.get(line)
        if entry is None:
            entry = pack.memo.put(line, _entry(line, pack))
        out.append((offset, line, entry))
        offset += len(line) + 1
    return out


def _entry(line: str, pack: RulesPack) -> LineEntry:
    """What a line gives alone: scan, sentences, mentions, named subjects, people, meetings."""
    scan = pack.index.scan(line)
    mentions = raw_mentions(line, scan[0], pack) if scan[0] else []
    people = [m for m in mentions if m.person and m.form == "name"]
    sentences = tuple(split_sentences(line, pack.markers.clause_break))
    resolved: tuple[Mention, ...] | None = tuple(mentions)
    if any(m.form != "name" for m in mentions):
        notes: set[str] = set()
        bounds = [(s.start, s.end) for s in sentences]
        resolved = tuple(resolve(line, mentions, (), bounds, notes))
        if notes:  # a pronoun looked before the line, or "the two sides" needs the post's pair
            resolved = None
    return LineEntry(
        scan=scan,
        sentences=sentences,
        mentions=tuple(mentions),
        named=named_subjects(mentions, pack),
        resolved=resolved,
        people=tuple(people),
        meetings=tuple(people_meetings(line, people)) if people else (),
    )


def _read_alone(  # noqa: PLR0917  (one private caller)
    line: str,
    entry: LineEntry,
    pair: tuple[str, ...],
    day: date | None,
    refs: tuple[tuple[str, bool], ...],
    resolved: tuple[Mention, ...],
    post: Post,
    pack: RulesPack,
) -> Variant:
    """Read the line alone as part of a post with `pair` and `post.published`, its mentions
    `resolved` as in the post (pointing to `refs`); remember it."""
    alone = Post(post_id="", title=line, published=post.published)
    notes: set[str] = set()
    ctx = build_context(
        alone,
        pack,
        scan=entry.scan,
        pair=pair,
        notes=notes,
        parts=(entry.sentences, list(entry.mentions)),
        resolved=resolved,
    )
    if ctx is None:  # cues but no topic: inside a post, "it" could name one from lines before
        variant = Variant(pair=ANY, day=ANY, refs=refs, back=True, claims=(), claimed=())
    else:
        claimed: list[TopicHit] = []
        claims = tuple(read_claims(ctx, alone, None, claimed))
        variant = Variant(
            pair=pair if PAIR in notes else ANY,
            day=day if any("due_text" in c.attrs for c in claims) else ANY,
            refs=refs,
            back=BACK in notes,
            claims=claims,
            claimed=tuple(claimed),
        )
    entry.keep(variant)
    return variant


def _placed(claims: tuple[Claim, ...], offset: int, post_id: str) -> list[Claim]:
    """A line's claims as claims of the post: its id, spans in its text, attributes not shared."""
    return [
        Claim(
            post_id=post_id,
            kind=c.kind,
            actor=c.actor,
            topic=c.topic,
            parties=c.parties,
            attrs={k: list(v) if isinstance(v, list) else v for k, v in c.attrs.items()},
            quote=c.quote,
            span=(c.span[0] + offset, c.span[1] + offset),
            rule=c.rule,
        )
        for c in claims
    ]


def _shift(m: Mention, offset: int) -> Mention:
    return Mention(m.start + offset, m.end + offset, m.code, m.form, m.person, m.possessive, m.obj)


def _shift_sentence(s: Sentence, offset: int) -> Sentence:
    return Sentence(
        start=s.start + offset,
        end=s.end + offset,
        clauses=tuple((a + offset, b + offset) for a, b in s.clauses),
        quoted=s.quoted,
    )


def _same_scan(scan: Scan, lines: Lines) -> bool:
    """Whether the post's scan is its lines' scans laid end to end (nothing spans a line break)."""
    for part in range(3):
        if len(scan[part]) != sum(len(entry.scan[part]) for _, _, entry in lines):
            return False
    aliases, cues, topics = scan
    a = c = t = 0
    for offset, _, entry in lines:
        for s, e, key, tags in entry.scan[0]:
            if aliases[a] != (s + offset, e + offset, key, tags):
                return False
            a += 1
        for s, e, i in entry.scan[1]:
            if cues[c] != (s + offset, e + offset, i):
                return False
            c += 1
        for s, e, i in entry.scan[2]:
            if topics[t] != (s + offset, e + offset, i):
                return False
            t += 1
    return True


def _same_meetings(text: str, lines: Lines) -> bool:
    """Whether the post's meetings between two people are its lines' laid end to end (people on
    the next line can make one). Only people count: without any there is none anywhere."""
    if not any(entry.people for _, _, entry in lines):
        return True
    people = [_shift(m, offset) for offset, _, entry in lines for m in entry.people]
    found = [
        TopicHit(t.start + offset, t.end + offset, t.topic, t.strong)
        for offset, _, entry in lines
        for t in entry.meetings
    ]
    return people_meetings(text, people) == found
