"""The views through the real store and runner, on SQLite and PostgreSQL, and `parley views`."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from monitor.claims.model import Claim
from monitor.cli import app
from monitor.posts import Post
from monitor.views import PROJECTION, NegotiationProjection, catch_up, follow, read_views
from store import open_store
from tests.views._script import post, script_extract
from tests.views._seed import (
    gold_extractor,
    gold_views,
    new_events,
    published,
    revised,
    seed_posts,
    view_mismatches,
    withdrawn,
)


def _gold_projection() -> NegotiationProjection:
    return NegotiationProjection(gold_extractor, name=PROJECTION)


def test_seed_page_through_the_runner_gives_the_gold_views(db_url: str, shared_dir: Path):
    """Seed events appended to the log and caught up via the runner hold exactly the gold rows."""
    with open_store(db_url) as store:
        store.append(new_events(published(p) for p in seed_posts(shared_dir)))
        assert catch_up(store, _gold_projection(), batch_size=7) == 20
        assert view_mismatches(read_views(store), gold_views(shared_dir)) == []
        assert catch_up(store, _gold_projection()) == 0


def test_parley_views_json_prints_the_stored_views(db_url: str, shared_dir: Path):
    """`parley views --json` prints every view as sorted JSON, equal to the stored rows."""
    with open_store(db_url) as store:
        store.append(new_events(published(p) for p in seed_posts(shared_dir)))
        catch_up(store, _gold_projection())
        expected = read_views(store)
    result = CliRunner().invoke(app, ["--db", db_url, "views", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed == expected
    assert list(printed) == sorted(printed)
    assert view_mismatches(printed, gold_views(shared_dir)) == []
    row = printed["agreed_exchanges"]["rows"][0]
    assert {"actor", "topic", "parties", "status", "attrs", "provenance"} <= set(row)


def test_parley_views_one_view_as_a_table(sqlite_url: str, shared_dir: Path):
    """`--view NAME` shows one view as a readable table with the rows' quotes."""
    with open_store(sqlite_url) as store:
        store.append(new_events(published(p) for p in seed_posts(shared_dir)))
        catch_up(store, _gold_projection())
    result = CliRunner().invoke(
        app, ["--db", sqlite_url, "views", "--view", "proposals"], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 0, result.output
    assert "Proposals (3)" in result.output
    assert "TUR" in result.output
    assert "Open demands" not in result.output


def test_parley_views_rejects_an_unknown_view(sqlite_url: str):
    """An unknown view name is an error naming the views there are."""
    result = CliRunner().invoke(app, ["--db", sqlite_url, "views", "--view", "demands"])
    assert result.exit_code != 0
    assert "open_demands" in str(result.exception)


def test_post_text_reaches_the_terminal_escaped(sqlite_url: str):
    """Rich markup and escape sequences in a post's text are shown as text, never interpreted."""
    hostile = "demand UKR ceasefire [bold red]now[/] \x1b[2J"
    with open_store(sqlite_url) as store:
        store.append(new_events([published(post("p1", hostile))]))
        catch_up(store, NegotiationProjection(script_extract, name=PROJECTION))
    result = CliRunner().invoke(app, ["--db", sqlite_url, "views"], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert "[bold red]now[/]" in result.stdout
    assert "\x1b" not in result.stdout


def test_revisions_and_withdrawals_through_the_store(db_url: str):
    """A revision replaces and a withdrawal removes, also across separate catch-ups."""
    v1 = post("p1", "demand UKR ceasefire", "proposal RUS peace_terms")
    v2 = post("p1", "demand UKR ceasefire")
    other = post("p2", "demand UKR ceasefire", minutes=5)
    proj = NegotiationProjection(script_extract, name=PROJECTION)
    with open_store(db_url) as store:
        store.append(new_events([published(v1), published(other)]))
        catch_up(store, proj)
        assert len(read_views(store)["proposals"]["rows"]) == 1
        store.append(new_events([revised(v2, v1)]))
        catch_up(store, NegotiationProjection(script_extract, name=PROJECTION))
        views = read_views(store)
        assert views["proposals"]["rows"] == []
        assert views["open_demands"]["rows"][0]["times_pressed"] == 2
        store.append(new_events([withdrawn(other)]))
        catch_up(store, NegotiationProjection(script_extract, name=PROJECTION))
        assert read_views(store)["open_demands"]["rows"][0]["times_pressed"] == 1


class _BoomError(Exception):
    pass


def _failing_on(post_id: str):
    def extract(p: Post) -> list[Claim]:
        if p.post_id == post_id:
            raise _BoomError(post_id)
        return script_extract(p)

    return extract


def test_crash_mid_batch_applies_nothing_twice(db_url: str):
    """A failure mid-batch leaves rows and checkpoint at the last commit; resuming counts each post once."""
    posts = [post(f"p{i}", "demand UKR ceasefire", minutes=i) for i in range(1, 10)]
    with open_store(db_url) as store:
        store.append(new_events(published(p) for p in posts))
        with pytest.raises(_BoomError):
            catch_up(store, NegotiationProjection(_failing_on("p7"), name=PROJECTION), batch_size=3)
        position, _ = store.checkpoint(PROJECTION)
        assert position == 6
        [row] = read_views(store)["open_demands"]["rows"]
        assert row["times_pressed"] == 6
        assert (
            catch_up(store, NegotiationProjection(script_extract, name=PROJECTION), batch_size=3)
            == 3
        )
        [row] = read_views(store)["open_demands"]["rows"]
        assert row["times_pressed"] == 9
        assert [p["post_id"] for p in row["provenance"]["recent"]] == [
            f"p{i}" for i in range(1, 10)
        ]


def test_follow_applies_posts_appended_while_it_runs(sqlite_url: str):
    """`follow` catches up, then applies events appended later, until stopped."""
    stop = threading.Event()
    applied: list[int] = []
    with open_store(sqlite_url) as store:
        store.append(new_events([published(post("p1", "demand UKR ceasefire"))]))
        proj = NegotiationProjection(script_extract, name=PROJECTION)
        worker = threading.Thread(target=lambda: applied.append(follow(store, proj, stop=stop)))
        worker.start()
        try:
            with open_store(sqlite_url) as writer:
                writer.append(
                    new_events([published(post("p2", "proposal TUR leaders_meeting", minutes=1))])
                )
            for _ in range(200):
                if store.checkpoint(PROJECTION)[0] == 2:
                    break
                threading.Event().wait(0.05)
        finally:
            stop.set()
            worker.join(timeout=30)
        views: dict[str, Any] = read_views(store)
    assert applied == [2]
    assert [r["actor"] for r in views["proposals"]["rows"]] == ["TUR"]


def test_views_service_follows_the_log_until_stopped(db_url: str):
    """The daemon's service keeps the views current from its own connection, and stops cleanly."""
    import asyncio

    from monitor.views import ViewsService

    async def scenario() -> dict[str, Any]:
        service = ViewsService(db_url, NegotiationProjection(script_extract, name=PROJECTION))
        await service.start()
        try:
            with open_store(db_url) as writer:
                writer.append(new_events([published(post("p1", "demand UKR ceasefire"))]))
                for _ in range(400):
                    if writer.checkpoint(PROJECTION)[0] == 1:
                        break
                    await asyncio.sleep(0.05)
                return read_views(writer)
        finally:
            await service.stop()

    views = asyncio.run(scenario())
    assert [r["key"] for r in views["open_demands"]["rows"]] == ["UKR|ceasefire|*"]


def test_views_as_of_shows_an_earlier_state_and_writes_nothing(sqlite_url: str):
    """The views at an earlier position are folded in memory; the stored views stay as they are."""
    from monitor.views import views_as_of

    v1 = post("p1", "demand UKR ceasefire")
    with open_store(sqlite_url) as store:
        store.append(new_events([published(v1), withdrawn(v1)]))
        catch_up(store, NegotiationProjection(script_extract, name=PROJECTION))
        earlier = views_as_of(store, NegotiationProjection(script_extract, name=PROJECTION), 1)
        assert [r["key"] for r in earlier["open_demands"]["rows"]] == ["UKR|ceasefire|*"]
        assert read_views(store)["open_demands"]["rows"] == []


def test_parley_views_as_of_writes_nothing(sqlite_url: str):
    """`parley views --as-of POSITION` prints every view and moves no checkpoint."""
    with open_store(sqlite_url) as store:
        store.append(new_events([published(post("p1", "demand UKR ceasefire"))]))
    result = CliRunner().invoke(app, ["--db", sqlite_url, "views", "--json", "--as-of", "1"])
    assert result.exit_code == 0, result.output
    assert sorted(json.loads(result.stdout)) == ["agreed_exchanges", "open_demands", "proposals"]
    with open_store(sqlite_url) as store:
        assert store.checkpoint(PROJECTION) == (0, None)


def test_parley_views_as_of_a_time_before_the_log_is_empty(sqlite_url: str):
    """`--as-of TIME` takes the last event recorded by then; before the first event, no rows."""
    with open_store(sqlite_url) as store:
        store.append(new_events([published(post("p1", "demand UKR ceasefire"))]))
    result = CliRunner().invoke(
        app, ["--db", sqlite_url, "views", "--json", "--as-of", "2000-01-01T00:00:00"]
    )
    assert result.exit_code == 0, result.output
    assert all(v["rows"] == [] for v in json.loads(result.stdout).values())
    bad = CliRunner().invoke(
        app, ["--db", sqlite_url, "views", "--as-of", "yesterday"], env={"COLUMNS": "300"}
    )
    assert bad.exit_code == 2
    assert "neither a log position nor an ISO 8601 time" in bad.output


def test_parley_views_position_shows_the_views_as_they_stood_at_that_position(sqlite_url: str):
    """`--position N` equals `--as-of N`; before the demand was read, it is not there."""
    with open_store(sqlite_url) as store:
        store.append(
            new_events(
                [
                    published(post("p0", "nothing to see")),
                    published(post("p1", "Ukraine demanded an immediate ceasefire.")),
                ]
            )
        )

    def demands(*args: str) -> list[str]:
        result = CliRunner().invoke(app, ["--db", sqlite_url, "views", "--json", *args])
        assert result.exit_code == 0, result.output
        return [r["key"] for r in json.loads(result.stdout)["open_demands"]["rows"]]

    assert demands("--position", "1") == []
    assert demands("--position", "2") == demands("--as-of", "2") == ["UKR|ceasefire|*"]
    both = CliRunner().invoke(
        app,
        ["--db", sqlite_url, "views", "--position", "1", "--as-of", "1"],
        env={"COLUMNS": "300"},
    )
    assert both.exit_code == 2
    assert "not both" in both.output
