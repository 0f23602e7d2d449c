"""Fixtures for the claims tests: one packaged rules pack per session, and a post builder."""

from __future__ import annotations

from datetime import datetime

import pytest

from monitor.claims import Claim, RulesPack, extract, load_pack
from monitor.posts import Post

PUBLISHED = datetime.fromisoformat("2025-06-02T17:32:00+01:00")  # a Monday


@pytest.fixture(scope="session")
def pack() -> RulesPack:
    """The packaged rules pack."""
    return load_pack()


def post(
    *paragraphs: str,
    title: str = "",
    captions: tuple[str, ...] = (),
    published: datetime | None = PUBLISHED,
) -> Post:
    """A post of the given text."""
    return Post(
        post_id="p1", title=title, paragraphs=paragraphs, captions=captions, published=published
    )


def read(pack: RulesPack, *paragraphs: str, **kwargs: object) -> list[Claim]:
    """Extract the claims of a post made of `paragraphs`."""
    return extract(post(*paragraphs, **kwargs), pack)  # type: ignore[arg-type]


def triples(claims: list[Claim]) -> set[tuple[str, str, str]]:
    """(kind, actor, topic) of each claim."""
    return {(c.kind, c.actor, c.topic) for c in claims}
