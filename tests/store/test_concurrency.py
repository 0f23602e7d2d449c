"""Several writer processes against a live follower: no event missed, positions gap-free, in order."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from store import open_store
from store.verify import verify

ROOT = Path(__file__).resolve().parents[2]
WRITERS = 4
BATCHES = 40
SIZE = 5


@pytest.mark.slow
def test_concurrent_writer_processes_never_make_a_follower_miss_an_event(db_url: str) -> None:
    """A follower reading live while 4 processes append sees every event exactly once, in order."""
    with open_store(db_url):
        pass  # migrate once, so the writers start together
    total = WRITERS * BATCHES * SIZE
    seen: list[tuple[int, str]] = []
    follower_store = open_store(db_url)

    def follow() -> None:
        for e in follower_store.follow(1, idle_timeout=30):
            seen.append((e.position, e.idempotency_key))
            if len(seen) == total:
                return

    thread = threading.Thread(target=follow)
    thread.start()
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.store._writer", db_url, f"w{n}", str(BATCHES), str(SIZE)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
        for n in range(WRITERS)
    ]
    for proc in procs:
        assert proc.wait(timeout=240) == 0
    thread.join(timeout=120)
    follower_store.close()
    assert not thread.is_alive()
    assert [p for p, _ in seen] == list(range(1, total + 1))
    keys = Counter(k for _, k in seen)
    assert len(keys) == total
    assert max(keys.values()) == 1
    with open_store(db_url) as store:
        assert verify(store).ok
        for n in range(WRITERS):
            # each writer's events keep their own order in its stream
            versions = [e.stream_version for e in store.read_stream(f"w{n}")]
            assert versions == list(range(1, BATCHES * SIZE + 1))


def test_threads_sharing_store_objects_keep_stream_versions_exact(db_url: str) -> None:
    """Six threads on two store objects append to three streams: versions stay 1..n, chain intact."""
    from store import NewEvent

    stores = [open_store(db_url), open_store(db_url)]
    errors: list[str] = []

    def write(n: int) -> None:
        try:
            for i in range(30):
                stores[n % 2].append(
                    [
                        NewEvent(
                            stream_id=f"s{i % 3}",
                            event_type="T",
                            data={"n": n},
                            idempotency_key=f"{n}-{i}",
                        )
                    ]
                )
        except Exception as exc:  # reported below, with the thread's number
            errors.append(f"thread {n}: {exc!r}")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert errors == []
        assert stores[0].head().position == 180
        for k in range(3):
            assert [e.stream_version for e in stores[1].read_stream(f"s{k}")] == list(range(1, 61))
        assert verify(stores[0]).ok
    finally:
        for store in stores:
            store.close()
