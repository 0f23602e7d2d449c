"""The alerts package's exceptions: each names what failed and where, never a secret."""

from __future__ import annotations


class AlertError(Exception):
    """Base of every error the alerts package raises."""


class AlertConfigError(AlertError):
    """An alerts configuration that is malformed: names the file or table and the key at fault."""


class SecretError(AlertConfigError):
    """A secret that cannot be read: names the environment variable or file, never the value."""


class DeliveryError(AlertError):
    """A channel could not deliver an alert.

    `retry_after` is how long the channel asked us to wait (seconds), when it said so;
    `permanent` means retrying the same alert cannot succeed (a 4xx, a refused recipient).
    The message carries the channel's answer, scrubbed of any secret.
    """

    def __init__(
        self,
        message: str,
        *,
        channel: str,
        retry_after: float | None = None,
        permanent: bool = False,
        status: str = "",
    ) -> None:
        super().__init__(message)
        self.channel = channel
        self.retry_after = retry_after
        self.permanent = permanent
        self.status = status


class UnknownChannelError(AlertError):
    """A channel name or type that the configuration does not define."""
