"""The mailbox channel: appends each alert, as the email channel would send it, to a local mbox file.

For `parley demo` and for trying rules without a mail server: open the file with any mail client
(`mutt -f FILE`) and the alerts thread per row as they would in an inbox. The file is locked while
a message is appended, so two daemons can share it.
"""

from __future__ import annotations

import asyncio
import mailbox as stdlib_mailbox
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alerts.channels.email import email_message
from alerts.errors import AlertConfigError, DeliveryError
from alerts.model import Alert, Delivery


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(kw_only=True, slots=True)
class MailboxChannel:
    """Appends alerts to the mbox file at `path` (created, with its folder, when missing)."""

    name: str
    path: Path
    sender: str = "parley@localhost"
    recipients: tuple[str, ...] = ("desk@localhost",)
    domain: str = "parley.invalid"
    clock: Callable[[], datetime] = field(default=_utcnow)

    async def send(self, alert: Alert) -> Delivery:
        """Append `alert`; raises a retryable `DeliveryError` naming the file when it cannot be written."""
        msg = email_message(
            alert,
            sender=self.sender,
            recipients=self.recipients,
            domain=self.domain,
            now=self.clock(),
        )
        try:
            await asyncio.to_thread(self._append, msg)
        except (OSError, stdlib_mailbox.Error) as exc:
            raise DeliveryError(
                f"mailbox channel {self.name}: cannot append to {self.path}: {exc}",
                channel=self.name,
            ) from None
        return Delivery(
            channel=self.name, status="appended", answer=str(self.path), at=self.clock()
        )

    def _append(self, msg: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        box = stdlib_mailbox.mbox(self.path, create=True)
        box.lock()
        try:
            box.add(msg)
            box.flush()
        finally:
            box.unlock()
            box.close()


def from_config(
    name: str, settings: Mapping[str, Any], environ: Mapping[str, str]
) -> MailboxChannel:
    """A `MailboxChannel`: `path` (required), optional `from`, `to`, `message_id_domain`."""
    if not settings.get("path"):
        raise AlertConfigError(f"alerts channel {name!r}: missing path (the mbox file)")
    to = settings.get("to", "desk@localhost")
    return MailboxChannel(
        name=name,
        path=Path(str(settings["path"])).expanduser(),
        sender=str(settings.get("from", "parley@localhost")),
        recipients=(to,) if isinstance(to, str) else tuple(str(t) for t in to),
        domain=str(settings.get("message_id_domain", "parley.invalid")),
    )
