"""Properties of extraction on any text: it never raises, and every span slices the post's text
to the claim's quote. Hostile input: huge posts, control characters, HTML-ish text."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.claims import RulesPack, extract
from monitor.claims.extract import OTHER
from monitor.claims.model import KINDS
from monitor.posts import Post
from tests.claims.conftest import read

WORDS = [
    "Russia", "Ukraine", "Kyiv's", "Hamas", "Israel", "the two sides", "he", "they", "US", "us", "said",
    "rejected", "agreed", "to", "demand", "called for", "will", "not", "if", "a", "ceasefire", "truce",
    "prisoners", "bodies", "6,000", "two-to-three", "day", "next week", "sanctions", "memorandum",
    "released", "handed over", "refuses", "offered", ",", ".", "\"", "’s", "-", "\n", "by", "no",
]  # fmt: skip


def _check(post: Post, pack: RulesPack) -> None:
    text = post.text()
    for claim in extract(post, pack):
        assert claim.kind in KINDS
        assert text[claim.span[0] : claim.span[1]] == claim.quote
        assert claim.quote.strip() == claim.quote
        assert claim.quote
        assert claim.actor in pack.actors
        assert claim.topic in pack.topics or claim.topic == OTHER  # "other": no topic named


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=60).map(" ".join), st.text(max_size=80))
def test_extract_never_raises_and_spans_slice_to_quotes(
    pack: RulesPack, words: str, noise: str
) -> None:
    """Any mix of cue words, names and noise gives well-formed claims."""
    _check(Post(post_id="p", title=noise, paragraphs=(words, noise + words)), pack)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_extract_survives_arbitrary_unicode(pack: RulesPack, text: str) -> None:
    """Arbitrary Unicode (including characters whose lower case is longer) never breaks spans."""
    _check(
        Post(post_id="p", paragraphs=(text, "İstanbul: Russia rejected a ceasefire. " + text)), pack
    )


def test_huge_post_is_read(pack: RulesPack) -> None:
    """A post of a few hundred thousand characters is read, with every claim well formed."""
    paragraph = "Russia again rejected a ceasefire, Ukrainian negotiators said. " * 4000
    claims = extract(Post(post_id="p", paragraphs=(paragraph,)), pack)
    assert [(c.kind, c.actor, c.topic) for c in claims] == [("rejection", "RUS", "ceasefire")]


def test_control_characters_and_html_ish_text_are_harmless(pack: RulesPack) -> None:
    """Control characters and markup do not crash extraction or leak into other claims."""
    text = "<p>Russia\x00 \x1b[31mrejected</p> a <b>ceasefire</b>.\x07 <script>alert('Hamas agreed')</script>"
    claims = read(pack, text, "\x0b\x0c" + string.printable)
    for claim in claims:
        assert claim.quote in text or claim.quote in "\x0b\x0c" + string.printable


def test_empty_post_gives_no_claims(pack: RulesPack) -> None:
    """A post with no text gives no claims."""
    assert extract(Post(post_id="p"), pack) == []
