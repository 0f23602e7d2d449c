"""The seed page through the real extractor (`monitor.claims`) and the views: exactly the gold's rows."""

from __future__ import annotations

from pathlib import Path

from monitor.claims import load_pack
from monitor.views import build_projection
from tests.views._script import fold
from tests.views._seed import gold_views, published, recorded, seed_posts, view_mismatches

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


def test_seed_page_through_the_extractor_gives_exactly_the_gold_views(shared_dir: Path):
    """With real extraction, the views hold the gold's rows and nothing else: no row that only the
    gold's optional claims support (a stance, an agenda list, readiness for one's own demand),
    and no status the gold does not give (Russia's "not allowing" the US leaves mediation open)."""
    views = _seed_views(shared_dir)
    assert view_mismatches(views, gold_views(shared_dir)) == []
    gold = gold_views(shared_dir)
    assert {v: len(views[v]["rows"]) for v in VIEWS} == {v: len(gold[v]) for v in VIEWS}


def test_the_comparison_reports_a_spurious_row_and_a_status_the_gold_does_not_give(
    shared_dir: Path,
):
    """The comparison is strict, so the test above can fail: an extra row, an extra rejection."""
    views = _seed_views(shared_dir)
    extra = dict(views["open_demands"]["rows"][0])
    extra.update(actor="UKR", topic="humanitarian_aid", key="UKR|humanitarian_aid|*")
    views["open_demands"]["rows"].append(extra)
    for row in views["open_demands"]["rows"]:
        if row["topic"] == "mediation":
            row.update(rejected_by=["RUS"], status="rejected")
    problems = view_mismatches(views, gold_views(shared_dir))
    assert problems == [
        "open_demands: spurious row ('UKR', 'humanitarian_aid')",
        "open_demands ('UKR', 'mediation'): rejected_by ['RUS'] != []",
        "open_demands ('UKR', 'mediation'): status rejected != open",
    ]
