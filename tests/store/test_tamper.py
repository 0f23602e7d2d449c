"""Tamper guards and tamper detection: the database refuses changes; verify finds forced ones."""

from __future__ import annotations

import pytest

from store import GENESIS_HASH, RowChange
from store._projections import ProjectionStore
from store.verify import verify
from tests.store._helpers import drop_guards, event, raw_sql


def _fill(store: ProjectionStore, n: int = 6) -> None:
    store.append([event(i, text=f"post {i}") for i in range(1, n + 1)])


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET data = '{\"n\":99}' WHERE position = 2",
        "DELETE FROM events WHERE position = 2",
    ],
)
def test_database_rejects_update_and_delete_of_events(
    store: ProjectionStore, db_url: str, statement: str
) -> None:
    """The triggers make the events table append-only, even for the database owner."""
    _fill(store)
    with pytest.raises(Exception, match="append-only"):
        raw_sql(db_url, statement)
    assert verify(store).ok


@pytest.mark.postgres
def test_postgres_rejects_truncate_of_events(pg_url: str) -> None:
    """TRUNCATE, which skips row triggers, is refused by a statement trigger on PostgreSQL."""
    from store import open_store

    with open_store(pg_url) as store:
        _fill(store)
        with pytest.raises(Exception, match="append-only"):
            raw_sql(pg_url, "TRUNCATE events")
        assert store.head().position == 6


def test_verify_reports_head_and_passes_on_an_intact_log(store: ProjectionStore) -> None:
    """An untouched log verifies, and the report carries the head position and hash."""
    _fill(store)
    report = verify(store)
    assert report.ok, report.problems
    assert report.events_checked == 6
    assert report.head == store.head()
    assert report.first_bad_position is None


def test_verify_of_an_empty_log_reports_genesis(store: ProjectionStore) -> None:
    """An empty log verifies with head 0 and the genesis hash."""
    report = verify(store, expect=(0, GENESIS_HASH))
    assert report.ok
    assert (report.head.position, report.head.hash) == (0, GENESIS_HASH)


def test_verify_names_a_flipped_byte_in_a_payload(store: ProjectionStore, db_url: str) -> None:
    """Changing one character of a stored payload is found at that position."""
    _fill(store)
    drop_guards(db_url)
    raw_sql(db_url, "UPDATE events SET data = replace(data, 'post 4', 'post 5') WHERE position = 4")
    report = verify(store)
    assert not report.ok
    assert report.first_bad_position == 4
    assert "hash does not match" in report.problems[0]


def test_verify_names_a_changed_header_field(store: ProjectionStore, db_url: str) -> None:
    """Changing the stream or type of an event (not only its payload) is found too."""
    _fill(store)
    drop_guards(db_url)
    raw_sql(db_url, "UPDATE events SET event_type = 'Forged' WHERE position = 3")
    assert verify(store).first_bad_position == 3


def test_verify_names_a_deleted_event(store: ProjectionStore, db_url: str) -> None:
    """Deleting an event from the middle is found at the missing position."""
    _fill(store)
    drop_guards(db_url)
    raw_sql(db_url, "DELETE FROM events WHERE position = 3")
    report = verify(store)
    assert report.first_bad_position == 3
    assert "position 3 is missing" in report.problems[0]


def test_verify_names_reordered_events(store: ProjectionStore, db_url: str) -> None:
    """Swapping two events' positions (renumbering rows) is found at the first swapped one."""
    _fill(store)
    drop_guards(db_url)
    raw_sql(
        db_url,
        "UPDATE events SET position = 1000 WHERE position = 2",
        "UPDATE events SET position = 2 WHERE position = 5",
        "UPDATE events SET position = 5 WHERE position = 1000",
    )
    report = verify(store)
    assert report.first_bad_position == 2
    assert "prev_hash" in report.problems[0]


def test_verify_names_a_truncated_tail_by_the_recorded_digest(
    store: ProjectionStore, db_url: str
) -> None:
    """Cutting off the newest events leaves a valid chain, but the auditor's digest no longer holds."""
    _fill(store)
    digest = store.head()
    drop_guards(db_url)
    raw_sql(db_url, "DELETE FROM events WHERE position >= 5")
    report = verify(store, expect=(digest.position, digest.hash))
    assert not report.ok
    assert report.first_bad_position == 5
    assert any("beyond the head" in p for p in report.problems)


def test_verify_checks_a_recorded_digest(store: ProjectionStore) -> None:
    """--expect POSITION:HASH passes for the true hash and fails, naming the position, otherwise."""
    _fill(store)
    at_three = next(e for e in store.read(3))
    assert verify(store, expect=(3, at_three.hash)).ok
    report = verify(store, expect=(3, "f" * 64))
    assert report.first_bad_position == 3
    assert "expected ffff" in report.problems[0]


def test_verify_reports_missing_triggers(store: ProjectionStore, db_url: str) -> None:
    """With the tamper guards dropped, verify fails even though the chain is intact."""
    _fill(store)
    drop_guards(db_url)
    report = verify(store)
    assert not report.ok
    assert report.first_bad_position is None
    assert any("events_reject_update" in p for p in report.problems)


def test_verify_reports_a_checkpoint_outside_the_log(store: ProjectionStore, db_url: str) -> None:
    """A projection checkpoint beyond the head (a forged or restored table) is reported."""
    _fill(store)
    store.commit_projection(
        "p", position=6, state=None, changes=[RowChange(view="v", key="k", row={})]
    )
    raw_sql(db_url, "UPDATE projection_checkpoints SET position = 60 WHERE projection = 'p'")
    report = verify(store)
    assert any("checkpoint 60 lies outside the log" in p for p in report.problems)
