"""The seed page through the real extractor (`monitor.claims`) and the views."""

from __future__ import annotations

from pathlib import Path

from monitor.claims import load_pack
from monitor.views import build_projection
from tests.views._script import fold
from tests.views._seed import (
    gold_views,
    optional_claims,
    published,
    recorded,
    seed_posts,
    view_mismatches,
)

VIEWS = ("open_demands", "agreed_exchanges", "proposals")


def _seed_views(shared_dir: Path) -> dict:
    events = recorded([published(p) for p in seed_posts(shared_dir)])
    _, rows = fold(build_projection(load_pack()), events)
    return {v: {"rows": [rows.get(v, {})[k] for k in sorted(rows.get(v, {}))]} for v in VIEWS}


def test_every_row_quotes_a_sentence_of_the_seed_page(shared_dir: Path):
    """Each row's latest quote is text of a post it names in its provenance."""
    posts = {p.post_id: p.text() for p in seed_posts(shared_dir)}
    views = _seed_views(shared_dir)
    for view in VIEWS:
        for row in views[view]["rows"]:
            named = [posts[m["post_id"]] for m in row["provenance"]["recent"]]
            assert any(row["latest_quote"] in text for text in named), (view, row["key"])


def test_seed_page_through_the_extractor_gives_the_gold_views(shared_dir: Path):
    """With real extraction, the views hold the gold's rows, and nothing more than what the gold's
    optional claims allow (the scorer's rule: optional claims are neither required nor penalised)."""
    views = _seed_views(shared_dir)
    assert view_mismatches(views, gold_views(shared_dir), optional_claims(shared_dir)) == []


def test_optional_claims_excuse_only_rows_they_support(shared_dir: Path):
    """The tolerance is narrow: a row no optional claim supports is still reported as spurious."""
    views = _seed_views(shared_dir)
    row = dict(views["proposals"]["rows"][0])
    row.update(actor="EGY", topic="talks", key="EGY|talks")
    views["proposals"]["rows"].append(row)
    problems = view_mismatches(views, gold_views(shared_dir), optional_claims(shared_dir))
    assert "proposals: spurious row ('EGY', 'talks')" in problems
