"""Any service Apprise supports (Teams, Discord, Telegram, Matrix, ntfy...), by Apprise URL.

Optional: install with `pip install 'parley[apprise]'`. The Apprise URL holds the service's token,
so it is a secret (`url_env` or `url_file`). The alert goes as Apprise's title and a plain-text
body (the same text an email's text part has). Post text cannot mention anyone: every `@` is
followed by an invisible word joiner, so `@everyone` or `@channel` is shown but never pings.

Apprise does not say why a service refused, so a refusal is retryable; a URL Apprise does not
understand is a permanent error. While Apprise sends, its own log lines (and urllib3's, which carry
the URL) are dropped.
"""

from __future__ import annotations

import asyncio
import functools
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from alerts.errors import AlertConfigError, DeliveryError
from alerts.model import Alert, Delivery
from alerts.render import text_body
from alerts.secrets import Secret, require, secret_url_request

WORD_JOINER = "\u2060"
_LOGGERS = ("apprise", "urllib3.connectionpool")


@functools.cache
def _apprise() -> Any:
    """The apprise module, with its plugins loaded once.

    Apprise's plugins import the deprecated `imghdr` module when they load (Python 3.11 warns);
    that is Apprise's to fix, so the warning is silenced for this one-time load only.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import apprise

        apprise.Apprise().details()  # loads every plugin now, not inside a send
    return apprise


def defuse(text: str) -> str:
    """`text` with every `@` followed by a word joiner, so no service reads a mention in it."""
    return text.replace("@", "@" + WORD_JOINER)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(kw_only=True, slots=True)
class AppriseChannel:
    """Sends alerts to one Apprise URL."""

    name: str
    url: Secret
    clock: Callable[[], datetime] = field(default=_utcnow)

    async def send(self, alert: Alert) -> Delivery:
        """Notify through Apprise; raises `DeliveryError` (see the module docstring)."""
        title, body = defuse(alert.headline), defuse(text_body(alert))
        with secret_url_request(_LOGGERS):  # to_thread copies this context into the thread
            ok = await asyncio.to_thread(self._notify, title, body)
        if not ok:
            raise DeliveryError(
                f"apprise channel {self.name}: the service did not accept the notification",
                channel=self.name,
            )
        return Delivery(channel=self.name, status="sent", at=self.clock())

    def _notify(self, title: str, body: str) -> bool:
        apprise = _apprise()
        notifier = apprise.Apprise()
        if not notifier.add(self.url.reveal()):
            raise DeliveryError(
                f"apprise channel {self.name}: Apprise does not understand the configured URL",
                channel=self.name,
                permanent=True,
            )
        return bool(notifier.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT))


def from_config(
    name: str, settings: Mapping[str, Any], environ: Mapping[str, str]
) -> AppriseChannel:
    """An `AppriseChannel`: `url_env` or `url_file` (an Apprise URL, a secret)."""
    try:
        _apprise()  # here, at start-up: a missing extra is a configuration error
    except ImportError:
        raise AlertConfigError(
            f"alerts channel {name!r}: type apprise needs the apprise package "
            "(pip install 'parley[apprise]')"
        ) from None
    url = require(settings, "url", environ=environ, where=f"alerts channel {name!r}")
    return AppriseChannel(name=name, url=url)
