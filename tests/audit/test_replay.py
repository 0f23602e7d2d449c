"""Replay: deterministic to the byte, equal to the live views, never alerting, never touching them."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.audit.moments import position_at
from monitor.audit.replay import compare_views, dump_views, fold_views, replay_into
from monitor.cli import app
from monitor.errors import InputError
from monitor.views import follow, read_views
from store import open_store
from store.errors import ConcurrencyError
from tests.audit._log import projection, run_live, simulated_events
from tests.store._helpers import raw_sql
from tests.views._seed import new_events, published, seed_posts

runner = CliRunner()


def test_replaying_the_same_log_twice_gives_byte_identical_dumps(db_url: str) -> None:
    """Two replays of one log (in memory, and into two databases) dump to the same bytes."""
    with open_store(db_url) as store:
        store.append(new_events(simulated_events(150)))
        head = store.head().position
        first = dump_views(fold_views(store, projection(), to_position=head))
        second = dump_views(fold_views(store, projection(), to_position=head))
    assert first == second
    assert '"rows": []' not in first.split("open_demands")[1][:40]  # the views are not empty


def test_replay_equals_the_live_views_after_revisions_withdrawals_restarts_and_two_daemons(
    db_url: str, tmp_path: Path
) -> None:
    """Views built live by two restarting runners equal a replay from empty, row for row."""
    with open_store(db_url) as store:
        run_live(store, simulated_events(240))
        head = store.head().position
        assert store.checkpoint("negotiation")[0] == head
        live = read_views(store)
        rebuilt = fold_views(store, projection(), to_position=head)
        with open_store(f"sqlite:///{tmp_path / 'replay.db'}") as target:
            copied = replay_into(store, target, projection(), to_position=head)
    assert compare_views(live=live, rebuilt=rebuilt) == []
    assert dump_views(live) == dump_views(rebuilt) == dump_views(copied)


def test_replay_into_another_database_sends_no_alert_and_leaves_live_views_alone(
    db_url: str, tmp_path: Path
) -> None:
    """The live outbox and views are unchanged by a replay; the replay's database has no outbox."""
    with open_store(db_url) as store:
        run_live(store, simulated_events(120))
        pending_before = [e.key for e in store.pending_outbox(10_000)]
        live_before = dump_views(read_views(store))
        checkpoint_before = store.checkpoint("negotiation")[0]
        assert pending_before  # the live run did raise alerts
        with open_store(f"sqlite:///{tmp_path / 'replay.db'}") as target:
            replay_into(store, target, projection(), to_position=store.head().position)
            assert target.pending_outbox(10_000) == []
        assert [e.key for e in store.pending_outbox(10_000)] == pending_before
        assert dump_views(read_views(store)) == live_before
        assert store.checkpoint("negotiation")[0] == checkpoint_before


def test_position_at_a_time_is_the_last_event_recorded_by_then(sqlite_url: str) -> None:
    """Bisection over recorded times finds the same position as a linear scan."""
    with open_store(sqlite_url) as store:
        for chunk in range(5):
            store.append(new_events(simulated_events(4, seed=chunk)[:]))
        events = list(store.read())
        for e in events:
            assert position_at(store, e.recorded_at) == max(
                x.position for x in events if x.recorded_at <= e.recorded_at
            )
        assert position_at(store, events[0].recorded_at.replace(year=2000)) == 0


def _seed_db(url: str, shared_dir: Path) -> None:
    with open_store(url) as store:
        store.append(new_events(published(p) for p in seed_posts(shared_dir)))
    assert runner.invoke(app, ["--db", url, "views", "--json"]).exit_code == 0


def test_replay_check_passes_then_names_a_doctored_live_row(
    sqlite_url: str, shared_dir: Path
) -> None:
    """`parley replay --check` exits 0 on honest views and 1 with the row and field when one is edited."""
    _seed_db(sqlite_url, shared_dir)
    ok = runner.invoke(app, ["--db", sqlite_url, "replay", "--check"])
    assert ok.exit_code == 0, ok.output
    assert "check: ok" in ok.output
    raw_sql(
        sqlite_url,
        'UPDATE view_rows SET row_json = replace(row_json, \'"status":"agreed"\', '
        "'\"status\":\"carried_out\"') WHERE view_name = 'agreed_exchanges'",
    )
    bad = runner.invoke(app, ["--db", sqlite_url, "replay", "--check"])
    assert bad.exit_code == 1
    assert "agreed_exchanges [" in bad.output
    assert 'status: live "carried_out" != replay "agreed"' in bad.output


def test_replay_cli_into_a_database_prints_the_same_digest_as_in_memory(
    sqlite_url: str, shared_dir: Path, tmp_path: Path
) -> None:
    """In memory or --into a copy, the digest is the same; the copy verifies."""
    _seed_db(sqlite_url, shared_dir)
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    mem = runner.invoke(app, ["--db", sqlite_url, "replay"])
    into = runner.invoke(app, ["--db", sqlite_url, "replay", "--into", target])
    assert mem.exit_code == 0, mem.output
    assert into.exit_code == 0, into.output
    digest = [line for line in mem.output.splitlines() if line.startswith("views digest")]
    assert digest
    assert digest[0] in into.output
    assert runner.invoke(app, ["--db", target, "verify"]).exit_code == 0


@pytest.mark.parametrize(
    ("args", "says"),
    [(["--into", "SAME"], "that is the live database"), (["--check", "--to", "3"], "--check")],
)
def test_replay_refuses_the_live_database_and_conflicting_options(
    sqlite_url: str, args: list[str], says: str
) -> None:
    """--into the live database, or --check with --to, is refused with a reason."""
    args = [sqlite_url if a == "SAME" else a for a in args]
    result = runner.invoke(app, ["--db", sqlite_url, "replay", *args])
    assert result.exit_code != 0
    assert isinstance(result.exception, InputError)
    assert says in str(result.exception)


def test_replay_equals_views_kept_by_two_concurrent_daemons(db_url: str) -> None:
    """Two runners following the log at once (two daemons), appends arriving meanwhile: replay equals them."""
    stop = threading.Event()

    def daemon() -> None:
        with open_store(db_url) as own:
            while not stop.is_set():
                with contextlib.suppress(ConcurrencyError):  # the other one committed first
                    follow(own, projection(), stop=stop)

    threads = [threading.Thread(target=daemon) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        with open_store(db_url) as store:
            wrapped = new_events(simulated_events(200, seed=5))
            for start in range(0, len(wrapped), 17):
                store.append(wrapped[start : start + 17])
            head = store.head().position
            deadline = time.monotonic() + 120
            while store.checkpoint("negotiation")[0] < head and time.monotonic() < deadline:
                time.sleep(0.05)
            stop.set()
            for t in threads:
                t.join(30)
            assert store.checkpoint("negotiation")[0] == head
            live = read_views(store)
            rebuilt = fold_views(store, projection(), to_position=head)
    finally:
        stop.set()
    assert compare_views(live=live, rebuilt=rebuilt) == []
    assert dump_views(live) == dump_views(rebuilt)


def test_a_store_opening_a_new_sqlite_file_another_connection_is_writing_waits_for_it(
    tmp_path: Path,
) -> None:
    """Two daemons opening one new SQLite file at once: the second's switch to WAL waits for the
    first's write instead of failing at once with "database is locked" (SQLite does not call the
    busy handler for that pragma; the concurrent-daemons test above failed so, now and then)."""
    import sqlite3

    path = tmp_path / "new.db"
    path.touch(mode=0o600)
    first = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    first.execute("BEGIN IMMEDIATE")  # writing, as a store creating the schema does
    first.execute("CREATE TABLE early (x INTEGER)")
    errors: list[BaseException] = []

    def second() -> None:
        try:
            with open_store(f"sqlite:///{path}") as store:
                assert store.head().position == 0
        except BaseException as exc:
            errors.append(exc)

    opener = threading.Thread(target=second)
    opener.start()
    opener.join(0.5)  # without the retry it has failed by now; with it, it is waiting on the lock
    first.execute("COMMIT")
    first.close()
    opener.join(60)
    assert not opener.is_alive()
    assert errors == []
    with open_store(f"sqlite:///{path}") as store:
        assert store.head().position == 0
        assert store.triggers()  # the schema was created after the wait
