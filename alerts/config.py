"""The `[alerts]` section of the TOML configuration, validated once into an `AlertsConfig`.

    [alerts]
    group_wait = "10s"        # changes to one row this close together go out as one alert
    max_attempts = 8          # then the alert is recorded as failed and the operator told
    retry_base = "2s"         # first retry after up to 2 s (full jitter), doubling, at most retry_cap
    retry_cap = "10m"

    [alerts.channels.desk-slack]
    type = "slack"
    webhook_url_env = "PARLEY_SLACK_WEBHOOK_URL"
    rate_per_second = 1       # Slack allows about one message a second per webhook (the default)
    # digest = "1h"           # instead of single alerts, one summary per interval on this channel

    [[alerts.rules]]
    name = "exchanges-carried-out"
    views = ["agreed_exchanges"]
    changes = ["status"]
    statuses = ["carried_out"]
    channels = ["desk-slack"]

A channel may also be written as a section named after its type (`[alerts.slack]`,
`[alerts.email]`...): a channel of that type with that name. Secrets are never read here:
`build_channels(config, environ)` resolves them when the channels are built. Every mistake raises
`AlertConfigError` naming the key, e.g. `alerts.rules[1].changes: unknown change 'nwe'`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alerts.channels import build_channel, channel_types
from alerts.errors import AlertConfigError
from alerts.model import RULE_CHANGES
from alerts.policy import RetryPolicy
from alerts.ports import Channel
from alerts.rules import DEFAULT_RULES, Rule

_DURATION = re.compile(
    r"^\s*(?:(\d+(?:\.\d+)?)h)?\s*(?:(\d+(?:\.\d+)?)m)?\s*(?:(\d+(?:\.\d+)?)s?)?\s*$"
)
_TOP = {"group_wait", "max_attempts", "retry_base", "retry_cap", "channels", "rules"}
_RULE_KEYS = {"name", "views", "changes", "statuses", "actors", "topics", "channels"}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
DEFAULT_RATES = {"slack": 1.0}
# Environment overrides the monitor's config loader writes into [alerts.slack]/[alerts.email].
ENV_OVERRIDES = {
    ("slack", "webhook_url"): "PARLEY_SLACK_WEBHOOK_URL",
    ("email", "password"): "PARLEY_SMTP_PASSWORD",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class AlertsConfig:
    """The alerts settings: channels (unresolved settings by name), rules, grouping and retries."""

    channels: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, repr=False)
    rules: tuple[Rule, ...] = DEFAULT_RULES
    group_wait: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rates: Mapping[str, float] = field(default_factory=dict)
    digests: Mapping[str, float] = field(default_factory=dict)  # channel -> digest interval, s

    @property
    def channel_names(self) -> list[str]:
        return list(self.channels)


def duration(value: Any, where: str) -> float:
    """Seconds from a number or a string such as "90s", "5m", "1h30m"."""
    if isinstance(value, bool):
        raise AlertConfigError(f'{where}: must be a duration such as 30 or "30s"')
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m or not any(m.groups()):
            raise AlertConfigError(f'{where}: {value!r} is not a duration such as "30s" or "5m"')
        h, mi, s = (float(g) if g else 0.0 for g in m.groups())
        seconds = h * 3600 + mi * 60 + s
    if seconds < 0:
        raise AlertConfigError(f"{where}: must not be negative")
    return seconds


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AlertConfigError(f"{where}: must be a string or a list of strings")
    return tuple(value)


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise AlertConfigError(f"{where}: must be a table")
    return value


def _channels(raw: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for kind in channel_types():
        if kind in raw:
            settings = dict(_table(raw[kind], f"alerts.{kind}"))
            settings.setdefault("type", kind)
            out[kind] = settings
    for name, settings in _table(raw.get("channels", {}), "alerts.channels").items():
        where = f"alerts.channels.{name}"
        if not _NAME.match(name):
            raise AlertConfigError(f"{where}: a name is letters, digits, '_', '.' or '-'")
        if name in out:
            raise AlertConfigError(f"{where}: {name!r} is already defined by [alerts.{name}]")
        table = dict(_table(settings, where))
        if "type" not in table:
            raise AlertConfigError(f"{where}: missing type ({', '.join(channel_types())})")
        out[name] = table
    return out


def _rule(i: int, raw: Any, channels: Mapping[str, Any]) -> Rule:
    where = f"alerts.rules[{i}]"
    table = _table(raw, where)
    unknown = sorted(set(table) - _RULE_KEYS)
    if unknown:
        raise AlertConfigError(
            f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_RULE_KEYS))})"
        )
    changes = _strings(table.get("changes", ["new", "changed", "status"]), f"{where}.changes")
    for c in changes:
        if c not in RULE_CHANGES:
            raise AlertConfigError(
                f"{where}.changes: unknown change {c!r} (new, changed, status, removed)"
            )
    names = _strings(table.get("channels", []), f"{where}.channels")
    for n in names:
        if n not in channels:
            raise AlertConfigError(f"{where}.channels: no channel named {n!r} is configured")
    return Rule(
        name=str(table.get("name", f"rule-{i}")),
        views=_strings(table.get("views", []), f"{where}.views"),
        changes=changes,  # type: ignore[arg-type]  # each checked against RULE_CHANGES above
        statuses=_strings(table.get("statuses", []), f"{where}.statuses"),
        actors=_strings(table.get("actors", []), f"{where}.actors"),
        topics=_strings(table.get("topics", []), f"{where}.topics"),
        channels=names,
    )


def parse_alerts(raw: Mapping[str, Any]) -> AlertsConfig:
    """Validate the `[alerts]` table; raises `AlertConfigError` naming the key at fault."""
    unknown = sorted(set(raw) - _TOP - set(channel_types()))
    if unknown:
        raise AlertConfigError(f"alerts: unknown key {unknown[0]!r}")
    channels = _channels(raw)
    rules_raw = raw.get("rules")
    if rules_raw is None:
        rules = DEFAULT_RULES
    elif isinstance(rules_raw, list):
        rules = tuple(_rule(i, r, channels) for i, r in enumerate(rules_raw))
    else:
        raise AlertConfigError("alerts.rules: must be a list of tables ([[alerts.rules]])")
    max_attempts = raw.get("max_attempts", 8)
    if not isinstance(max_attempts, int) or isinstance(max_attempts, bool) or max_attempts < 1:
        raise AlertConfigError("alerts.max_attempts: must be a whole number of at least 1")
    base = duration(raw.get("retry_base", 2.0), "alerts.retry_base")
    cap = duration(raw.get("retry_cap", 600.0), "alerts.retry_cap")
    if base <= 0 or cap < base:
        raise AlertConfigError(
            "alerts.retry_cap: must be at least retry_base, which must be positive"
        )
    rates: dict[str, float] = {}
    for name, settings in channels.items():
        rate = settings.get("rate_per_second", DEFAULT_RATES.get(str(settings.get("type")), 0.0))
        if not isinstance(rate, int | float) or isinstance(rate, bool) or rate < 0:
            raise AlertConfigError(
                f"alerts channel {name!r}: rate_per_second must be a number >= 0"
            )
        rates[name] = float(rate)
    digests = {
        name: duration(settings["digest"], f"alerts channel {name!r}: digest")
        for name, settings in channels.items()
        if settings.get("digest") not in (None, 0, "0", "")
    }
    return AlertsConfig(
        channels=channels,
        rules=rules,
        group_wait=duration(raw.get("group_wait", 10.0), "alerts.group_wait"),
        retry=RetryPolicy(base=base, cap=cap, max_attempts=max_attempts),
        rates=rates,
        digests=digests,
    )


def load_alerts_config(path: str | Path) -> AlertsConfig:
    """The `[alerts]` section of the TOML file at `path`; raises `AlertConfigError` naming the file."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AlertConfigError(f"{p}: cannot read the config file: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise AlertConfigError(f"{p}: not valid TOML: {exc}") from None
    try:
        return parse_alerts(_table(data.get("alerts", {}), "alerts"))
    except AlertConfigError as exc:
        raise AlertConfigError(f"{p}: {exc}") from None


def _env_override(
    name: str, settings: Mapping[str, Any], environ: Mapping[str, str]
) -> dict[str, Any]:
    # The monitor's loader copies PARLEY_SLACK_WEBHOOK_URL / PARLEY_SMTP_PASSWORD into the table as
    # a literal; turn that back into a reference so a literal secret written in the file is still refused.
    # A shorthand section with no reference at all falls back to that same variable when it is set.
    out = dict(settings)
    for (section, key), var in ENV_OVERRIDES.items():
        if name != section:
            continue
        if key in out and environ.get(var) == out[key]:
            del out[key]
            out.pop(f"{key}_file", None)
            out[f"{key}_env"] = var
        elif not any(k in out for k in (key, f"{key}_env", f"{key}_file")) and environ.get(var):
            out[f"{key}_env"] = var
    return out


def build_channels(config: AlertsConfig, environ: Mapping[str, str]) -> dict[str, Channel]:
    """Every configured channel, secrets resolved from `environ` and files.

    Raises `AlertConfigError` (or `SecretError`) naming the channel and key, never a secret.
    """
    return {
        name: build_channel(name, _env_override(name, settings, environ), environ)
        for name, settings in config.channels.items()
    }
