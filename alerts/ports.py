"""The alerts package's ports: the narrow interfaces channels and the delivery worker code against.

Adding a channel is one module in `alerts/channels/` implementing `Channel`, and one line in
`alerts/channels/__init__.py`.
"""

from __future__ import annotations

from typing import Protocol

from alerts.model import Alert, Delivery


class Channel(Protocol):
    """Somewhere an alert can be sent: Slack, email, a webhook, the console, a mailbox file."""

    name: str  # the configured name, e.g. "desk-slack"; appears in logs and the trail

    async def send(self, alert: Alert) -> Delivery:
        """Deliver `alert` once and return the channel's receipt.

        Raises `alerts.errors.DeliveryError` with `retry_after` (seconds, when the channel said)
        and `permanent` (retrying cannot help). Never puts a secret in the error's message.
        """
        ...
