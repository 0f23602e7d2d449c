"""Splitting a post's text into sentences and clauses."""

from __future__ import annotations

from monitor.claims import RulesPack
from monitor.claims.segment import split_sentences


def _sentences(pack: RulesPack, text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text, pack.markers.clause_break)]


def test_lines_and_sentence_ends_split_and_abbreviations_do_not(pack: RulesPack) -> None:
    """Each line is split at sentence ends; "U.S." and "Mr." do not end a sentence."""
    text = "Title here\nThe U.S. envoy met Mr. Umerov. He left! Did they agree? Yes."
    assert _sentences(pack, text) == [
        "Title here",
        "The U.S. envoy met Mr. Umerov.",
        "He left!",
        "Did they agree?",
        "Yes.",
    ]


def test_quoted_sentences_keep_their_quotes_and_are_marked(pack: RulesPack) -> None:
    """A sentence ending inside quotes keeps the closing quote; a quoted line is marked quoted."""
    text = '"We are calling for a ceasefire. If not, sanctions must follow," he says.'
    found = split_sentences(text, pack.markers.clause_break)
    assert [text[s.start : s.end] for s in found] == [
        '"We are calling for a ceasefire.',
        'If not, sanctions must follow," he says.',
    ]
    assert found[0].quoted


def test_clauses_are_cut_at_but_and_semicolons(pack: RulesPack) -> None:
    """ ", but" and ";" open new clauses inside one sentence."""
    text = "Russia rejected a truce, but Ukraine offered talks; Turkey will host."
    [sentence] = split_sentences(text, pack.markers.clause_break)
    assert [text[a:b] for a, b in sentence.clauses] == [
        "Russia rejected a truce",
        ", but Ukraine offered talks",
        "; Turkey will host.",
    ]


def test_a_clause_break_word_inside_another_word_cuts_nothing(pack: RulesPack) -> None:
    """The packaged breaks keep their spaces (" but ", " after "): "contribute", "thereafter"
    and "beforehand" are one word, read with the automaton and with the regex alike."""
    text = "Qatar will contribute funds thereafter and Egypt beforehand, but Israel refused."
    for index in (pack.markers.clause_break_index, None):
        [sentence] = split_sentences(text, pack.markers.clause_break, index, True)
        assert [text[a:b] for a, b in sentence.clauses] == [
            "Qatar will contribute funds thereafter and Egypt beforehand",
            ", but Israel refused.",
        ]
