"""Replay at scale: rows kept on disk, streamed dumps identical to the whole-object dump, and rows
that leave the projection's state still in the replayed views."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from monitor.audit.replay import (
    compare_rows,
    compare_views,
    digest,
    digest_chunks,
    dump_chunks,
    dump_views,
    fold_state,
    fold_views,
)
from monitor.audit.rows import RowStore
from monitor.views import VIEWS, NegotiationProjection, make_runner, read_views
from monitor.views.projection import _SWEEP_EVERY
from store import open_store
from store.records import RowChange
from tests.audit._log import projection, simulated_events
from tests.views._script import post, script_extract
from tests.views._seed import new_events, published

SWEEP = _SWEEP_EVERY  # posts between two looks for rows that can no longer change


def _change(view: str, key: str, row: dict[str, Any] | None) -> RowChange:
    return RowChange(view=view, key=key, row=None if row is None else {"key": key, **row})


# RowStore -------------------------------------------------------------------------------------
def test_row_store_keeps_the_last_change_of_each_row_across_flushes(tmp_path: Path) -> None:
    """Changes before and after a flush: the last one wins, a None row removes, a row can return."""
    with RowStore(tmp_path) as rows:
        rows.apply([_change("v", "b", {"n": 1}), _change("v", "a", {"n": 1})])
        rows.apply([_change("v", "b", {"n": 2})])
        assert rows.in_memory == 2
        assert rows.flush() == 2
        assert rows.in_memory == 0
        rows.apply([_change("v", "a", None), _change("w", "a", {"n": 3})])
        assert [r["n"] for r in rows.rows("v")] == [2]
        rows.apply([_change("v", "a", {"n": 4})])
        assert [(r["key"], r["n"]) for r in rows.rows("v")] == [("a", 4), ("b", 2)]
        assert rows.count("w") == 1
        assert list(rows.rows("nothing")) == []


def test_row_store_reads_rows_in_the_order_sorted_gives(tmp_path: Path) -> None:
    """Keys with accents, other scripts, '+' and '|' come back in Python's sort order."""
    keys = ["b|x", "a+|y", "a|y", "Ä|z", "é|1", "z", "ü+", "Ω", "日本", "A", "a"]
    with RowStore(tmp_path) as rows:
        rows.apply(_change("v", k, {"quote": f"«{k}»"}) for k in keys)
        assert [r["key"] for r in rows.rows("v")] == sorted(keys)


def test_row_store_gives_json_values_and_removes_its_file_on_close(tmp_path: Path) -> None:
    """Tuples come back as lists (as the live views give them); close() deletes the folder."""
    rows = RowStore(tmp_path)
    rows.apply([_change("v", "k", {"parties": ("RUS", "UKR"), "count": 6000.5})])
    assert list(rows.rows("v")) == [{"key": "k", "parties": ["RUS", "UKR"], "count": 6000.5}]
    assert list(tmp_path.iterdir())
    rows.close()
    rows.close()
    assert list(tmp_path.iterdir()) == []


# Streamed dumps -------------------------------------------------------------------------------
ODD_ROWS: list[dict[str, Any]] = [
    {"key": "a", "attrs": {}, "list": [], "nested": {"x": [1, {"y": None}], "z": {}}},
    {"key": "b", "quote": 'line "one"\nline two\t«é» 日本 \u2028', "n": 1.5, "t": True},
]


@pytest.mark.parametrize(
    "views",
    [
        {name: {"rows": []} for name in VIEWS},
        {"agreed_exchanges": {"rows": ODD_ROWS}, "proposals": {"rows": ODD_ROWS[:1]}},
        {"open_demands": {"rows": ODD_ROWS}},
        {},
    ],
)
def test_streamed_dump_is_the_whole_dump_byte_for_byte(views: dict[str, Any]) -> None:
    """dump_chunks joined equals dump_views, for empty views, odd values and subsets of views."""

    def rows_of(name: str) -> list[dict[str, Any]]:
        return list(views[name]["rows"])

    text = "".join(dump_chunks(views, rows_of))
    assert text == dump_views(views)
    assert json.loads(text) == views
    assert digest_chunks(dump_chunks(views, rows_of)) == digest(views)


def test_streamed_dump_of_a_replay_is_the_whole_dump(sqlite_url: str, tmp_path: Path) -> None:
    """On a simulated log with revisions and withdrawals, the streamed dump of the rows kept on
    disk equals dump_views of the views fold_views returns."""
    with open_store(sqlite_url) as store:
        store.append(new_events(simulated_events(200)))
        head = store.head().position
        views = fold_views(store, projection(), to_position=head)
        with RowStore(tmp_path) as rows:
            fold_state(store, projection(), to_position=head, rows=rows)
            streamed = "".join(dump_chunks(VIEWS, rows.rows))
    assert sum(len(v["rows"]) for v in views.values()) > 10
    assert streamed == dump_views(views)


def test_compare_rows_streams_what_compare_views_finds() -> None:
    """A row only live, one only replayed and one changed: the same lines either way."""
    live = {"v": {"rows": [{"key": "a", "s": 1}, {"key": "b", "s": 1}, {"key": "d", "s": 1}]}}
    rebuilt = {"v": {"rows": [{"key": "b", "s": 2}, {"key": "c", "s": 1}, {"key": "d", "s": 1}]}}
    expected = [
        "v [a]: in the live views only",
        "v [b] s: live 1 != replay 2",
        "v [c]: in the replay only",
    ]
    assert compare_views(live=live, rebuilt=rebuilt) == expected
    streamed = compare_rows(
        ["v"], live=lambda v: live[v]["rows"], rebuilt=lambda v: rebuilt[v]["rows"]
    )
    assert list(streamed) == expected


# Rows that leave the state --------------------------------------------------------------------
def _retiring_projection() -> NegotiationProjection:
    return NegotiationProjection(
        script_extract, name="negotiation", revision_window=5, fulfil_window_days=1
    )


def _retiring_log() -> list[Any]:
    """Exchanges agreed, then more than a sweep's worth of posts days later: the old exchange
    rows can no longer change and leave the projection's state."""
    events = [
        published(post("p0", "agreement RUS prisoner_exchange parties=UKR count=100")),
        published(post("p1", "agreement TUR bodies_return parties=UKR", minutes=5)),
    ]
    events += [
        published(post(f"q{i}", f"demand UKR ceasefire parties=C{i}", minutes=3 * 1440 + i))
        for i in range(SWEEP + 50)
    ]
    events.append(
        published(post("p9", "agreement RUS prisoner_exchange parties=UKR", minutes=5 * 1440))
    )
    return events


def test_replay_keeps_exchange_rows_that_left_the_state(db_url: str, tmp_path: Path) -> None:
    """Exchange rows retired from the state stay in the replayed views, equal to the live ones."""
    with open_store(db_url) as store:
        store.append(new_events(_retiring_log()))
        head = store.head().position
        make_runner(store, _retiring_projection(), batch_size=97).catch_up()
        live = read_views(store)
        with RowStore(tmp_path) as rows:
            state = fold_state(store, _retiring_projection(), to_position=head, rows=rows)
            in_state = set(state.table("agreed_exchanges"))
            replayed = [r["key"] for r in rows.rows("agreed_exchanges")]
        rebuilt = fold_views(store, _retiring_projection(), to_position=head)
    assert len(replayed) == 3
    assert len(in_state) == 1  # two rows left the state: the fold alone no longer has them
    assert [r["key"] for r in live["agreed_exchanges"]["rows"]] == replayed
    assert compare_views(live=live, rebuilt=rebuilt) == []
    assert dump_views(live) == dump_views(rebuilt)


def test_rows_wait_in_memory_for_one_flush_at_most(sqlite_url: str, tmp_path: Path) -> None:
    """While the fold runs, it holds only the rows changed since the last flush (here every 10
    events, each changing one or two rows); the other thousand rows are on disk."""
    seen: list[int] = []
    with open_store(sqlite_url) as store:
        store.append(new_events(_retiring_log()))
        head = store.head().position
        with RowStore(tmp_path) as rows:
            fold_state(
                store,
                _retiring_projection(),
                to_position=head,
                rows=rows,
                flush_every=10,
                progress=lambda _done, _total: seen.append(rows.in_memory),
                every=1,
            )
            assert rows.in_memory == 0
            total = sum(rows.count(v) for v in VIEWS)
    assert total > SWEEP
    assert 0 < max(seen) <= 20


# Progress ---------------------------------------------------------------------------------------
def test_fold_reports_progress_from_zero_to_the_whole(sqlite_url: str) -> None:
    """(done, total) from (0, total) to (total, total), every `every` events, never going back."""
    calls: list[tuple[int, int]] = []
    with open_store(sqlite_url) as store:
        store.append(new_events(simulated_events(45)))
        head = store.head().position
        fold_state(
            store,
            projection(),
            to_position=head,
            progress=lambda done, total: calls.append((done, total)),
            every=10,
        )
    assert calls[0] == (0, head)
    assert calls[-1] == (head, head)
    assert [d for d, _ in calls[1:-1]] == list(range(10, head, 10))
    assert {t for _, t in calls} == {head}


def test_replay_on_a_terminal_draws_a_bar_with_rate_and_time_left(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a terminal (here: rich told the output is one) the bar shows events/s and time left."""
    from typer.testing import CliRunner

    from monitor.cli import app

    with open_store(sqlite_url) as store:
        store.append(new_events(simulated_events(30)))
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    result = CliRunner().invoke(app, ["--db", sqlite_url, "replay"])
    assert result.exit_code == 0, result.output
    assert "replay" in result.stderr
    assert "events/s" in result.stderr
    assert "left" in result.stderr
    assert "30/30" in result.stderr


def test_diff_shows_a_row_that_left_the_state_as_it_stands(sqlite_url: str) -> None:
    """`parley diff` over a stretch in which exchange rows were made and then left the state:
    they are new rows with their values, not removed ones."""
    from monitor.audit.history import views_diff

    with open_store(sqlite_url) as store:
        store.append(new_events(_retiring_log()))
        head = store.head().position
        diffs = views_diff(store, _retiring_projection(), from_position=0, to_position=head)
    exchanges = [d for d in diffs if d.view == "agreed_exchanges"]
    assert len(exchanges) == 3
    assert {d.change for d in exchanges} == {"new"}
    assert all(d.after is not None and d.after["status"] == "agreed" for d in exchanges)
