"""Publication times as publishers write them: RFC 822 (RSS) and ISO 8601 (Atom, JSON-LD, JSON Feed).

A time written without a zone is read in the source's `timezone` setting (an IANA name, default
UTC): publishers that omit the offset almost always mean their local time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.errors import ConfigError

_ISO_COMPACT_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")
_ZULU = re.compile(r"[zZ]$")


def source_timezone(settings: Mapping[str, Any]) -> tzinfo:
    """The zone for naive times: `settings["timezone"]` (IANA name), default UTC.

    Raises ConfigError for an unknown zone name.
    """
    name = settings.get("timezone") or "UTC"
    if name in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown timezone {name!r} in source settings") from exc


def parse_time(value: object, default_tz: tzinfo = UTC) -> datetime | None:
    """Parse an RFC 822 or ISO 8601 time into an aware datetime; None when absent or unreadable.

    The offset the publisher wrote is kept (14:15+01:00 stays 14:15+01:00); naive times get
    `default_tz`.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    parsed = _parse_iso(text) or _parse_rfc822(text)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=default_tz)
    return parsed


def _parse_iso(text: str) -> datetime | None:
    candidate = _ZULU.sub("+00:00", text)
    candidate = _ISO_COMPACT_OFFSET.sub(r"\1:\2", candidate) if "T" in candidate else candidate
    try:
        return datetime.fromisoformat(candidate)
    except ValueError:
        return None


def _parse_rfc822(text: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    # email.utils marks "-0000" (zone unknown) as naive; the caller applies the source's zone.
    return parsed
