"""The line memo (`monitor/claims/lines.py`, `memo.py`): reusing what was read of a line never
changes a claim. Every test compares `extract` (with the memo) with `extract_whole` (each post
read at once, the path without it), on real documents, recombined posts and the cases where a
line depends on the others."""

from __future__ import annotations

import json
import pickle
import random
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.claims import RulesPack, extract, load_pack
from monitor.claims.document import read_document
from monitor.claims.extract import extract_whole
from monitor.claims.memo import LineMemo
from monitor.posts import Post
from tests.claims.conftest import PUBLISHED

DATA = Path(__file__).parent / "data"


def _documents(shared_dir: Path) -> list[list[Post]]:
    paths = sorted(shared_dir.glob("seed/*.json")) + sorted(DATA.glob("*.json"))
    return [read_document(p) for p in paths]


def _as_json(claims: list) -> list[str]:
    return [json.dumps(c.to_json(), ensure_ascii=False) for c in claims]


def _same(post: Post, pack: RulesPack) -> list[str]:
    """The claims with the memo, asserted equal to those read whole; returned as JSON lines."""
    found = _as_json(extract(post, pack))
    assert found == _as_json(extract_whole(post, pack)), post
    return found


def _post(*lines: str, post_id: str = "p1", published: datetime | None = PUBLISHED) -> Post:
    return Post(post_id=post_id, title=lines[0], paragraphs=lines[1:], published=published)


def test_every_labelled_document_gives_the_same_claims_cold_and_warm(shared_dir: Path) -> None:
    """The seed page and our labelled documents, read with an empty memo, then again with every
    line remembered: the same claims as read whole, each time."""
    pack = load_pack()
    documents = _documents(shared_dir)
    first = [[_same(p, pack) for p in doc] for doc in documents]
    assert len(pack.memo) > 100
    hits = pack.memo.hits
    again = [[_same(p, pack) for p in doc] for doc in documents]
    assert again == first
    assert pack.memo.hits > hits  # the second time, the lines were remembered


def test_recombined_posts_give_the_same_claims(shared_dir: Path) -> None:
    """Posts made of other posts' lines in new orders and new company (a pronoun's line after a
    line naming someone else, a title in the middle): 600 of them, against the whole reading."""
    pack = load_pack()
    lines = [
        line for doc in _documents(shared_dir) for post in doc for line in post.text().split("\n")
    ]
    rng = random.Random(4)
    claims = 0
    for i in range(600):
        chosen = rng.sample(lines, rng.randint(1, 6))
        published = PUBLISHED + timedelta(days=rng.randint(0, 40)) if i % 7 else None
        claims += len(_same(_post(*chosen, post_id=f"r{i}", published=published), pack))
    assert claims > 300  # the posts did say things
    assert pack.memo.hits > 0


def test_revisions_reuse_their_first_version_and_read_the_same(shared_dir: Path) -> None:
    """A revision (the same post with a paragraph added, or one edited) reuses the lines it
    shares with the version before, and gives the claims the whole reading gives."""
    pack = load_pack()
    for doc in _documents(shared_dir):
        for post in doc:
            said = _same(post, pack)
            hits = pack.memo.hits
            added = replace(post, paragraphs=(*post.paragraphs, doc[0].text().split("\n")[-1]))
            _same(added, pack)
            if said:  # (a post without a cue and a topic is never split into lines)
                assert pack.memo.hits >= hits + len(post.text().split("\n"))
            if post.paragraphs:
                edited = replace(post, paragraphs=(post.paragraphs[0] + " Updated.",))
                _same(edited, pack)


def test_a_pronoun_reads_its_own_post_not_a_remembered_one() -> None:
    """The same line after different lines: "They" is whoever the post named before."""
    pack = load_pack()
    line = "They agreed to exchange 1,000 prisoners of war."
    a = _same(_post("Russia and Ukraine met in Istanbul.", line), pack)
    b = _same(_post("India and Pakistan met in Geneva.", line), pack)
    assert [json.loads(x)["parties"] for x in a] == [["RUS", "UKR"]]
    assert [json.loads(x)["parties"] for x in b] == [["IND", "PAK"]]


def test_the_two_sides_are_the_posts_own_pair() -> None:
    """ "The two sides" in the same line means each post's two main actors."""
    pack = load_pack()
    line = "The two sides agreed to a 30-day ceasefire."
    a = _same(_post("Armenia and Azerbaijan held talks.", line), pack)
    b = _same(_post("Serbia and Kosovo held talks.", line), pack)
    assert json.loads(a[0])["parties"] == ["ARM", "AZE"]
    assert json.loads(b[0])["parties"] == ["SRB", "XKX"]


def test_a_deadline_is_resolved_against_each_posts_day() -> None:
    """The same line published on two days: "next week" ends on a different Sunday."""
    pack = load_pack()
    line = "Russia agreed to hand over 6,000 bodies to Ukraine next week."
    monday = _same(_post(line, published=PUBLISHED), pack)
    later = _same(_post(line, published=PUBLISHED + timedelta(days=14)), pack)
    undated = _same(_post(line, published=None), pack)
    assert json.loads(monday[0])["attrs"]["due"] == "2025-06-15"
    assert json.loads(later[0])["attrs"]["due"] == "2025-06-29"
    assert "due" not in json.loads(undated[0])["attrs"]


def test_a_name_across_a_line_break_makes_the_post_read_whole() -> None:
    """ "the two\\nsides" is one phrase in the post's scan but not in its lines': read whole."""
    pack = load_pack()
    before = pack.memo.whole
    _same(_post("Russia and Ukraine: the two", "sides agreed to exchange prisoners."), pack)
    assert pack.memo.whole == before + 1


def test_a_meeting_between_people_on_the_next_line_makes_the_post_read_whole() -> None:
    """ "a meeting between" at the end of a line, its two people on the next: read whole."""
    pack = load_pack()
    before = pack.memo.whole
    found = _same(_post("Turkey offered to host a meeting between", "Zelensky and Putin."), pack)
    assert pack.memo.whole == before + 1
    assert any(json.loads(x)["topic"] == "leaders_meeting" for x in found)


def test_returned_claims_do_not_share_the_memos_attributes() -> None:
    """Changing a returned claim's attributes changes nothing read later."""
    pack = load_pack()
    post = _post("Russia agreed to exchange 1,000 seriously wounded prisoners with Ukraine.")
    first = extract(post, pack)
    first[0].attrs["categories"].append("changed")
    first[0].attrs["count"] = -1
    assert _as_json(extract(post, pack)) == _as_json(extract_whole(post, pack))


def test_the_memo_is_bounded_and_a_tiny_one_changes_nothing(shared_dir: Path) -> None:
    """With room for 5 lines (or none) the memo keeps at most that many, claims unchanged."""
    for capacity in (5, 0):
        pack = replace(load_pack(), memo=LineMemo(capacity))
        for doc in _documents(shared_dir)[:4]:
            for post in doc:
                _same(post, pack)
                assert len(pack.memo) <= capacity


def test_a_copied_memo_starts_empty() -> None:
    """A pack sent to another process does not carry (or share) what this one read."""
    pack = load_pack()
    extract(_post("Russia rejected a ceasefire."), pack)
    copy = pickle.loads(pickle.dumps(pack.memo))
    assert len(pack.memo) == 1
    assert len(copy) == 0
    assert copy.capacity == pack.memo.capacity


WORDS = [
    "Russia", "Ukraine", "Kyiv's", "Hamas", "Israel", "the two sides", "he", "they", "it", "who",
    "Zelensky", "Putin", "meeting between", "said", "rejected", "agreed", "to", "demand",
    "called for", "will", "not", "if", "a", "the", "ceasefire", "truce", "prisoners", "bodies",
    "6,000", "next week", "sanctions", "memorandum", "released", "handed over", "and", ",", ".",
    "\n", "\n", "\n",
]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(WORDS), max_size=50), st.booleans())
def test_any_word_soup_over_several_lines_reads_the_same(
    pack: RulesPack, words: list[str], dated: bool
) -> None:
    """Cue words, names, pronouns and line breaks in any order: the memo (shared by every
    example, so lines come back) never changes a claim."""
    text = " ".join(words)
    lines = [line for line in text.split("\n") if line.strip()] or [""]
    _same(_post(*lines, published=PUBLISHED if dated else None), pack)
