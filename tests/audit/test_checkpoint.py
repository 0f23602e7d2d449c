"""Signed checkpoints: every rewrite of the log before a checkpoint is caught, on both backends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from store import open_store
from store._projections import ProjectionStore
from store.checkpoint_file import (
    CheckpointError,
    check_checkpoint,
    load_private_key,
    load_public_key,
    new_private_key,
    private_key_pem,
    public_key_pem,
    read_checkpoint,
    take_checkpoint,
    write_checkpoint,
)
from tests.store._helpers import drop_guards, event, raw_sql

runner = CliRunner()
NOW = datetime(2026, 11, 25, 15, 40, tzinfo=UTC)

MUTATIONS = {
    "flip_a_byte": (
        "UPDATE events SET data = replace(data, 'post 3', 'post 8') WHERE position = 3",
    ),
    "delete_a_row": ("DELETE FROM events WHERE position = 4",),
    "reorder_two_rows": (
        "UPDATE events SET position = 1000 WHERE position = 2",
        "UPDATE events SET position = 2 WHERE position = 5",
        "UPDATE events SET position = 5 WHERE position = 1000",
    ),
    "truncate_the_tail": ("DELETE FROM events WHERE position >= 5",),
}


@pytest.fixture
def store(db_url: str) -> Iterator[ProjectionStore]:
    opened = open_store(db_url)
    opened.append([event(i, text=f"post {i}") for i in range(1, 7)])
    yield opened
    opened.close()


@pytest.mark.parametrize("mutation", sorted(MUTATIONS))
def test_every_rewrite_before_a_checkpoint_is_detected(
    store: ProjectionStore, db_url: str, mutation: str
) -> None:
    """Flip a byte, delete, reorder or cut the tail, triggers dropped first: the checkpoint fails."""
    key = new_private_key()
    cp = take_checkpoint(store, now=NOW, key=key)
    assert check_checkpoint(store, cp, public_key=key.public_key()).ok
    drop_guards(db_url)
    raw_sql(db_url, *MUTATIONS[mutation])
    report = check_checkpoint(store, cp, public_key=key.public_key())
    assert not report.ok
    assert report.first_bad_position is not None
    assert report.first_bad_position <= 5
    assert "checkpoint" in report.problems[-1] or "cut off" in report.problems[-1]


def test_a_log_that_grew_after_the_checkpoint_still_extends_it(store: ProjectionStore) -> None:
    """Appending after the checkpoint is what logs do: the proof still holds, head moved on."""
    cp = take_checkpoint(store, now=NOW)
    store.append([event(i) for i in range(7, 10)])
    report = check_checkpoint(store, cp)
    assert report.ok, report.problems
    assert (report.events_checked, report.head_position) == (6, 9)


def test_a_rewrite_after_the_checkpoint_is_not_its_concern(
    store: ProjectionStore, db_url: str
) -> None:
    """Only events up to the checkpoint are covered; later ones are `parley verify`'s job."""
    cp = take_checkpoint(store, now=NOW)
    store.append([event(7, text="post 7")])
    drop_guards(db_url)
    raw_sql(db_url, "UPDATE events SET data = replace(data, 'post 7', 'post 9') WHERE position = 7")
    assert check_checkpoint(store, cp).ok


def test_an_altered_or_foreign_signature_is_rejected(
    store: ProjectionStore, tmp_path: Path
) -> None:
    """Changing the file's position, or checking against another key, fails the signature."""
    key, other = new_private_key(), new_private_key()
    path = tmp_path / "cp.json"
    write_checkpoint(take_checkpoint(store, now=NOW, key=key), path)
    data = json.loads(path.read_text())
    data["position"] = 5
    data["hash"] = next(e for e in store.read(5)).hash
    path.write_text(json.dumps(data))
    forged = read_checkpoint(path)
    assert any("signature does not match" in p for p in check_checkpoint(store, forged).problems)
    genuine = take_checkpoint(store, now=NOW, key=key)
    problems = check_checkpoint(store, genuine, public_key=other.public_key()).problems
    assert any("not by the given key" in p for p in problems)
    unsigned = take_checkpoint(store, now=NOW)
    problems = check_checkpoint(store, unsigned, public_key=key.public_key()).problems
    assert problems == ("the checkpoint is not signed, but a public key was given",)


def test_keys_round_trip_through_pem_files(tmp_path: Path) -> None:
    """A key written as PEM loads back; a file that is not a key is a clear error naming it."""
    key = new_private_key()
    (tmp_path / "k").write_bytes(private_key_pem(key))
    (tmp_path / "k.pub").write_bytes(public_key_pem(key))
    assert private_key_pem(load_private_key(tmp_path / "k")) == private_key_pem(key)
    assert public_key_pem(load_public_key(tmp_path / "k.pub")) == public_key_pem(key)
    (tmp_path / "junk").write_text("hello")
    with pytest.raises(CheckpointError, match="junk"):
        load_private_key(tmp_path / "junk")
    (tmp_path / "bad.json").write_text('{"format": "parley-checkpoint/1", "position": -1}')
    with pytest.raises(CheckpointError, match="position must be"):
        read_checkpoint(tmp_path / "bad.json")


def test_cli_checkpoint_then_verify_it_and_catch_a_rewrite(db_url: str, tmp_path: Path) -> None:
    """`parley checkpoint --sign` then the verify command: 0 while intact, 2 after a deletion."""
    with open_store(db_url) as store:
        store.append([event(i, text=f"post {i}") for i in range(1, 7)])
    key, cp = tmp_path / "key", tmp_path / "cp.json"
    assert runner.invoke(app, ["audit", "keygen", "--out", str(key)]).exit_code == 0
    made = runner.invoke(app, ["--db", db_url, "checkpoint", "--sign", str(key), "--out", str(cp)])
    assert made.exit_code == 0, made.output
    assert read_checkpoint(cp).position == 6
    check = ["--db", db_url, "audit", "checkpoint-verify", str(cp), "--pubkey", f"{key}.pub"]
    ok = runner.invoke(app, check)
    assert ok.exit_code == 0, ok.output
    assert "ok: the log extends the checkpoint" in ok.output
    drop_guards(db_url)
    raw_sql(db_url, "DELETE FROM events WHERE position = 2")
    bad = runner.invoke(app, check)
    assert bad.exit_code == 2
    assert "position 2: missing" in bad.output


def _rewrite_history(url: str, position: int, old: str, new: str) -> None:
    """Edit one event and re-hash it and every later one, then put the guards back: a perfect
    forgery as far as the database alone can tell."""
    from store import schema
    from store.canonical import event_hash

    drop_guards(url)
    raw_sql(
        url, f"UPDATE events SET data = replace(data, '{old}', '{new}') WHERE position = {position}"
    )
    with open_store(url) as store:
        rows = list(store.stored_rows())
    prev = rows[position - 2][9] if position > 1 else "0" * 64
    for row in rows[position - 1 :]:
        digest = event_hash(
            prev,
            position=row[0],
            stream_id=row[1],
            stream_version=row[2],
            event_type=row[3],
            schema_version=row[4],
            recorded_at=row[5],
            idempotency_key=row[6],
            payload=row[7],
        )
        raw_sql(
            url,
            f"UPDATE events SET prev_hash = '{prev}', hash = '{digest}' WHERE position = {row[0]}",
        )
        prev = digest
    statements = schema.SQLITE[0][1] if url.startswith("sqlite") else schema.POSTGRES[0][1]
    raw_sql(url, *[s for s in statements if "CREATE TRIGGER" in s])


def test_parley_verify_checkpoint_catches_a_rehashed_history_that_plain_verify_passes(
    db_url: str, tmp_path: Path
) -> None:
    """A forger who re-hashes the chain and restores the guards fools `verify`, not `verify --checkpoint`."""
    with open_store(db_url) as store:
        store.append([event(i, text=f"post {i}") for i in range(1, 7)])
    key, cp = tmp_path / "key", tmp_path / "cp.json"
    assert runner.invoke(app, ["audit", "keygen", "--out", str(key)]).exit_code == 0
    made = runner.invoke(app, ["--db", db_url, "checkpoint", "--sign", str(key), "--out", str(cp)])
    assert made.exit_code == 0, made.output
    check = ["--db", db_url, "verify", "--checkpoint", str(cp), "--pubkey", f"{key}.pub"]
    before = runner.invoke(app, check)
    assert before.exit_code == 0, before.output
    assert "ok: the log extends the checkpoint" in before.output
    _rewrite_history(db_url, 3, "post 3", "post 8")
    plain = runner.invoke(app, ["--db", db_url, "verify"])
    assert plain.exit_code == 0, plain.output  # the database alone cannot tell
    after = runner.invoke(app, check)
    assert after.exit_code == 2
    assert "position 6: hash is" in after.output
    assert "the log was rewritten before or at the checkpoint" in after.output
