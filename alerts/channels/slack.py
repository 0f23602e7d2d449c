"""Slack incoming webhooks: an alert as a Block Kit message.

`slack_message(alert)` (pure) builds the payload: a header, what changed, the parties, quantities
and deadline, the quoted sentence as a quote, and a button linking to the post. Every piece of post
text is escaped for Slack (`&` `<` `>` become entities) and every mrkdwn text is `verbatim` (Slack
does not auto-link it), so no post can ping `@channel` or smuggle a `<url|link>`. Text is cut to
Slack's limits (header 150 characters, section text 3000, field 2000, fallback text 40,000, at
most 50 blocks) without splitting an entity.

`SlackChannel.send` posts it. A 2xx is delivered; 429 raises a retryable `DeliveryError` with the
Retry-After seconds; 5xx, timeouts and connection errors are retryable; any other 4xx is
permanent. The webhook URL is a `Secret`: it never appears in an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from alerts.errors import DeliveryError
from alerts.model import Alert, Delivery
from alerts.render import facts, safe_url
from alerts.secrets import Secret, require
from alerts.secrets import secret_url_request as _quiet

HEADER_MAX = 150
SECTION_MAX = 3000
FIELD_MAX = 2000
FIELDS_MAX = 10
TEXT_MAX = 40_000
BLOCKS_MAX = 50
URL_MAX = 3000
_ELLIPSIS = "…"
_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape(text: str, limit: int | None = None) -> str:
    """`text` escaped for Slack, cut (with an ellipsis) so the escaped result fits `limit` characters.

    Cutting happens between characters of the original text, so an entity is never split.
    """
    escaped = "".join(_ESCAPES.get(ch, ch) for ch in text)
    if limit is None or len(escaped) <= limit:
        return escaped
    out: list[str] = []
    size = 0
    for ch in text:
        piece = _ESCAPES.get(ch, ch)
        if size + len(piece) > limit - len(_ELLIPSIS):
            break
        out.append(piece)
        size += len(piece)
    out.append(_ELLIPSIS)
    return "".join(out)


def _quote(text: str) -> str:
    # The leading ">" is Slack's quote marker: the one place a ">" is left unescaped on purpose.
    lines = [line for line in text.splitlines() if line.strip()] or [""]
    room = SECTION_MAX - 2 * len(lines)
    body = escape("\n".join(lines), room)
    return "\n".join(f">{line}" for line in body.split("\n"))


def _mrkdwn(text: str) -> dict[str, Any]:
    # verbatim: Slack must not auto-link URLs, channel names or mentions in the (escaped) text
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def slack_message(alert: Alert) -> dict[str, Any]:
    """The Block Kit payload for `alert`, every value escaped and within Slack's limits."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": escape(alert.headline, HEADER_MAX)},
        }
    ]
    if alert.summary:
        blocks.append(
            {
                "type": "section",
                "text": _mrkdwn(escape(alert.summary, SECTION_MAX)),
            }
        )
    pairs = [(label, value) for label, value in facts(alert) if label != "What changed"]
    if pairs:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    _mrkdwn(f"*{label}*\n" + escape(value, FIELD_MAX - len(label) - 3))
                    for label, value in pairs[:FIELDS_MAX]
                ],
            }
        )
    if alert.quote:
        blocks.append({"type": "section", "text": _mrkdwn(_quote(alert.quote))})
    url = safe_url(alert.post_url)
    if url and len(url) <= URL_MAX:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open the post"},
                        "url": url,
                    }
                ],
            }
        )
    blocks.append(
        {
            "type": "context",
            "elements": [_mrkdwn(escape(f"Parley · {alert.key}", SECTION_MAX))],
        }
    )
    fallback = alert.headline + (f": {alert.summary}" if alert.summary else "")
    return {"text": escape(fallback, TEXT_MAX), "blocks": blocks[:BLOCKS_MAX]}


def _retry_after(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(0.0, seconds)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(kw_only=True, slots=True)
class SlackChannel:
    """Posts alerts to one Slack incoming webhook."""

    name: str
    url: Secret
    timeout: float = 10.0
    clock: Callable[[], datetime] = field(default=_utcnow)

    async def send(self, alert: Alert) -> Delivery:
        """Post `alert`; see the module docstring for what raises `DeliveryError`."""
        payload = slack_message(alert)
        try:
            with _quiet():
                async with httpx.AsyncClient(
                    timeout=self.timeout, follow_redirects=False
                ) as client:
                    response = await client.post(self.url.reveal(), json=payload)
        except httpx.TimeoutException:
            raise DeliveryError(
                f"slack channel {self.name}: timed out after {self.timeout}s", channel=self.name
            ) from None
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"slack channel {self.name}: {type(exc).__name__}: {self.url.scrub(str(exc))}",
                channel=self.name,
            ) from None
        answer = self.url.scrub(response.text[:500])
        status = str(response.status_code)
        if response.is_success:
            return Delivery(channel=self.name, status=status, answer=answer, at=self.clock())
        raise DeliveryError(
            f"slack channel {self.name}: HTTP {status}: {answer}",
            channel=self.name,
            retry_after=_retry_after(response.headers),
            # 429 and 5xx may pass; any other answer (4xx, a redirect) will not change on retry
            permanent=response.status_code != 429 and response.status_code < 500,
            status=status,
        )


def from_config(name: str, settings: Mapping[str, Any], environ: Mapping[str, str]) -> SlackChannel:
    """A `SlackChannel`: `webhook_url_env` or `webhook_url_file` (the URL is a secret), `timeout`."""
    where = f"alerts channel {name!r}"
    url = require(settings, "webhook_url", environ=environ, where=where)
    return SlackChannel(name=name, url=url, timeout=float(settings.get("timeout", 10.0)))
