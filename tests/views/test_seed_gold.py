"""The seed page replayed through the fold gives exactly the gold's views."""

from __future__ import annotations

from pathlib import Path

from monitor.views import NegotiationProjection
from tests.views._script import fold
from tests.views._seed import (
    gold_extractor,
    gold_views,
    published,
    recorded,
    seed_posts,
    view_mismatches,
)


def _as_views(rows: dict) -> dict:
    return {
        v: {"rows": [rows.get(v, {})[k] for k in sorted(rows.get(v, {}))]}
        for v in ("open_demands", "agreed_exchanges", "proposals")
    }


def test_seed_page_with_gold_claims_gives_the_gold_views(shared_dir: Path):
    """With the gold's claims as the extractor's output, the views hold the gold rows and no others."""
    events = recorded([published(p) for p in seed_posts(shared_dir)])
    _, rows = fold(NegotiationProjection(gold_extractor), events)
    assert view_mismatches(_as_views(rows), gold_views(shared_dir)) == []


def test_gold_comparison_catches_a_spurious_row(shared_dir: Path):
    """The comparison itself fails when a row is extra, so the test above can fail."""
    events = recorded([published(p) for p in seed_posts(shared_dir)])
    _, rows = fold(NegotiationProjection(gold_extractor), events)
    views = _as_views(rows)
    views["proposals"]["rows"].append({"actor": "UKR", "topic": "talks"})
    assert view_mismatches(views, gold_views(shared_dir)) == [
        "proposals: spurious row ('UKR', 'talks')"
    ]
