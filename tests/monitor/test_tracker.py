"""The tracker: which polls become PostPublished, PostRevised and PostWithdrawn, and with which keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.events import PostPublished, PostRevised, PostWithdrawn
from monitor.posts import Post
from monitor.sources.base import ParsedPage
from monitor.tracker import (
    KnownPost,
    clean_url,
    decide,
    knowledge_from,
    learn,
    revision_hash,
)
from store.records import RecordedEvent

T0 = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
NOW = datetime(2025, 6, 2, 18, 0, tzinfo=UTC)


def _post(n: int, body: str = "", **kw: object) -> Post:
    return Post(
        post_id=f"p{n}",
        title=f"Post {n}",
        paragraphs=(body or f"Body of post {n}.",),
        published=T0 + timedelta(minutes=n),
        **kw,  # type: ignore[arg-type]
    )


def _page(*posts: Post, complete: bool = True, more: tuple[str, ...] = ()) -> ParsedPage:
    times = [p.published for p in posts if p.published]
    covers = (min(times), max(times)) if times else None
    return ParsedPage(posts=tuple(posts), complete=complete, covers=covers, next_pages=more)


def _apply(known: dict[str, KnownPost], source: str, *pages: ParsedPage) -> dict[str, KnownPost]:
    return decide(source, known, pages, seen_at=NOW).knowledge


def test_first_poll_publishes_every_post_with_stable_keys() -> None:
    """Every post of a first poll is one PostPublished keyed by source and post id."""
    d = decide("s", {}, [_page(_post(1), _post(2))], seen_at=NOW)
    assert [type(e.event) for e in d.events] == [PostPublished, PostPublished]
    assert [e.idempotency_key for e in d.events] == ["PostPublished:s:p1", "PostPublished:s:p2"]
    assert [e.stream_id for e in d.events] == ["post:s:p1", "post:s:p2"]
    assert all(e.expected_version == 0 for e in d.events)
    assert d.knowledge["p1"].version == 1


def test_repoll_of_unchanged_page_decides_nothing() -> None:
    """Polling the same content again proposes no event."""
    page = _page(_post(1), _post(2))
    known = _apply({}, "s", page)
    assert decide("s", known, [page], seen_at=NOW).events == ()


def test_edit_is_one_revision_with_previous_hash() -> None:
    """A real text change is one PostRevised carrying the new post and the old hash."""
    known = _apply({}, "s", _page(_post(1), _post(2)))
    edited = _post(2, "Body of post 2, now with a quote from the minister.")
    d = decide("s", known, [_page(_post(1), edited)], seen_at=NOW)
    (planned,) = d.events
    assert isinstance(planned.event, PostRevised)
    assert planned.event.previous_hash == known["p2"].content_hash
    assert planned.event.content_hash == revision_hash(edited)
    assert planned.idempotency_key == f"PostRevised:s:p2:v1:{revision_hash(edited)}"
    assert planned.expected_version == 1


def test_whitespace_relative_time_and_tracking_changes_are_not_revisions() -> None:
    """Re-flowed whitespace, "5 minutes ago" and utm_ parameters do not make a revision."""
    first = _post(1, "Talks resumed 5 minutes ago. See https://example.org/a?id=3&utm_source=x")
    known = _apply({}, "s", _page(first))
    later = _post(
        1,
        "Talks  resumed\n 2 hours ago.   See https://example.org/a?id=3&fbclid=abc",
        url="https://example.org/live?utm_campaign=y#p1",
    )
    assert decide("s", known, [_page(later)], seen_at=NOW).events == ()
    real = _post(1, "Talks resumed 5 minutes ago. See https://example.org/a?id=4")
    assert len(decide("s", known, [_page(real)], seen_at=NOW).events) == 1


def test_modified_time_alone_is_not_a_revision() -> None:
    """A new dateModified with the same text proposes nothing."""
    known = _apply({}, "s", _page(_post(1)))
    touched = _post(1, modified=NOW)
    assert decide("s", known, [_page(touched)], seen_at=NOW).events == ()


def test_post_missing_within_complete_page_range_is_withdrawn() -> None:
    """A post missing from a complete page that still spans its time is withdrawn once."""
    known = _apply({}, "s", _page(_post(1), _post(2), _post(3)))
    d = decide("s", known, [_page(_post(1), _post(3))], seen_at=NOW)
    (planned,) = d.events
    assert isinstance(planned.event, PostWithdrawn)
    assert planned.event.post_id == "p2"
    assert planned.idempotency_key == "PostWithdrawn:s:p2:v1"
    assert d.knowledge["p2"].withdrawn
    assert decide("s", d.knowledge, [_page(_post(1), _post(3))], seen_at=NOW).events == ()


def test_post_scrolled_to_an_unfetched_page_is_not_withdrawn() -> None:
    """The oldest post leaving page 1 for page 2 is outside page 1's range: nothing happens."""
    known = _apply({}, "s", _page(_post(1), _post(2), _post(3)))
    page1 = _page(_post(2), _post(3), _post(4), more=("https://x/?page=2",))
    d = decide("s", known, [page1], seen_at=NOW)
    assert [type(e.event) for e in d.events] == [PostPublished]


def test_incomplete_page_never_withdraws() -> None:
    """A feed that lists only its latest items (complete=False) withdraws nothing."""
    known = _apply({}, "s", _page(_post(1), _post(2), _post(3)))
    d = decide("s", known, [_page(_post(1), _post(3), complete=False)], seen_at=NOW)
    assert d.events == ()


def test_post_without_time_is_never_withdrawn() -> None:
    """Without a publication time no page can be said to cover the post."""
    undated = Post(post_id="u", title="Undated")
    known = _apply({}, "s", _page(_post(1), undated, _post(3)))
    assert decide("s", known, [_page(_post(1), _post(3))], seen_at=NOW).events == ()


def test_withdrawn_post_that_returns_is_published_again() -> None:
    """A post restored after its withdrawal is published again under a versioned key."""
    known = _apply({}, "s", _page(_post(1), _post(2), _post(3)))
    known = _apply(known, "s", _page(_post(1), _post(3)))
    d = decide("s", known, [_page(_post(1), _post(2), _post(3))], seen_at=NOW)
    (planned,) = d.events
    assert isinstance(planned.event, PostPublished)
    assert planned.idempotency_key == "PostPublished:s:p2:v2"
    assert planned.expected_version == 2


def test_revert_to_an_earlier_text_is_a_revision_of_its_own() -> None:
    """A -> B -> A gives two revisions with distinct keys (the version is in the key)."""
    a, b = _post(1, "Version A."), _post(1, "Version B.")
    known = _apply({}, "s", _page(a))
    d1 = decide("s", known, [_page(b)], seen_at=NOW)
    d2 = decide("s", d1.knowledge, [_page(a)], seen_at=NOW)
    keys = [d1.events[0].idempotency_key, d2.events[0].idempotency_key]
    assert len(set(keys)) == 2


def test_post_repeated_on_two_pages_counts_once() -> None:
    """A post that sits on page 1 and page 2 during a scroll is published once."""
    d = decide("s", {}, [_page(_post(1), _post(2)), _page(_post(2), _post(3))], seen_at=NOW)
    assert [e.event.post.post_id for e in d.events] == ["p1", "p2", "p3"]  # type: ignore[union-attr]


def test_tracking_parameters_are_removed_from_urls() -> None:
    """utm_*, fbclid and at_* go; meaningful parameters and fragments stay."""
    assert clean_url("https://x.org/a?id=3&utm_source=t&fbclid=z#p1") == "https://x.org/a?id=3#p1"
    assert clean_url("https://x.org/a?at_medium=rss") == "https://x.org/a"
    assert clean_url("https://x.org/a") == "https://x.org/a"


def test_knowledge_rebuilt_from_records_matches_decisions() -> None:
    """Folding the appended events back from the log gives the tracker's own knowledge."""
    d1 = decide("s", {}, [_page(_post(1), _post(2))], seen_at=NOW)
    d2 = decide("s", d1.knowledge, [_page(_post(1, "new text"))], seen_at=NOW)
    records = []
    versions: dict[str, int] = {}
    for i, planned in enumerate([*d1.events, *d2.events], start=1):
        new = planned.to_new_event()
        versions[new.stream_id] = versions.get(new.stream_id, 0) + 1
        records.append(
            RecordedEvent(
                position=i,
                stream_id=new.stream_id,
                stream_version=versions[new.stream_id],
                event_type=new.event_type,
                schema_version=new.schema_version,
                recorded_at=NOW,
                idempotency_key=new.idempotency_key,
                data=new.data,
                prev_hash="",
                hash="",
            )
        )
    assert knowledge_from(records) == {"s": d2.knowledge}


# --- properties -------------------------------------------------------------------------------

_words = st.text(alphabet="abcdefgh ", min_size=1, max_size=30).filter(lambda s: s.strip())
_posts = st.lists(
    st.builds(
        _post,
        st.integers(min_value=0, max_value=40),
        _words,
    ),
    max_size=12,
    unique_by=lambda p: p.post_id,
)


@settings(max_examples=150, deadline=None)
@given(first=_posts, second=_posts)
def test_deciding_twice_on_the_same_poll_proposes_nothing_new(
    first: list[Post], second: list[Post]
) -> None:
    """After applying a poll's decision, the same poll again decides nothing."""
    known = _apply({}, "s", _page(*first))
    d = decide("s", known, [_page(*second)], seen_at=NOW)
    again = decide("s", d.knowledge, [_page(*second)], seen_at=NOW)
    assert again.events == ()


@settings(max_examples=150, deadline=None)
@given(first=_posts, second=_posts)
def test_decisions_are_deterministic_and_keys_unique(first: list[Post], second: list[Post]) -> None:
    """The same inputs give the same keys; no two events of one decision share a key or stream."""
    known = _apply({}, "s", _page(*first))
    a = decide("s", known, [_page(*second)], seen_at=NOW)
    b = decide("s", known, [_page(*second)], seen_at=NOW + timedelta(seconds=5))
    assert [e.idempotency_key for e in a.events] == [e.idempotency_key for e in b.events]
    assert len({e.idempotency_key for e in a.events}) == len(a.events)
    assert len({e.stream_id for e in a.events}) == len(a.events)


@settings(max_examples=150, deadline=None)
@given(posts=_posts, data=st.data())
def test_whitespace_noise_never_revises(posts: list[Post], data: st.DataObject) -> None:
    """Any re-spacing of every paragraph decides nothing."""
    known = _apply({}, "s", _page(*posts))
    spaced = []
    for p in posts:
        pad = data.draw(st.sampled_from([" ", "  ", "\n", "\t "]))
        spaced.append(_post(int(p.post_id[1:]), pad + p.paragraphs[0].replace(" ", pad) + pad))
    assert decide("s", known, [_page(*spaced)], seen_at=NOW).events == ()


@settings(max_examples=150, deadline=None)
@given(posts=_posts, keep=st.data())
def test_withdrawals_only_within_complete_coverage(posts: list[Post], keep: st.DataObject) -> None:
    """Every withdrawal concerns a known post, missing now, whose time a complete page covers."""
    known = _apply({}, "s", _page(*posts))
    kept = (
        keep.draw(st.lists(st.sampled_from(posts), unique_by=lambda p: p.post_id)) if posts else []
    )
    page = _page(*kept)
    d = decide("s", known, [page], seen_at=NOW)
    kept_ids = {p.post_id for p in kept}
    for planned in d.events:
        assert isinstance(planned.event, PostWithdrawn)
        assert planned.event.post_id not in kept_ids
        when = known[planned.event.post_id].published
        assert page.covers is not None
        assert when is not None
        assert page.covers[0] <= when <= page.covers[1]


def test_learn_ignores_unrelated_events() -> None:
    """Source events and unknown objects leave knowledge unchanged."""
    known: dict[str, KnownPost] = {}
    learn(known, object())
    assert known == {}


def test_post_missing_between_two_complete_pages_is_withdrawn() -> None:
    """Consecutive complete pages cover the gap between them: a post that was there is withdrawn."""
    known = _apply({}, "s", _page(_post(1), _post(2), _post(3), _post(4)))
    d = decide("s", known, [_page(_post(3), _post(4)), _page(_post(1))], seen_at=NOW)
    assert [type(e.event) for e in d.events] == [PostWithdrawn]


def test_gap_is_not_covered_when_a_page_is_incomplete() -> None:
    """With an incomplete page in the poll, only each complete page's own range counts."""
    known = _apply({}, "s", _page(_post(1), _post(2), _post(3), _post(4)))
    pages = [_page(_post(3), _post(4)), _page(_post(1), complete=False)]
    assert decide("s", known, pages, seen_at=NOW).events == ()
