"""Alert channels, one module each. Adding a channel is a module with `from_config` and one line below.

`build_channel(name, settings, environ)` builds the channel whose `type` the settings name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from alerts.errors import AlertConfigError
from alerts.ports import Channel

Factory = Callable[[str, Mapping[str, Any], Mapping[str, str]], Channel]


def _registry() -> dict[str, Factory]:
    # Imported lazily so `parley --help` does not import httpx and smtplib.
    from alerts.channels import apprise, console, email, mailbox, slack, webhook

    return {
        "apprise": apprise.from_config,
        "slack": slack.from_config,
        "email": email.from_config,
        "webhook": webhook.from_config,
        "console": console.from_config,
        "mailbox": mailbox.from_config,
    }


def channel_types() -> list[str]:
    """The channel types a configuration may name."""
    return sorted(_registry())


def build_channel(name: str, settings: Mapping[str, Any], environ: Mapping[str, str]) -> Channel:
    """The channel `name` configured by `settings` (whose `type` picks the module).

    Raises `AlertConfigError` (or `SecretError`) naming the channel and the key at fault.
    """
    kind = settings.get("type")
    factories = _registry()
    if kind not in factories:
        raise AlertConfigError(
            f"alerts channel {name!r}: type must be one of {', '.join(sorted(factories))}, not {kind!r}"
        )
    return factories[str(kind)](name, settings, environ)
