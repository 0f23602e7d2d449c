"""Claims read ahead in worker processes give the same views as reading them in the fold."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.audit.replay import digest, fold_views
from monitor.claims import extract, load_pack
from monitor.posts import Post
from monitor.views import build_projection, make_runner, read_views
from monitor.views.parallel import ExtractPool, default_workers
from store import open_store
from store.mapper import from_recorded
from tests.views._seed import new_events, published, revised, seed_posts, withdrawn


@pytest.fixture(scope="module")
def pack():  # type: ignore[no-untyped-def]
    return load_pack()


def _log(shared_dir: Path) -> list:  # type: ignore[type-arg]
    """The seed page three times over (three sources), with revisions and a withdrawal."""
    events: list = []  # type: ignore[type-arg]
    posts = seed_posts(shared_dir)
    for source in ("a", "b", "c"):
        for i, p in enumerate(posts):
            events.append(published(p, source))
            if i % 4 == 3:
                later = Post(
                    post_id=p.post_id,
                    title=p.title,
                    paragraphs=(*p.paragraphs, posts[(i * 7) % len(posts)].paragraphs[0]),
                    published=p.published,
                )
                events.append(revised(later, p, source))
            if i % 9 == 5:
                events.append(withdrawn(p, source))
    return events


def _pooled(pack, name: str):  # type: ignore[no-untyped-def]
    projection = build_projection(pack, extract_workers=0)
    projection.name = name
    projection.pool = ExtractPool(pack, 2, chunk=7, min_events=10)
    return projection


def test_parallel_and_serial_catch_up_give_identical_views_and_state(
    sqlite_url: str, shared_dir: Path, pack
):  # type: ignore[no-untyped-def]
    serial = build_projection(pack, extract_workers=0)
    serial.name = "serial"
    parallel = _pooled(pack, "parallel")
    try:
        with open_store(sqlite_url) as store:
            store.append(new_events(_log(shared_dir)))
            assert make_runner(store, serial, batch_size=13).catch_up() == store.head().position
            runner = make_runner(store, parallel, batch_size=13)
            assert runner.catch_up() == store.head().position
            assert parallel.pool is not None
            assert parallel.pool.workers == 2
            assert parallel.pool.worker_cpu_seconds() >= 0.0
            a = read_views(store, projection="serial")
            b = read_views(store, projection="parallel")
            assert sum(len(v["rows"]) for v in a.values()) > 5
            assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
            assert store.checkpoint("serial") == store.checkpoint("parallel")
    finally:
        assert parallel.pool is not None
        parallel.pool.close()


def test_parallel_replay_digest_equals_serial(sqlite_url: str, shared_dir: Path, pack):  # type: ignore[no-untyped-def]
    parallel = _pooled(pack, "negotiation")
    try:
        with open_store(sqlite_url) as store:
            store.append(new_events(_log(shared_dir)))
            head = store.head().position
            serial = digest(
                fold_views(store, build_projection(pack, extract_workers=0), to_position=head)
            )
            assert digest(fold_views(store, parallel, to_position=head)) == serial
    finally:
        assert parallel.pool is not None
        parallel.pool.close()


def test_pool_reads_the_same_claims_as_extract(sqlite_url: str, shared_dir: Path, pack):  # type: ignore[no-untyped-def]
    pool = ExtractPool(pack, 2, chunk=5, min_events=1)
    try:
        with open_store(sqlite_url) as store:
            store.append(new_events(_log(shared_dir)))
            seen = 0
            for event in pool.prefetch(store.read(1)):
                if event.event_type == "PostWithdrawn":
                    assert pool.claims_for(event) is None
                    continue
                expected = extract(from_recorded(event).post, pack)
                assert pool.claims_for(event) == expected
                assert pool.claims_for(event) is None  # handed over once
                seen += 1
            assert seen > 60
    finally:
        pool.close()


def test_a_short_read_stays_in_process(sqlite_url: str, shared_dir: Path, pack):  # type: ignore[no-untyped-def]
    projection = build_projection(pack, extract_workers=2)
    assert projection.pool is not None  # min_events is 1,000: the seed is far shorter
    with open_store(sqlite_url) as store:
        store.append(new_events(published(p) for p in seed_posts(shared_dir)))
        assert make_runner(store, projection).catch_up() == 20
    assert projection.pool._executor is None


def test_workers_setting(monkeypatch: pytest.MonkeyPatch, pack):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PARLEY_EXTRACT_WORKERS", "0")
    assert default_workers() == 0
    assert build_projection(pack).pool is None
    monkeypatch.setenv("PARLEY_EXTRACT_WORKERS", "1")
    assert build_projection(pack).pool is None
    monkeypatch.setenv("PARLEY_EXTRACT_WORKERS", "3")
    projection = build_projection(pack)
    assert projection.pool is not None
    assert projection.pool.workers == 3
    monkeypatch.setenv("PARLEY_EXTRACT_WORKERS", "lots")
    with pytest.raises(ValueError, match="PARLEY_EXTRACT_WORKERS"):
        default_workers()


class _FailingExecutor:
    """Reads the first `good` chunks (in this process, as a worker would), then fails."""

    def __init__(self, pack, good: int) -> None:  # type: ignore[no-untyped-def]
        from monitor.views import parallel

        parallel._WORKER["pack"] = pack
        self.good = good
        self.shut = False

    def submit(self, fn, posts):  # type: ignore[no-untyped-def]
        from concurrent.futures import Future
        from concurrent.futures.process import BrokenProcessPool

        future: Future = Future()  # type: ignore[type-arg]
        if self.good > 0:
            self.good -= 1
            future.set_result(fn(posts))
        else:
            future.set_exception(BrokenProcessPool("a worker died"))
        return future

    def shutdown(self, **_: object) -> None:
        self.shut = True


@pytest.mark.parametrize("good", [0, 3])
def test_workers_failing_hand_over_every_event_in_order(
    sqlite_url: str, shared_dir: Path, pack, good: int
):  # type: ignore[no-untyped-def]
    """Workers that die (at once, or after some chunks with more in flight): every event still
    comes, once and in order, and the fold reads the posts the workers did not."""
    pool = ExtractPool(pack, 2, chunk=4, min_events=1)
    failing = _FailingExecutor(pack, good)
    pool._executor = failing  # type: ignore[assignment]
    with open_store(sqlite_url) as store:
        store.append(new_events(_log(shared_dir)))
        positions, read_ahead = [], 0
        for event in pool.prefetch(store.read(1)):
            positions.append(event.position)
            if pool.claims_for(event) is not None:
                read_ahead += 1
        assert positions == list(range(1, store.head().position + 1))
    assert pool.workers == 0
    assert failing.shut
    assert 0 < read_ahead <= 12 if good else read_ahead == 0


def test_a_pool_that_cannot_be_made_leaves_the_reading_to_the_fold(
    sqlite_url: str, shared_dir: Path, pack, monkeypatch: pytest.MonkeyPatch
):  # type: ignore[no-untyped-def]
    """No process, pipe or semaphore to be had when the pool is made: every event still comes,
    once and in order, none read ahead, and the pool says it reads in-process from then on."""
    pool = ExtractPool(pack, 2, chunk=4, min_events=1)

    def cannot(self):  # type: ignore[no-untyped-def]
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(ExtractPool, "_pool", cannot)
    with open_store(sqlite_url) as store:
        store.append(new_events(_log(shared_dir)))
        positions = []
        for event in pool.prefetch(store.read(1)):
            positions.append(event.position)
            assert pool.claims_for(event) is None
        assert positions == list(range(1, store.head().position + 1))
    assert pool.workers == 0


def test_a_long_read_spaces_young_collections_out_and_then_puts_them_back(pack):  # type: ignore[no-untyped-def]
    """While a long read is folded, young collections come GC_YOUNG allocations apart; the
    thresholds come back when the last of two overlapping long reads ends; a short read leaves
    them alone."""
    import gc

    from monitor.views.projection import GC_YOUNG, LONG_READ

    projection = build_projection(pack, extract_workers=0)
    before = gc.get_threshold()
    assert before[0] < GC_YOUNG
    short = iter(projection.prefetch(["a", "b"], expected=2))  # type: ignore[list-item]
    assert next(short) == "a"
    assert gc.get_threshold() == before
    first = iter(projection.prefetch(["a", "b"], expected=LONG_READ))  # type: ignore[list-item]
    second = iter(projection.prefetch(["c", "d"], expected=LONG_READ))  # type: ignore[list-item]
    assert next(first) == "a"
    assert gc.get_threshold() == (GC_YOUNG, *before[1:])
    assert next(second) == "c"
    assert list(first) == ["b"]
    assert gc.get_threshold()[0] == GC_YOUNG  # the second read is still going
    assert list(second) == ["d"]
    assert gc.get_threshold() == before
