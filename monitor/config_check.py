"""`parley config check FILE`: every mistake in a configuration, each with its line, offline.

It checks what `parley run` would load: the TOML itself; every key of `[database]`, `[http]`,
`[defaults]`, `[log]`, `[daemon]`, `[service]` and `[rules]` (whose YAML files are loaded as the
views would load them); each `[[sources]]` table; the database URL's
form (the database is not contacted); the `[alerts]` settings, channels and rules; and each
channel's secrets (the environment variable is set, the file is readable and not empty). It
connects to nothing and never prints a secret.

Why it finds every mistake although the validators stop at the first: each key (each source,
channel and rule) is validated on its own, in a copy of the document that holds only that key
(beside known-good stand-ins where a table needs its required keys, or where an index must stay
the same), while line numbers come from the whole file's text. Then each part is validated
whole, for mistakes that involve two keys. A TOML syntax error is the one exception: the TOML
reader stops there, so it is reported alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor._config_reader import Reader
from monitor.config import (
    ENV_DATABASE_URL,
    Settings,
    load_settings,
    read_toml,
    settings_from_data,
)
from monitor.errors import ConfigError

_REQUIRED = ("name", "kind", "url")
_PLAIN_SECTIONS = ("database", "http", "defaults", "log", "daemon", "service", "rules")


@dataclass(kw_only=True)
class CheckReport:
    """What a check found: every error (one line each, `file:line: key: what`), or the settings."""

    path: str
    errors: list[str] = field(default_factory=list)
    settings: Settings | None = None
    channels: dict[str, str] = field(default_factory=dict)  # name -> type
    rules: int = 0

    def add(self, message: str) -> None:
        if message not in self.errors:
            self.errors.append(message)

    def sorted_errors(self) -> list[str]:
        """The errors in the order of their lines (those without a line first)."""

        def line(message: str) -> int:
            m = re.match(rf"^{re.escape(self.path)}:(\d+)", message)
            return int(m.group(1)) if m else 0

        return sorted(self.errors, key=line)


def check_file(path: str | Path, env: Mapping[str, str]) -> CheckReport:
    """Check the config file at `path` with `env` as the environment; never raises ConfigError."""
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        report = CheckReport(path=str(p))
        try:
            load_settings(p, env)  # its messages name what is wrong with the file itself
        except ConfigError as exc:
            report.add(str(exc))
        return report
    return check_text(text, path=str(p), env=env)


def check_text(text: str, *, path: str, env: Mapping[str, str]) -> CheckReport:
    """Check a config's `text` (read from `path`, named in every error)."""
    report = CheckReport(path=path)
    try:
        data = read_toml(text, path=path)
    except ConfigError as exc:
        report.add(f"{exc} (the TOML reader stops at its first error: fix it and check again)")
        return report
    r = Reader(path, text)

    def attempt(doc: Mapping[str, Any]) -> Settings | None:
        try:
            return settings_from_data(doc, r, env=env)
        except ConfigError as exc:
            report.add(_with_section_line(r, str(exc)))
            return None

    valid: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("sources", "alerts"):
            continue
        if key in _PLAIN_SECTIONS and isinstance(value, dict):
            for k, v in value.items():
                attempt({key: {k: v}})
        if attempt({key: value}) is not None:
            valid[key] = value
    _check_database_url(data, env, r, report)
    _check_sources(
        data.get("sources", []), {"defaults": valid.get("defaults", {})}, attempt, r, report
    )
    settings = attempt({"alerts": data.get("alerts", {})})
    if settings is not None:
        _check_alerts(settings.alerts, r, env, report)
    if not report.errors:
        report.settings = attempt(data)
    rules = report.settings.rules if report.settings is not None else None
    if report.settings is not None and rules is not None and (rules.actors or rules.dirs):
        _check_rules_pack(report.settings, report)
    return report


def _check_rules_pack(settings: Settings, report: CheckReport) -> None:
    """The `[rules]` files load into a rules pack (their errors name the YAML file and line)."""
    from monitor.claims import load_pack

    try:
        load_pack(actor_files=settings.rules.actors, rules_dirs=settings.rules.dirs)
    except ConfigError as exc:
        report.add(f"{settings.path}: rules: {exc}")


def _with_section_line(r: Reader, message: str) -> str:
    """An unknown section's error, given the line of its header (the reader finds keys' lines)."""
    m = re.match(rf"^{re.escape(r.path)}: ([A-Za-z0-9_-]+): unknown section", message)
    if m:
        name = re.escape(m.group(1))
        line = _header(r.lines, rf"\[+\s*\"?{name}\"?\s*[.\]].*", 1) or _header(
            r.lines, rf"\"?{name}\"?\s*=.*", 1
        )
        if line:
            return f"{r.path}:{line}:{message[len(r.path) + 1 :]}"
    return message


def _check_database_url(
    data: Mapping[str, Any], env: Mapping[str, str], r: Reader, report: CheckReport
) -> None:
    """The URL's form (scheme, path), as `open_store` would judge it, without connecting."""
    from store.errors import StoreError
    from store.url import parse_url

    database = data.get("database")
    url = env.get(ENV_DATABASE_URL) or (database.get("url") if isinstance(database, dict) else None)
    if not isinstance(url, str) or "://" not in url:
        return  # absent (the default is used), or already reported by the settings
    try:
        parse_url(url)
    except StoreError as exc:
        origin = f" (from {ENV_DATABASE_URL})" if env.get(ENV_DATABASE_URL) else ""
        report.add(str(r.fail("database.url", f"{exc}{origin}")))


def _stand_in(index: int) -> dict[str, Any]:
    return {"name": f"config-check-{index}", "kind": "rss", "url": "http://config.check/"}


def _check_sources(
    raw: Any,
    base: Mapping[str, Any],
    attempt: Callable[[Mapping[str, Any]], Settings | None],
    r: Reader,
    report: CheckReport,
) -> None:
    if not isinstance(raw, list):
        attempt({"sources": raw})
        return

    def doc(i: int, table: Any) -> dict[str, Any]:
        return {**base, "sources": [_stand_in(j) for j in range(1, i)] + [table]}

    seen: dict[str, int] = {}
    for i, table in enumerate(raw, start=1):
        if not isinstance(table, dict):
            attempt(doc(i, table))
            continue
        for k, v in table.items():
            attempt(doc(i, {**_stand_in(i), k: v}))
        for k in _REQUIRED:
            if k not in table:
                attempt(doc(i, {n: v for n, v in _stand_in(i).items() if n != k}))
        attempt(doc(i, table))
        name = table.get("name")
        if isinstance(name, str):
            if name in seen:
                report.add(
                    str(
                        r.fail(
                            f"sources[{i}].name",
                            f"{name!r} is used by an earlier source (sources[{seen[name]}])",
                        )
                    )
                )
            seen.setdefault(name, i)


def _check_alerts(
    raw: Mapping[str, Any], r: Reader, env: Mapping[str, str], report: CheckReport
) -> None:
    """Every alerts key, channel (with its secrets) and rule on its own, then the whole section."""
    from alerts.channels import channel_types
    from alerts.config import AlertsConfig, build_channels, parse_alerts
    from alerts.errors import AlertConfigError

    def parse(part: Mapping[str, Any]) -> AlertsConfig | None:
        try:
            return parse_alerts(part)
        except AlertConfigError as exc:
            report.add(_locate_alert_error(r, str(exc)))
            return None

    def build(config: AlertsConfig) -> None:
        try:
            build_channels(config, env)
        except (
            AlertConfigError
        ) as exc:  # SecretError too: names the variable or file, not the value
            report.add(_locate_alert_error(r, str(exc)))

    types = set(channel_types())
    for key, value in raw.items():
        if key not in ("channels", "rules") and key not in types:
            parse({key: value})
    names = [t for t in sorted(types) if t in raw]
    for kind in names:
        config = parse({kind: raw[kind]})
        if config is not None:
            build(config)
    channels = raw.get("channels", {})
    if isinstance(channels, dict):
        for name, table in channels.items():
            names.append(name)
            config = parse({"channels": {name: table}})
            if config is not None:
                build(config)
    else:
        parse({"channels": channels})
    _check_rules(raw.get("rules"), names, parse)
    whole = parse(raw)
    if whole is not None:
        report.channels = {n: str(s.get("type")) for n, s in whole.channels.items()}
        report.rules = len(whole.rules)


def _check_rules(rules: Any, channels: list[str], parse: Callable[[Any], object]) -> None:
    """Each rule, each of its keys on its own; the rules before it are stood in for by `{}` (a
    valid rule) so the index in each message is the file's, and every channel is a stub."""
    if rules is None:
        return
    if not isinstance(rules, list):
        parse({"rules": rules})
        return
    stubs = {n: {"type": "console"} for n in channels}
    for i, rule in enumerate(rules):
        if isinstance(rule, dict):
            for key, value in rule.items():
                parse({"channels": stubs, "rules": [{}] * i + [{key: value}]})
        parse({"channels": stubs, "rules": [{}] * i + [rule]})


# Where an alerts error is: its messages name the key as `alerts.x`, `alerts.rules[i].x`,
# `alerts.channels.NAME` or `alerts channel 'NAME': ...` (alerts.config knows nothing of lines).
_RULE = re.compile(r"^alerts\.rules\[(\d+)\](?:\.(\w+))?")
_CHANNEL_TABLE = re.compile(r"^alerts\.channels\.([A-Za-z0-9_.-]+)")
_CHANNEL = re.compile(r"^alerts channel '([^']+)'")
_SECTION_KEY = re.compile(r"^alerts(?:\.(\w+))?\s*:")
_QUOTED = re.compile(r"'([A-Za-z0-9_]+)'")


def _locate_alert_error(r: Reader, message: str) -> str:
    line = _alert_line(r.lines, message)
    return f"{r.path}:{line}: {message}" if line else f"{r.path}: {message}"


def _alert_line(lines: list[str], message: str) -> int | None:
    quoted = _QUOTED.findall(message.split(":", 1)[-1])
    m = _RULE.match(message)
    if m:
        header = _header(lines, r"\[\[\s*alerts\s*\.\s*rules\s*\]\]", int(m.group(1)) + 1)
        return _key_line(lines, header, [m.group(2)] if m.group(2) else quoted)
    m = _CHANNEL_TABLE.match(message) or _CHANNEL.match(message)
    if m:
        name = re.escape(m.group(1))
        header = _header(lines, rf"\[\s*alerts\s*\.\s*(?:channels\s*\.\s*)?\"?{name}\"?\s*\]", 1)
        words = re.findall(r"[A-Za-z_]+", message.split(":", 1)[-1])
        return _key_line(lines, header, words)
    m = _SECTION_KEY.match(message)
    header = _header(lines, r"\[\s*alerts\s*\]", 1)
    if m:
        return _key_line(lines, header, [m.group(1)] if m.group(1) else quoted)
    return header


def _header(lines: list[str], pattern: str, n: int) -> int | None:
    """The line number (1-based) of the `n`th table header matching `pattern`."""
    seen = 0
    for i, line in enumerate(lines):
        if re.match(rf"^\s*{pattern}\s*(#.*)?$", line):
            seen += 1
            if seen == n:
                return i + 1
    return None


def _key_line(lines: list[str], header: int | None, keys: list[str]) -> int | None:
    """The line of the first of `keys` written in the table starting at `header` (else `header`)."""
    if header is None:
        return None
    end = next(
        (i for i in range(header, len(lines)) if lines[i].lstrip().startswith("[")), len(lines)
    )
    for key in keys:
        for i in range(header, end):
            if re.match(rf"^\s*\"?{re.escape(key)}\"?\s*=", lines[i]):
                return i + 1
    return header
