"""Validating parsed TOML values with errors that name the file, the line and the dotted key.

Private to `monitor.config`: `Reader(path, text)` checks values of a `tomllib`-parsed document and
raises `ConfigError("parley.toml:14: sources[2].interval: ...")`, finding the line of a key such as
`sources[2].interval` or `http.max_bytes` in the text (best effort: the table's header line when
the key itself is not written there).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from monitor.errors import ConfigError

_DURATION = re.compile(
    r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*$"
)


def parse_duration(value: object) -> float | None:
    """Seconds from a number or a string like "90s", "5m", "1h30m"; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value.strip():
        m = _DURATION.match(value)
        if m and any(m.groups()):
            h, mi, s = (float(g) if g else 0.0 for g in m.groups())
            return h * 3600 + mi * 60 + s
    return None


class Reader:
    """Validates values of one parsed file, reporting the file, the line and the dotted key."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def fail(self, key: str, message: str) -> ConfigError:
        line = self._line_of(key)
        where = f"{self.path}:{line}" if line else self.path
        return ConfigError(f"{where}: {key}: {message}")

    def _line_of(self, key: str) -> int | None:
        """Best-effort line of a dotted key such as `sources[2].interval` or `http.max_bytes`."""
        m = re.match(r"^sources\[(\d+)\](?:\.(.+))?$", key)
        if m:
            start = self._nth_header(r"\[\[\s*sources\s*\]\]", int(m.group(1)))
            leaf = m.group(2)
        else:
            section, _, leaf = key.rpartition(".")
            start = self._nth_header(rf"\[\s*{re.escape(section)}\s*\]", 1) if section else 0
            leaf = leaf or None
        if start is None:
            return None
        if not leaf:
            return start or None
        name = leaf.rsplit(".", 1)[-1]
        for i in range(start, len(self.lines)):
            text = self.lines[i].strip()
            if i > start and text.startswith("[[") and start:
                break
            if re.match(rf"^\"?{re.escape(name)}\"?\s*=", text):
                return i + 1
        return start or None

    def _nth_header(self, pattern: str, n: int) -> int | None:
        seen = 0
        for i, line in enumerate(self.lines):
            if re.match(rf"^\s*{pattern}", line):
                seen += 1
                if seen == n:
                    return i + 1
        return None

    def table(self, data: Mapping[str, Any], key: str, known: set[str]) -> dict[str, Any]:
        return self.check_table(data.get(key, {}), key, known)

    def check_table(self, value: object, key: str, known: set[str] | None) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"must be a table, not {type(value).__name__}")
        if known is not None:
            for k in value:
                if k not in known:
                    hint = ", ".join(sorted(known))
                    raise self.fail(f"{key}.{k}", f"unknown key (expected one of: {hint})")
        return value

    def string(self, table: Mapping[str, Any], key: str, where: str, default: str | None) -> str:
        value = table.get(key, default)
        if value is None:
            raise self.fail(f"{where}.{key}" if where else key, "is required")
        if not isinstance(value, str):
            raise self.fail(f"{where}.{key}" if where else key, "must be a string")
        return value

    def number(
        self, table: Mapping[str, Any], key: str, where: str, default: float, *, duration: bool
    ) -> float:
        raw = table.get(key, default)
        value = parse_duration(raw) if duration else (None if isinstance(raw, bool) else raw)
        if not isinstance(value, int | float) or value < 0:
            what = "a duration (seconds, or like '90s', '5m', '1h')" if duration else "a number"
            raise self.fail(f"{where}.{key}", f"must be {what} >= 0, not {raw!r}")
        return float(value)

    def integer(self, table: Mapping[str, Any], key: str, where: str, default: int) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(f"{where}.{key}", f"must be a whole number >= 1, not {value!r}")
        return value
