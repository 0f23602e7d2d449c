"""The faster extraction code gives exactly what the code before the speed work gave, on any
text: word forms, sentence and clause splits, the object test of names, the automaton's longer
stems, the word-start gates in front of regexes and the count regex's look-ahead. The references
are in `tests/claims/reference.py` (the code of commit 475087a, and the plain form of the
names-joined-to-objects rule of issue 4's second round)."""

from __future__ import annotations

import importlib
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.claims import RulesPack, attrs, keywords, load_pack
from monitor.claims.keywords import WordStartGate, padded_form, word_form
from monitor.claims.mentions import is_object, raw_mentions
from monitor.claims.segment import split_sentences
from tests.claims import reference

extract_module = importlib.import_module("monitor.claims.extract")  # the package exports extract()

# Words and marks that exercise every path: cue and marker words, names, abbreviations,
# sentence ends, bullets, clause breaks, typographic quotes and the characters whose case
# folding is odd ("İ", dotless i, long s, the Kelvin sign), digits and number words.
PIECES = [
    "Russia", "Ukraine", "Kyiv's", "US", "us", "the", "a", "said", "says", "told", "agreed", "to",
    "if", "If", "unless", "hopes", "could", "may", "aims", "under pressure to", "not", "won’t",
    "ceasefire", "full", "partial", "unconditional", "lifted", "sanctions", "wounded", "sick",
    "seriously", "women", "children", "under", "aged", "18-25", "younger than", "civilians",
    "soldiers", "6,000", "two", "twenty-five", "hundreds", "a thousand", "1999", "30-day",
    "from", "with", "President", "Mr.", "U.S.", "Dr.", "accused", "call", "on", "met",
    ".", "!", "?", "…", ",", ";", ":", " but ", ", while", " after ", " because ", "•", "·",
    "’", "“", "”", "‘", '"', "'", "(", ")", "–", "—", "-", "\n", "\t", "_", "é", "İ", "ı",
    "ſ", "\u212a", "K", "\u00a0", "\u2028", "ß", "Ⓐ", "٣", "OK", "A", "2", "B.",
    "meeting", "Talks", "summit", "between", "with", "of", "Putin", "Zelensky", "by", "end of",
    "next week", "this month", "Friday", "20 January", "June 3", "within 30 days", "tomorrow",
    "before", "until", "Monday", "year", "coming",
]  # fmt: skip
SEPARATORS = [" ", "", "  ", "\n", ". ", ", "]

texts = st.lists(st.tuples(st.sampled_from(PIECES), st.sampled_from(SEPARATORS)), max_size=70).map(
    lambda parts: "".join(a + b for a, b in parts)
)
any_text = st.one_of(texts, st.text(max_size=120))


@pytest.fixture(scope="module")
def short_stem_pack() -> RulesPack:
    """The packaged rules with the automaton's stems as they were (4 characters, not 8)."""
    saved = keywords._STEM
    keywords._STEM = 4
    try:
        return load_pack()
    finally:
        keywords._STEM = saved


@settings(max_examples=400, deadline=None)
@given(any_text)
def test_word_form_is_the_definition(text: str) -> None:
    """The bytes.translate paths give the regex definition's form, and `padded_form` pads it."""
    assert word_form(text) == reference.word_form(text)
    padded, plain = padded_form(text)
    assert padded == f" {reference.word_form(text)} "
    assert plain == (not any(re.match(r"\w", ch) and not ch.isascii() for ch in text))


@settings(max_examples=400, deadline=None)
@given(any_text)
def test_split_gives_the_reference_sentences_and_clauses(pack: RulesPack, text: str) -> None:
    """With or without the clause-break index, the split is the reference split."""
    expected = reference.split_sentences(text, pack.markers.clause_break)
    fast = split_sentences(text, pack.markers.clause_break, pack.markers.clause_break_index)
    plain = split_sentences(text, pack.markers.clause_break)
    assert [tuple(s) for s in fast] == expected
    assert [tuple(s) for s in plain] == expected


def test_split_with_every_clause_break_and_abbreviation(pack: RulesPack) -> None:
    """Breaks at a sentence's edges, overlapping breaks (", but" and " but "), a break listed
    twice, bullets and closing quotes split as before."""
    for text in [
        "Russia agreed, but Ukraine refused; talks went on: later, while it rained.",
        ", but first; then , but , but.",
        "He said. “Next one.” • Bullet · here. Mr. X met U.S. envoys! Did they? Yes…",
        'Quoted "end." Then (more) after it, although not because of it, as agreed, yet.',
        "A line without an end\nanother line; and one more: done",
        "He left. OK\nTalks end. 2\nDone! “A\nSo.) -\nEnd… (B\nNo end. \nLast. a",
    ]:
        expected = reference.split_sentences(text, pack.markers.clause_break)
        fast = split_sentences(text, pack.markers.clause_break, pack.markers.clause_break_index)
        assert [tuple(s) for s in fast] == expected


@settings(max_examples=300, deadline=None)
@given(texts)
def test_is_object_is_the_reference(pack: RulesPack, text: str) -> None:
    """The remembered word classes give the reference's answer at every word start."""
    for m in re.finditer(r"\b\w", text):
        assert is_object(text, m.start(), pack) == reference.is_object(text, m.start(), pack)


JOINED_PIECES = ["Russia", "Ukraine", "Europe", "the United States", "Qatar", "Egypt", "and", "or",
                 "the", "by", "on", "called on", "urged", "with", "said", ",", ".", "put forward by",
                 "Kyiv's", "talks", "between", "States", "he", "\n"]  # fmt: skip
joined_texts = st.lists(st.sampled_from(JOINED_PIECES), max_size=30).map(" ".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(joined_texts, texts))
def test_names_joined_to_objects_are_the_plain_rule(pack: RulesPack, text: str) -> None:
    """The object flags of names (`is_object`, and "and"/"or" after an object name, marked inside
    the mention loop) are those of the plain rule in the reference."""
    alias_hits, _cues, _topics = pack.index.scan(text)
    names = [(m.start, m.end) for m in raw_mentions(text, alias_hits, pack) if m.form == "name"]
    flags = [m.obj for m in raw_mentions(text, alias_hits, pack) if m.form == "name"]
    assert flags == reference.name_objects(text, names, pack)


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_longer_automaton_stems_find_the_same_hits(
    pack: RulesPack, short_stem_pack: RulesPack, text: str
) -> None:
    """Stems of 8 characters (falling back to 4) find exactly the hits 4-character stems did."""
    assert pack.index.scan(text) == short_stem_pack.index.scan(text)


def _gated_regexes(pack: RulesPack) -> list[tuple[WordStartGate, re.Pattern[str]]]:
    gated = [(gate, getattr(pack.markers, name)) for name, gate in pack.markers.gates.items()]
    gated += [(gate, regex) for regex, gate in attrs._GATES.items()]
    return gated


@settings(max_examples=300, deadline=None)
@given(any_text, st.integers(0, 200), st.integers(0, 200))
def test_a_gate_never_hides_a_match(pack: RulesPack, text: str, a: int, b: int) -> None:
    """Where a gate says a regex cannot match in [a, b), it does not (on plain text; on other
    text the gate always lets the regex run)."""
    padded, plain = padded_form(text)
    form = padded if plain else None
    a, b = min(a, b, len(text)), min(max(a, b), len(text))
    for gate, regex in _gated_regexes(pack):
        if not gate.may_match(form, a, b):
            assert form is not None
            assert regex.search(text, a, b) is None, (regex.pattern[:60], text[a:b])
        found = gate.search(regex, text, form, a, b)
        expected = regex.search(text, a, b)
        assert (found and found.span()) == (expected and expected.span())
        assert [m.span() for m in gate.finditer(regex, text, form, a, b)] == [
            m.span() for m in regex.finditer(text, a, b)
        ]
    if not attrs._NUMBER_GATE.may_match(form, 0, len(text)):
        assert attrs._COUNT.search(text) is None
        assert attrs._DURATION.search(text) is None
    if form is not None and extract_module._MEETING_FORM.search(form) is None:
        assert extract_module._MEETING.search(text) is None


def test_gates_know_their_stems(pack: RulesPack) -> None:
    """The gates in use have stems (else they would be no use), and let a plain match through."""
    for gate, _ in _gated_regexes(pack):
        assert gate.keys
    form, plain = padded_form("If Russia hopes for a full ceasefire")
    assert plain
    assert pack.markers.gates["conditional"].may_match(form, 0, 36)
    assert not pack.markers.gates["conditional"].may_match(form, 3, 36)  # "if" only at 0
    assert WordStartGate(r"(?<!\w)\w+n't").keys is None  # no literal start: always run


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_count_regex_with_look_ahead_is_the_reference(text: str) -> None:
    """The count regex behind its first-character look-ahead finds the reference's matches."""
    found = [(m.span(), m.groups()) for m in attrs._COUNT.finditer(text)]
    assert found == [(m.span(), m.groups()) for m in reference._COUNT.finditer(text)]


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_deadline_prefilters_hide_nothing(text: str) -> None:
    """The deadline found is the regex's first match wherever the old word test let it run."""
    low = text.lower()
    m = attrs._DEADLINE.search(text) if any(w in low for w in attrs._DEADLINE_WORDS) else None
    assert attrs.find_deadline(text, None) == ({"due_text": m.group(0)} if m else {})
