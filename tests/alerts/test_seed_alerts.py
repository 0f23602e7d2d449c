"""The seed live blog through the real views projection, the outbox hook and the worker: alerts counted exactly."""

from __future__ import annotations

import asyncio
import mailbox
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alerts.channels.mailbox import MailboxChannel
from alerts.delivery import DeliveryWorker
from alerts.hook import outbox_hook
from alerts.rules import DEFAULT_RULES
from monitor.views import NegotiationProjection
from store import open_store
from store.runner import ProjectionRunner
from tests.views._seed import gold_extractor, new_events, published, seed_posts


def _subjects(path: Path) -> list[str]:
    box = mailbox.mbox(path)
    try:
        return [str(m["Subject"]) for m in box]
    finally:
        box.close()


def test_seed_page_alerts_once_per_agreed_exchange_and_demand_status_change(
    sqlite_url: str, shared_dir: Path, tmp_path: Path
) -> None:
    """Post by post, the seed gives 2 exchange alerts and 1 demand-rejected alert; nothing is sent twice."""
    store: Any = open_store(sqlite_url)
    store.append(new_events(published(p) for p in seed_posts(shared_dir)))
    projection = NegotiationProjection(gold_extractor)
    hook = outbox_hook(store, projection.name, DEFAULT_RULES, channels=("box",))
    runner = ProjectionRunner(store, projection, batch_size=1, outbox_for=hook)
    assert runner.catch_up() == len(seed_posts(shared_dir))

    path = tmp_path / "alerts.mbox"
    later = datetime.now(UTC) + timedelta(minutes=5)
    worker = DeliveryWorker(
        outbox=store,
        channels={"box": MailboxChannel(name="box", path=path)},
        group_wait=60,
        clock=lambda: later,
    )
    first = asyncio.run(worker.run_once())
    again = asyncio.run(worker.run_once())
    runner.catch_up()  # the trail events the worker appended change no view and raise nothing

    assert sorted(_subjects(path)) == [
        "Re: [Parley] UKR demand: Ceasefire",
        "[Parley] Bodies return: RUS & UKR",
        "[Parley] Prisoner exchange: RUS & UKR",
    ]
    assert (first.delivered, again.delivered, again.skipped) == (5, 0, 0)  # 5 messages, 3 alerts
    assert store.pending_outbox(100) == []
    store.close()


def test_replaying_the_views_without_the_hook_raises_no_alert(
    sqlite_url: str, shared_dir: Path
) -> None:
    """Rebuilding the views from the log writes rows but no outbox message: replays never alert."""
    store: Any = open_store(sqlite_url)
    store.append(new_events(published(p) for p in seed_posts(shared_dir)))
    projection = NegotiationProjection(gold_extractor)
    hook = outbox_hook(store, projection.name, DEFAULT_RULES, channels=("box",))
    ProjectionRunner(store, projection, batch_size=1, outbox_for=hook).catch_up()
    before = {e.key for e in store.pending_outbox(100)}
    store.reset_projection(projection.name)
    ProjectionRunner(store, NegotiationProjection(gold_extractor)).catch_up()
    assert {e.key for e in store.pending_outbox(100)} == before
    assert store.view_rows(projection.name, "agreed_exchanges")
    store.close()
