"""Copying a log between backends byte for byte, and exporting it so anyone can recompute the chain."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from store import open_store
from store.canonical import GENESIS_HASH, canonical_payload, event_hash
from store.copy import copy_log
from store.errors import IntegrityError
from store.export import export
from tests.store._helpers import drop_guards, event, raw_sql

runner = CliRunner()


def _stored(url: str) -> list[tuple[object, ...]]:
    with open_store(url) as store:
        return list(store.stored_rows())


@pytest.mark.postgres
@pytest.mark.parametrize("direction", ["sqlite_to_postgres", "postgres_to_sqlite"])
def test_copy_keeps_positions_hashes_and_recorded_times_across_backends(
    sqlite_url: str, pg_url: str, direction: str
) -> None:
    """Every stored column arrives unchanged, the copy verifies, and a second copy resumes."""
    source, target = (
        (sqlite_url, pg_url) if direction == "sqlite_to_postgres" else (pg_url, sqlite_url)
    )
    with open_store(source) as store:
        store.append([event(i, text=f"post {i} – ünïcode") for i in range(1, 6)])
        store.append([event(6, stream="t")])
    result = runner.invoke(app, ["--db", source, "copy", "--to", target])
    assert result.exit_code == 0, result.output
    assert "verified on arrival: 6 events" in result.output
    assert _stored(target) == _stored(source)
    with open_store(source) as store:
        store.append([event(7)])
    again = runner.invoke(app, ["--db", source, "copy", "--to", target])
    assert again.exit_code == 0, again.output
    assert "resumed after position 6" in again.output
    assert _stored(target) == _stored(source)
    assert runner.invoke(app, ["--db", target, "verify"]).exit_code == 0


def test_copy_refuses_a_broken_source_at_its_first_bad_position(db_url: str, tmp_path) -> None:
    """A forged event stops the copy there; what came before it is a valid prefix."""
    with open_store(db_url) as store:
        store.append([event(i, text=f"post {i}") for i in range(1, 6)])
    drop_guards(db_url)
    raw_sql(db_url, "UPDATE events SET data = replace(data, 'post 4', 'post 9') WHERE position = 4")
    target_url = f"sqlite:///{tmp_path / 'copy.db'}"
    with open_store(db_url) as source, open_store(target_url) as target:
        with pytest.raises(IntegrityError, match="position 4 does not verify"):
            copy_log(source, target, batch_size=2)
        assert target.head().position == 2  # the batch holding position 4 was not written


def test_copy_refuses_a_target_holding_another_log(sqlite_url: str, tmp_path) -> None:
    """A target whose events are not a prefix of the source's is refused, untouched."""
    other = f"sqlite:///{tmp_path / 'other.db'}"
    with open_store(sqlite_url) as source, open_store(other) as target:
        source.append([event(i) for i in range(1, 4)])
        target.append([event(99)])
        with pytest.raises(IntegrityError, match="not a prefix"):
            copy_log(source, target)
        assert target.head().position == 1


def _recompute(records: list[dict[str, object]]) -> str:
    prev = GENESIS_HASH
    for r in records:
        payload = (
            r["data"] if isinstance(r["data"], str) else canonical_payload(r["data"], where="")
        )  # type: ignore[arg-type]
        computed = event_hash(
            prev,
            position=int(r["position"]),  # type: ignore[arg-type]
            stream_id=str(r["stream_id"]),
            stream_version=int(r["stream_version"]),  # type: ignore[arg-type]
            event_type=str(r["event_type"]),
            schema_version=int(r["schema_version"]),  # type: ignore[arg-type]
            recorded_at=str(r["recorded_at"]),
            idempotency_key=str(r["idempotency_key"]),
            payload=payload,
        )
        assert computed == r["hash"]
        prev = computed
    return prev


def test_exports_carry_enough_to_recompute_every_hash(db_url: str) -> None:
    """From a JSON-lines or a CSV export alone, the chain recomputes to the head hash."""
    with open_store(db_url) as store:
        store.append([event(i, text=f"«{i}»", n2=i / 3) for i in range(1, 8)])
        head = store.head()
        lines, table = io.StringIO(), io.StringIO()
        assert export(store, lines, fmt="jsonl") == 7
        assert export(store, table, fmt="csv") == 7
        part = io.StringIO()
        assert export(store, part, fmt="jsonl", from_position=3, to_position=5) == 3
    from_jsonl = [json.loads(line) for line in lines.getvalue().splitlines()]
    from_csv = list(csv.DictReader(io.StringIO(table.getvalue())))
    assert _recompute(from_jsonl) == head.hash
    assert _recompute(from_csv) == head.hash  # type: ignore[arg-type]
    assert [json.loads(x)["position"] for x in part.getvalue().splitlines()] == [3, 4, 5]


def test_cli_export_by_time_range(sqlite_url: str, tmp_path) -> None:
    """--from/--to take positions or times; --out writes a file."""
    with open_store(sqlite_url) as store:
        store.append([event(1)])
        store.append([event(2)])
        second = next(iter(store.read(2))).recorded_at.isoformat()
    out = tmp_path / "log.jsonl"
    result = runner.invoke(
        app,
        ["--db", sqlite_url, "export", "--from", second, "--format", "jsonl", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    positions = [json.loads(line)["position"] for line in out.read_text().splitlines()]
    assert positions[-1] == 2
    assert positions in ([2], [1, 2])  # appends in the same microsecond are one moment
