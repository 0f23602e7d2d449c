"""Generic webhooks: an alert as a signed JSON body POSTed to a URL.

The body is the alert's JSON (`{"type": "parley.alert", "alert": {...}}`, keys sorted, compact).
Headers:

- `X-Parley-Timestamp: <unix seconds>`
- `X-Parley-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`
- `X-Parley-Alert-Key: <alert key>`: the same on every retry, so a receiver can drop duplicates.

A receiver verifies with `verify_signature(secret, header, body, now)`: recompute the HMAC over the
timestamp, a dot and the raw body bytes, compare in constant time, and refuse timestamps older than
its tolerance (5 minutes by default) to stop replays. Answers: 2xx delivered; 429 and 5xx,
timeouts and connection errors retryable (Retry-After honoured); other 4xx permanent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from alerts.errors import DeliveryError
from alerts.model import Alert, Delivery
from alerts.secrets import Secret, require
from alerts.secrets import secret_url_request as _quiet

DEFAULT_TOLERANCE = 300.0


def webhook_body(alert: Alert) -> bytes:
    """The JSON body for `alert`: canonical (sorted keys, compact, UTF-8)."""
    doc = {"type": "parley.alert", "alert": alert.to_payload()}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The `X-Parley-Signature` header value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE,
) -> bool:
    """True when `header` is a valid signature of `body` by `secret`, made within `tolerance` of `now`."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _retry_after(value: str | None) -> float | None:
    try:
        return None if value is None else max(0.0, float(value))
    except ValueError:
        return None


@dataclass(kw_only=True, slots=True)
class WebhookChannel:
    """POSTs signed alerts to one URL."""

    name: str
    url: Secret
    secret: Secret
    timeout: float = 10.0
    clock: Callable[[], datetime] = field(default=_utcnow)

    async def send(self, alert: Alert) -> Delivery:
        """POST `alert`, signed; see the module docstring for what raises `DeliveryError`."""
        body = webhook_body(alert)
        timestamp = int(self.clock().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "parley-alerts",
            "X-Parley-Timestamp": str(timestamp),
            "X-Parley-Signature": sign(self.secret.reveal(), body, timestamp),
            "X-Parley-Alert-Key": alert.key,
        }
        try:
            with _quiet():
                async with httpx.AsyncClient(
                    timeout=self.timeout, follow_redirects=False
                ) as client:
                    response = await client.post(self.url.reveal(), content=body, headers=headers)
        except httpx.TimeoutException:
            raise DeliveryError(
                f"webhook channel {self.name}: timed out after {self.timeout}s", channel=self.name
            ) from None
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"webhook channel {self.name}: {type(exc).__name__}: {self._scrub(str(exc))}",
                channel=self.name,
            ) from None
        status = str(response.status_code)
        answer = self._scrub(response.text[:500])
        if response.is_success:
            return Delivery(channel=self.name, status=status, answer=answer, at=self.clock())
        raise DeliveryError(
            f"webhook channel {self.name}: HTTP {status}: {answer}",
            channel=self.name,
            retry_after=_retry_after(response.headers.get("retry-after")),
            permanent=response.status_code != 429 and response.status_code < 500,
            status=status,
        )

    def _scrub(self, text: str) -> str:
        return self.secret.scrub(self.url.scrub(text))


def from_config(
    name: str, settings: Mapping[str, Any], environ: Mapping[str, str]
) -> WebhookChannel:
    """A `WebhookChannel`: `url` (or `url_env`/`url_file`), `secret_env` or `secret_file`, `timeout`."""
    where = f"alerts channel {name!r}"
    url = require(settings, "url", environ=environ, where=where, allow_literal=True)
    secret = require(settings, "secret", environ=environ, where=where)
    return WebhookChannel(
        name=name, url=url, secret=secret, timeout=float(settings.get("timeout", 10.0))
    )
