"""How an alert sits in the store's outbox: one message per (alert, channel).

The message key is `<alert key>@<channel>`, so the same view change written twice (a projection
batch retried after a crash) is stored once per channel, and each channel's delivery is tracked
on its own. The topic is `alert`; the payload holds the channel name and the alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from alerts.model import Alert
from alerts.policy import Pending
from store.records import OutboxMessage

TOPIC = "alert"


def message_key(alert_key: str, channel: str) -> str:
    """The outbox key of `alert_key` on `channel`."""
    return f"{alert_key}@{channel}"


def message_for(alert: Alert, channel: str) -> OutboxMessage:
    """The outbox message that asks for `alert` to be sent on `channel`."""
    return OutboxMessage(
        key=message_key(alert.key, channel),
        topic=TOPIC,
        payload={"channel": channel, "alert": alert.to_payload()},
    )


def pending_from_entry(
    key: str, payload: Mapping[str, Any], created_at: datetime, attempts: int
) -> Pending:
    """A `Pending` from an outbox entry's fields; raises `AlertError` for a malformed payload."""
    return Pending(
        message_key=key,
        channel=str(payload.get("channel", "")),
        alert=Alert.from_payload(payload.get("alert", {})),
        created_at=created_at,
        attempts=attempts,
    )
