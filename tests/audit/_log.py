"""A long simulated run for the audit tests: posts, revisions and withdrawals, with live views
built by two runners ("two daemons") that restart between batches, alerts riding along."""

from __future__ import annotations

import contextlib
import random
from typing import Any

from alerts.hook import outbox_hook
from alerts.rules import DEFAULT_RULES
from monitor.posts import Post
from monitor.views import NegotiationProjection, make_runner
from store.errors import ConcurrencyError
from tests.views._script import post, script_extract
from tests.views._seed import new_events, published, revised, withdrawn

ACTORS = ("RUS", "UKR", "TUR", "USA")
TOPICS = ("ceasefire", "prisoner_exchange", "bodies_return", "leaders_meeting")
KINDS = ("demand", "proposal", "rejection", "agreement", "fulfilment")


def projection() -> NegotiationProjection:
    """The real negotiation projection with the scripted extractor (one claim per line)."""
    return NegotiationProjection(script_extract, name="negotiation", revision_window=40)


def _line(rng: random.Random) -> str:
    kind, actor, topic = rng.choice(KINDS), rng.choice(ACTORS), rng.choice(TOPICS)
    other = rng.choice([a for a in ACTORS if a != actor])
    count = rng.choice(("", " count=100", " count=1000"))
    return f"{kind} {actor} {topic} parties={other}{count}"


def simulated_events(n: int, *, seed: int = 3) -> list[Any]:
    """`n` post events: mostly new posts, some revisions and withdrawals of recent ones."""
    rng = random.Random(seed)
    current: dict[str, Post] = {}
    gone: set[str] = set()
    out: list[Any] = []
    for i in range(n):
        roll = rng.random()
        live = sorted(set(current) - gone)
        lines = [_line(rng) for _ in range(rng.randint(1, 3))]
        if roll < 0.2 and live:
            pid = rng.choice(live[-20:])
            p = post(pid, *lines, minutes=i * 7)
            out.append(revised(p, current[pid]))
            current[pid] = p
        elif roll < 0.28 and live:
            pid = rng.choice(live[-20:])
            out.append(withdrawn(current[pid]))
            gone.add(pid)
        else:
            pid = f"p{i}"
            p = post(pid, *lines, minutes=i * 7)
            out.append(published(p))
            current[pid] = p
    return out


def run_live(
    store: Any, events: list[Any], *, chunks: int = 6, batch_sizes: tuple[int, ...] = (3, 11)
) -> None:
    """Append `events` in chunks; after each, two freshly started runners catch the views up
    (batch sizes 3 and 11 by default), raising alerts into the outbox as the daemon does."""
    wrapped = new_events(events)
    step = max(1, len(wrapped) // chunks)
    for start in range(0, len(wrapped), step):
        store.append(wrapped[start : start + step])
        for batch_size in batch_sizes:
            proj = projection()
            hook = outbox_hook(store, proj.name, DEFAULT_RULES, channels=("desk",))
            runner = make_runner(store, proj, batch_size=batch_size, outbox_for=hook)
            # the other daemon moving the checkpoint meanwhile leaves the views current
            with contextlib.suppress(ConcurrencyError):
                runner.catch_up()
