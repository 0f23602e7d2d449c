"""The outbox is a function of the log: the seed page's alerts are the same whatever the views' batch
size, and they are exactly one per agreed exchange and per demand status change of the gold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alerts.hook import outbox_hook
from alerts.rules import DEFAULT_RULES
from monitor.audit.alerts_check import parse_message_key
from monitor.claims import load_pack
from monitor.claims.model import Claim
from monitor.posts import Post
from monitor.views import (
    PROJECTION,
    NegotiationProjection,
    build_projection,
    catch_up,
    make_runner,
    read_views,
)
from store import open_store
from tests.views._script import post, script_extract
from tests.views._seed import gold_views, new_events, published, seed_posts

CHANNELS = ("desk", "mail")
BATCH_SIZES = (1, 7, 1000)


def _outbox(url: str, shared_dir: Path, batch_size: int) -> tuple[list[tuple[str, Any]], dict]:
    """Append the seed page, fold it with alerts in batches of `batch_size`: the outbox and views."""
    with open_store(url) as store:
        store.append(new_events(published(p) for p in seed_posts(shared_dir)))
        hook = outbox_hook(store, PROJECTION, DEFAULT_RULES, channels=CHANNELS)
        catch_up(store, build_projection(load_pack()), batch_size=batch_size, outbox_for=hook)
        messages = sorted((m.key, m.payload) for m in store.pending_outbox(10_000))
        views = read_views(store)
    return messages, views


def _url(tmp_path: Path, batch_size: int) -> str:
    return f"sqlite:///{tmp_path / f'batch-{batch_size}.db'}"


def test_the_seed_outbox_is_the_same_for_batch_sizes_1_7_and_1000(tmp_path: Path, shared_dir: Path):
    """Same messages, same keys, same content: a demand shown and rejected in one batch or in two,
    an exchange agreed and given its count in one batch or in two, alert alike."""
    runs = {b: _outbox(_url(tmp_path, b), shared_dir, b) for b in BATCH_SIZES}
    first, first_views = runs[BATCH_SIZES[0]]
    assert first  # the seed raises alerts: the comparison is not vacuous
    for batch_size, (messages, views) in runs.items():
        assert [k for k, _ in messages] == [k for k, _ in first], batch_size
        assert messages == first, batch_size
        assert views == first_views, batch_size


def test_the_seed_alerts_one_row_per_agreed_exchange_and_demand_status_change(
    tmp_path: Path, shared_dir: Path
):
    """Derived from the gold: its agreed exchanges plus its demands that are not open (rejected or
    met) are the rows alerted, each on both channels, and no alert key is raised twice."""
    gold = gold_views(shared_dir)
    settled = [d for d in gold["open_demands"] if d.get("rejected_by") or d.get("met_by")]
    expected_rows = len(gold["agreed_exchanges"]) + len(settled)
    messages, views = _outbox(_url(tmp_path, 1000), shared_dir, 1000)

    parsed = [parse_message_key(k) for k, _ in messages]
    alerts = {(view, row, change, version) for view, row, change, version, _ in parsed}
    assert len(messages) == len(alerts) * len(CHANNELS)  # each alert once on each channel
    rows = {(view, row) for view, row, *_ in alerts}
    assert len(rows) == expected_rows == 3
    exchanges = {("agreed_exchanges", r["key"]) for r in views["agreed_exchanges"]["rows"]}
    demands = {
        ("open_demands", f"{d['actor']}|{d['topic']}|*") for d in settled
    }  # the gold's settled demands name no counterpart
    assert rows == exchanges | demands
    # each settled demand alerted once: the step to its settled status, never a second time
    for row in demands:
        assert len([a for a in alerts if (a[0], a[1]) == row]) == 1, row


def test_a_failed_batch_leaves_no_recorded_change_behind(tmp_path: Path):
    """A batch that failed halfway (the extractor raised) is folded again from the checkpoint: the
    changes recorded before the failure are forgotten, so the replayed batch is not classified
    against rows it has not reached yet (which would alert "rejected -> open")."""
    posts = [
        post("p1", "demand UKR ceasefire"),
        post("p2", "rejection RUS ceasefire", minutes=5),
        post("p3", "agreement RUS bodies_return parties=UKR count=6000", minutes=9),
    ]
    failed: list[str] = []

    def flaky(post_: Post) -> list[Claim]:
        if post_.post_id == "p3" and not failed:
            failed.append(post_.post_id)
            raise RuntimeError("rules pack reloading")
        return script_extract(post_)

    def run(extractor: Any, name: str) -> list[tuple[str, Any]]:
        with open_store(f"sqlite:///{tmp_path / name}") as store:
            store.append(new_events(published(p) for p in posts))
            hook = outbox_hook(store, PROJECTION, DEFAULT_RULES, channels=CHANNELS)
            projection = NegotiationProjection(extractor, name=PROJECTION)
            runner = make_runner(store, projection, batch_size=10, outbox_for=hook)
            try:
                runner.catch_up()
            except RuntimeError:
                assert store.checkpoint(PROJECTION)[0] == 0  # nothing of the batch was written
                runner.catch_up()
            return sorted((m.key, m.payload) for m in store.pending_outbox(10_000))

    clean = run(script_extract, "clean.db")
    assert run(flaky, "failing.db") == clean
    assert failed
    assert [k.split(":")[2] for k, _ in clean if k.startswith("open_demands")] == ["status"] * 2
