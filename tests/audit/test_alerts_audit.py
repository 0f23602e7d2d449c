"""The alerts audit: the rules recomputed by replay, event by event, against the trail of batched runners."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from alerts import events as trail_events
from alerts.channels.mailbox import MailboxChannel
from alerts.delivery import DeliveryWorker
from alerts.rules import DEFAULT_RULES
from monitor.audit.alerts_check import check_alerts, expected_messages, parse_message_key
from monitor.cli import app
from store import open_store
from tests.audit._log import projection, run_live, simulated_events
from tests.store._helpers import raw_sql

runner = CliRunner()


def _deliver(store: object, tmp_path: Path) -> None:
    later = datetime.now(UTC) + timedelta(minutes=5)
    box = MailboxChannel(name="desk", path=tmp_path / "desk.mbox")
    worker = DeliveryWorker(
        outbox=store,  # type: ignore[arg-type]
        channels={"desk": box},
        clock=lambda: later,
        batch_size=10_000,
    )
    asyncio.run(worker.run_once())


def test_a_live_run_in_batches_matches_the_rules_replayed_event_by_event(
    db_url: str, tmp_path: Path
) -> None:
    """Alerts raised by batched, restarting runners and delivered are exactly those the rules call
    for event by event: each one delivered, none missing, none unexpected, none coalesced away
    (the views hand the hook every event's changes, whatever the batch size)."""
    with open_store(db_url) as store:
        run_live(store, simulated_events(160))
        _deliver(store, tmp_path)
        checks = check_alerts(store, projection(), DEFAULT_RULES, ["desk"])
    assert [c for c in checks if c.mismatch] == []
    assert {c.status for c in checks} == {"delivered"}
    assert len(checks) > 20  # the simulated run raises plenty: the check is not vacuous


def _an_alert_on_a_final_state(store: object, pending: set[str]) -> str:
    """A pending message that is the last the rules call for on its row, about the row's final state."""
    expected = expected_messages(store, projection(), DEFAULT_RULES, ["desk"])  # type: ignore[arg-type]
    last: dict[tuple[str, str], str] = {}
    for _, key in expected.messages:
        view, row_key, *_ = parse_message_key(key)
        last[(view, row_key)] = key
    for (view, row_key), key in sorted(last.items()):
        if key in pending and parse_message_key(key)[3] == expected.final[(view, row_key)]:
            return key
    raise AssertionError("the simulated run left no alert on a final state")


def test_a_lost_alert_is_missing_and_a_forged_one_unexpected(
    sqlite_url: str, tmp_path: Path
) -> None:
    """An outbox message deleted before delivery is missing; a trail entry no rule made is unexpected."""
    with open_store(sqlite_url) as store:
        run_live(store, simulated_events(100))
        pending = {e.key for e in store.pending_outbox(10_000)}
        lost = _an_alert_on_a_final_state(store, pending)
        raw_sql(sqlite_url, f"DELETE FROM outbox WHERE message_key = '{lost}'")
        forged_key = "open_demands:XXX|ceasefire|*:status:000000000000"
        store.append(
            [
                trail_events.raised(
                    trail_events.AlertRaised(
                        message_key=f"{forged_key}@desk",
                        alert_key=forged_key,
                        channel="desk",
                        alert={},
                        raised_at=datetime.now(UTC).isoformat(),
                    )
                )
            ]
        )
        checks = {c.id: c for c in check_alerts(store, projection(), DEFAULT_RULES, ["desk"])}
    assert checks[lost].status == "missing", (
        checks[lost],
        [c for c in checks.values() if c.row_key == checks[lost].row_key],
    )
    assert checks[f"{forged_key}@desk"].status == "unexpected"
    assert checks[lost].position is not None


def test_parse_message_key_handles_colons_in_row_keys() -> None:
    """Exchange row keys hold ISO times with colons; the key still splits into its parts."""
    key = "agreed_exchanges:hostages|A+B|2025-06-02T14:03:00+00:00|src|p1:new:abc123@desk"
    assert parse_message_key(key) == (
        "agreed_exchanges",
        "hostages|A+B|2025-06-02T14:03:00+00:00|src|p1",
        "new",
        "abc123",
        "desk",
    )


def test_cli_audit_alerts_exits_1_on_a_mismatch_and_0_when_clean(
    sqlite_url: str, tmp_path: Path
) -> None:
    """The command prints each alert's standing and fails only when something is missing or extra."""
    with open_store(sqlite_url) as store:
        store.append([])
    clean = runner.invoke(app, ["--db", sqlite_url, "audit", "alerts"])
    assert clean.exit_code == 0, clean.output
    assert "ok: the trail matches the rules" in clean.output
    forged_key = "proposals:XXX|ceasefire:new:000000000000"
    with open_store(sqlite_url) as store:
        store.append(
            [
                trail_events.raised(
                    trail_events.AlertRaised(
                        message_key=f"{forged_key}@desk",
                        alert_key=forged_key,
                        channel="desk",
                        alert={},
                        raised_at=datetime.now(UTC).isoformat(),
                    )
                )
            ]
        )
    bad = runner.invoke(app, ["--db", sqlite_url, "audit", "alerts"])
    assert bad.exit_code == 1
    assert "unexpected" in bad.output
    assert "MISMATCH: 1" in bad.output
