"""The extraction pipeline (stub)."""

from __future__ import annotations

from monitor.claims.model import Claim
from monitor.claims.pack import RulesPack
from monitor.posts import Post


def extract(post: Post, pack: RulesPack) -> list[Claim]:
    """Read one post into claims (stub: none yet)."""
    return []
