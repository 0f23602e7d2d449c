"""The console channel: alerts printed to a terminal with rich, every value escaped (for `parley demo`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from alerts.model import Alert, Delivery
from alerts.render import facts, safe_url


def _utcnow() -> datetime:
    return datetime.now(UTC)


def alert_text(alert: Alert) -> Text:
    """The alert as rich `Text`: built from plain strings, so no post text is read as markup."""
    text = Text()
    for label, value in facts(alert):
        text.append(f"{label}: ", style="bold")
        text.append(value)
        text.append("\n")
    if alert.quote:
        text.append("“" + alert.quote + "”", style="italic")
        text.append("\n")
    url = safe_url(alert.post_url)
    if url:
        text.append(url, style="underline")
    text.rstrip()
    return text


@dataclass(kw_only=True, slots=True)
class ConsoleChannel:
    """Prints each alert as a panel on `console` (stdout by default)."""

    name: str
    console: Console = field(default_factory=Console)
    clock: Callable[[], datetime] = field(default=_utcnow)

    async def send(self, alert: Alert) -> Delivery:
        """Print `alert`; never raises for a well-formed alert."""
        self.console.print(
            Panel(alert_text(alert), title=Text(alert.headline, style="bold"), expand=False)
        )
        return Delivery(channel=self.name, status="printed", at=self.clock())


def from_config(
    name: str, settings: Mapping[str, Any], environ: Mapping[str, str]
) -> ConsoleChannel:
    """A `ConsoleChannel`; `stderr = true` prints to standard error instead of standard output."""
    return ConsoleChannel(name=name, console=Console(stderr=bool(settings.get("stderr", False))))
