"""Parley's configuration: one TOML file, validated once at the edge into frozen, typed settings.

`load_settings(path, env)` reads the file, checks every key, applies environment overrides for
secrets and returns a `Settings`. Nothing else in Parley reads files or environment variables for
configuration. Every mistake raises `monitor.errors.ConfigError` naming the file, the line (when it
can be found) and the key, e.g. `parley.toml:14: sources[2].interval: must be a positive duration`.

Durations are numbers of seconds or strings such as "90s", "5m", "1h30m".
`parse_duration` is re-exported from `monitor._config_reader` (the line-finding validator).
Environment overrides: PARLEY_DATABASE_URL (database.url), PARLEY_SMTP_PASSWORD
(alerts.email.password), PARLEY_SLACK_WEBHOOK_URL (alerts.slack.webhook_url).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor._config_reader import Reader, parse_duration
from monitor.errors import ConfigError

__all__ = [
    "SOURCE_KINDS",
    "HttpConfig",
    "Schedule",
    "ServiceConfig",
    "Settings",
    "SourceConfig",
    "load_settings",
    "parse_duration",
    "parse_settings",
]

# Kinds a source may name; "rss" and "atom" are read by the same feed parser as "feed".
SOURCE_KINDS = ("feed", "rss", "atom", "liveblog", "html", "jsonfeed")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
DEFAULT_LISTEN = "127.0.0.1:9107"  # [service] listen when the file does not say
ENV_DATABASE_URL = "PARLEY_DATABASE_URL"
ENV_SMTP_PASSWORD = "PARLEY_SMTP_PASSWORD"  # noqa: S105  (the variable's name, not a secret)
ENV_SLACK_WEBHOOK_URL = "PARLEY_SLACK_WEBHOOK_URL"


@dataclass(frozen=True, kw_only=True, slots=True)
class Schedule:
    """How often one source is polled, and how that stretches when it is quiet or failing.

    A source is polled every `interval` seconds plus up to `jitter` seconds at random. After
    `quiet_after` seconds without a new or revised post, each further quiet poll multiplies the
    interval by `quiet_factor`, up to `quiet_max`; a new post brings it straight back to `interval`.
    After a failure the delay is `interval * error_factor ** failures`, capped at `error_max`.
    """

    interval: float = 60.0
    jitter: float = 5.0
    quiet_after: float = 1800.0
    quiet_factor: float = 2.0
    quiet_max: float = 900.0
    error_factor: float = 2.0
    error_max: float = 1800.0
    misfire_grace: float = 30.0


@dataclass(frozen=True, kw_only=True, slots=True)
class SourceConfig:
    """One source to poll: a unique `name`, the parser `kind`, the `url` and kind-specific settings."""

    name: str
    kind: str
    url: str
    schedule: Schedule = field(default_factory=Schedule)
    settings: Mapping[str, Any] = field(default_factory=dict)
    enabled: bool = True

    @property
    def parser_kind(self) -> str:
        """The parser that reads this source ("rss" and "atom" are both read by "feed")."""
        return "feed" if self.kind in ("rss", "atom") else self.kind

    def fingerprint(self) -> dict[str, Any]:
        """What the log records about the source (SourceAdded/SourceChanged): kind, url, settings."""
        return {"kind": self.kind, "url": self.url, "settings": _plain(self.settings)}


@dataclass(frozen=True, kw_only=True, slots=True)
class HttpConfig:
    """How Parley talks HTTP: who it says it is, how long it waits, how much it accepts."""

    user_agent: str = "Parley/0.1 (+https://github.com/parley-news/parley)"
    contact: str = ""
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    per_host_concurrency: int = 4
    max_concurrency: int = 64

    def user_agent_header(self) -> str:
        """The User-Agent sent: the configured agent plus the contact address when one is given."""
        if self.contact and self.contact not in self.user_agent:
            return f"{self.user_agent} {self.contact}".strip()
        return self.user_agent


@dataclass(frozen=True, kw_only=True, slots=True)
class ServiceConfig:
    """The `[service]` endpoints of `parley run`: /healthz, /readyz and /metrics.

    `listen` is (host, port), or None when the endpoints are off (the default of a `Settings`
    built in code; a config file gets 127.0.0.1:9107 unless it says otherwise). `/readyz`
    answers 503 when the views are more than `max_lag` events behind the head of the log, or
    when the database does not answer within `check_timeout` seconds. `required`: the address
    was asked for (in the file or with --listen), so failing to bind it stops `parley run`;
    a default address already in use (another daemon on this machine) is only a warning.
    """

    listen: tuple[str, int] | None = None
    max_lag: int = 1000
    check_timeout: float = 5.0
    required: bool = True


def parse_listen(value: str) -> tuple[str, int] | None:
    """("host", port) from "HOST:PORT" ("[::1]:9107" for IPv6); None for "off" or "".

    Raises ValueError saying what is wrong.
    """
    text = value.strip()
    if text.lower() in ("", "off", "none", "false"):
        return None
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f'{value!r} must be HOST:PORT (like 127.0.0.1:9107) or "off"')
    return host, int(port)


@dataclass(frozen=True, kw_only=True, slots=True)
class RulesConfig:
    """The `[rules]` the views read posts with, on top of the packaged rules pack.

    `actors`: extra actor files (the spec's actor form: people, groups, aliases); `dirs`: extra
    rules folders (any of actors.yaml, topics.yaml, patterns.yaml). Paths are absolute, resolved
    against the config file's folder. Both are what `parley extract/views/replay --actors/--rules`
    take, so the same files give the same views from the command line.
    """

    actors: tuple[str, ...] = ()
    dirs: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    """Everything `parley run` needs, read from one file. Secrets are kept out of `repr`."""

    path: str
    database_url: str | None = field(default=None, repr=False)
    http: HttpConfig = field(default_factory=HttpConfig)
    sources: tuple[SourceConfig, ...] = ()
    alerts: Mapping[str, Any] = field(default_factory=dict, repr=False)
    log_level: str = "INFO"
    parse_workers: int = 0  # worker processes for parsing pages; 0 parses in the daemon itself
    # Seconds within which the other daemons take over a dead daemon's leases (its sources, the
    # views, the alert worker): a lease lapses 2/3 of this after its last renewal.
    lease_ttl: float = 15.0
    # Processes reading posts into claims on a long catch-up of the views; None: the default
    # (`PARLEY_EXTRACT_WORKERS`, else 2 on 2 CPUs or more), 0 or 1: in the daemon itself.
    extract_workers: int | None = None
    rules: RulesConfig = field(default_factory=RulesConfig)
    service: ServiceConfig = field(default_factory=ServiceConfig)

    def source(self, name: str) -> SourceConfig:
        """The source called `name`; raises KeyError when there is none."""
        for s in self.sources:
            if s.name == name:
                return s
        raise KeyError(name)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


_SCHEDULE_KEYS = {
    "interval",
    "jitter",
    "quiet_after",
    "quiet_factor",
    "quiet_max",
    "error_factor",
    "error_max",
    "misfire_grace",
}
_SOURCE_KEYS = {"name", "kind", "url", "settings", "enabled"} | _SCHEDULE_KEYS
_HTTP_KEYS = {
    "user_agent",
    "contact",
    "connect_timeout",
    "read_timeout",
    "total_timeout",
    "max_bytes",
    "max_redirects",
    "per_host_concurrency",
    "max_concurrency",
}
_SERVICE_KEYS = {"listen", "max_lag", "check_timeout"}
_TOP_KEYS = {
    "database",
    "http",
    "defaults",
    "sources",
    "alerts",
    "log",
    "daemon",
    "service",
    "rules",
}


def _schedule(r: Reader, table: Mapping[str, Any], where: str, base: Schedule) -> Schedule:
    values: dict[str, float] = {}
    for key in sorted(_SCHEDULE_KEYS):
        duration = key not in ("quiet_factor", "error_factor")
        values[key] = r.number(table, key, where, getattr(base, key), duration=duration)
    if values["interval"] <= 0:
        raise r.fail(f"{where}.interval", "must be a positive duration")
    for key in ("quiet_factor", "error_factor"):
        if values[key] < 1:
            raise r.fail(
                f"{where}.{key}", f"must be >= 1 (a backoff never speeds up), not {values[key]}"
            )
    return Schedule(**values)


def _http(r: Reader, table: Mapping[str, Any]) -> HttpConfig:
    d = HttpConfig()
    return HttpConfig(
        user_agent=r.string(table, "user_agent", "http", d.user_agent),
        contact=r.string(table, "contact", "http", d.contact),
        connect_timeout=r.number(
            table, "connect_timeout", "http", d.connect_timeout, duration=True
        ),
        read_timeout=r.number(table, "read_timeout", "http", d.read_timeout, duration=True),
        total_timeout=r.number(table, "total_timeout", "http", d.total_timeout, duration=True),
        max_bytes=r.integer(table, "max_bytes", "http", d.max_bytes),
        max_redirects=r.integer(table, "max_redirects", "http", d.max_redirects),
        per_host_concurrency=r.integer(
            table, "per_host_concurrency", "http", d.per_host_concurrency
        ),
        max_concurrency=r.integer(table, "max_concurrency", "http", d.max_concurrency),
    )


def _service(r: Reader, table: Mapping[str, Any]) -> ServiceConfig:
    d = ServiceConfig()
    raw = table.get("listen", DEFAULT_LISTEN)
    if raw is False:
        raw = "off"
    if not isinstance(raw, str):
        raise r.fail("service.listen", f'must be "HOST:PORT" or "off", not {raw!r}')
    try:
        listen = parse_listen(raw)
    except ValueError as exc:
        raise r.fail("service.listen", str(exc)) from None
    max_lag = table.get("max_lag", d.max_lag)
    if isinstance(max_lag, bool) or not isinstance(max_lag, int) or max_lag < 0:
        raise r.fail("service.max_lag", f"must be a whole number of events >= 0, not {max_lag!r}")
    timeout = r.number(table, "check_timeout", "service", d.check_timeout, duration=True)
    if timeout <= 0:
        raise r.fail("service.check_timeout", "must be a positive duration")
    return ServiceConfig(
        listen=listen, max_lag=max_lag, check_timeout=timeout, required="listen" in table
    )


def _source(r: Reader, raw: object, index: int, defaults: Schedule) -> SourceConfig:
    where = f"sources[{index}]"
    table = r.check_table(raw, where, _SOURCE_KEYS)
    name = r.string(table, "name", where, None)
    if not _NAME.match(name):
        raise r.fail(
            f"{where}.name",
            f"{name!r} must be 1-80 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    kind = r.string(table, "kind", where, None)
    if kind not in SOURCE_KINDS:
        raise r.fail(f"{where}.kind", f"{kind!r} is not one of {', '.join(SOURCE_KINDS)}")
    url = r.string(table, "url", where, None)
    if not re.match(r"^https?://[^/\s]+", url):
        raise r.fail(f"{where}.url", f"{url!r} must be an http:// or https:// URL")
    settings = r.check_table(table.get("settings", {}), f"{where}.settings", None)
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise r.fail(f"{where}.enabled", "must be true or false")
    return SourceConfig(
        name=name,
        kind=kind,
        url=url,
        schedule=_schedule(r, table, where, defaults),
        settings=settings,
        enabled=enabled,
    )


def parse_settings(text: str, *, path: str, env: Mapping[str, str]) -> Settings:
    """Validate the TOML `text` (read from `path`, named in errors) and apply `env` overrides.

    Raises `ConfigError` naming the file, line and key of the first mistake.
    """
    return settings_from_data(read_toml(text, path=path), Reader(path, text), env=env)


def read_toml(text: str, *, path: str) -> dict[str, Any]:
    """The parsed TOML document; raises `ConfigError` naming the file, line and column of a
    syntax error (the TOML reader stops at the first one)."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        where = f"{path}:{m.group(1)}:{m.group(2)}" if m else path
        raise ConfigError(f"{where}: not valid TOML: {reason}") from None


def settings_from_data(data: Mapping[str, Any], r: Reader, *, env: Mapping[str, str]) -> Settings:
    """`Settings` from a parsed document; `r` reads the file's text to name lines in errors.

    `monitor.config_check` also calls it on parts of a document, to find every mistake.
    """
    path = r.path
    for key in data:
        if key not in _TOP_KEYS:
            raise r.fail(key, f"unknown section (expected one of: {', '.join(sorted(_TOP_KEYS))})")
    database = r.table(data, "database", {"url"})
    url = env.get(ENV_DATABASE_URL) or database.get("url")
    if url is not None and (not isinstance(url, str) or "://" not in url):
        raise r.fail("database.url", "must be a URL like sqlite:///parley.db or postgresql://...")
    http = _http(r, r.table(data, "http", _HTTP_KEYS))
    defaults = _schedule(r, r.table(data, "defaults", _SCHEDULE_KEYS), "defaults", Schedule())
    log = r.table(data, "log", {"level"})
    level = r.string(log, "level", "log", "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise r.fail("log.level", f"{level!r} is not DEBUG, INFO, WARNING or ERROR")
    daemon = r.table(data, "daemon", {"parse_workers", "lease_ttl", "extract_workers"})
    workers = _workers(r, daemon, "parse_workers", 0) or 0
    extract_workers = _workers(r, daemon, "extract_workers", None)
    lease_ttl = r.number(daemon, "lease_ttl", "daemon", 15.0, duration=True)
    if lease_ttl < 1:
        raise r.fail("daemon.lease_ttl", f"must be at least 1 second, not {lease_ttl:g}")
    service = _service(r, r.table(data, "service", _SERVICE_KEYS))
    rules = _rules(r, r.table(data, "rules", {"actors", "dirs"}), Path(path).parent)
    raw_sources = data.get("sources", [])
    if not isinstance(raw_sources, list):
        raise r.fail("sources", "must be written as [[sources]] tables")
    sources = tuple(_source(r, raw, i + 1, defaults) for i, raw in enumerate(raw_sources))
    seen: set[str] = set()
    for i, s in enumerate(sources, start=1):
        if s.name in seen:
            raise r.fail(f"sources[{i}].name", f"{s.name!r} is used by an earlier source")
        seen.add(s.name)
    alerts = _alerts(r, data.get("alerts", {}), env)
    return Settings(
        path=path,
        database_url=url,
        http=http,
        sources=sources,
        alerts=alerts,
        log_level=level,
        parse_workers=workers,
        lease_ttl=lease_ttl,
        extract_workers=extract_workers,
        rules=rules,
        service=service,
    )


def _workers(r: Reader, daemon: Mapping[str, Any], key: str, default: int | None) -> int | None:
    workers = daemon.get(key, default)
    if workers is None:
        return None
    if isinstance(workers, bool) or not isinstance(workers, int) or not 0 <= workers <= 64:
        raise r.fail(f"daemon.{key}", f"must be a whole number from 0 to 64, not {workers!r}")
    return workers


def _rules(r: Reader, table: Mapping[str, Any], base: Path) -> RulesConfig:
    """The `[rules]` files, each resolved against the config's folder and checked to exist."""

    def paths(key: str, *, folder: bool) -> tuple[str, ...]:
        raw = table.get(key, [])
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
            raise r.fail(f"rules.{key}", "must be a path or a list of paths (strings)")
        out: list[str] = []
        for item in items:
            p = (base / Path(item).expanduser()).resolve()
            if folder and not p.is_dir():
                raise r.fail(f"rules.{key}", f"{item!r} is not a folder (looked for {p})")
            if not folder and not p.is_file():
                raise r.fail(f"rules.{key}", f"{item!r} is not a file (looked for {p})")
            out.append(str(p))
        return tuple(out)

    return RulesConfig(actors=paths("actors", folder=False), dirs=paths("dirs", folder=True))


def _alerts(r: Reader, raw: object, env: Mapping[str, str]) -> dict[str, Any]:
    """The [alerts] section, checked only for shape (its owner validates it), plus secret overrides."""
    alerts = dict(r.check_table(raw, "alerts", None))
    for section, key, var in (
        ("email", "password", ENV_SMTP_PASSWORD),
        ("slack", "webhook_url", ENV_SLACK_WEBHOOK_URL),
    ):
        if env.get(var):
            sub = dict(r.check_table(alerts.get(section, {}), f"alerts.{section}", None))
            sub[key] = env[var]
            alerts[section] = sub
    return alerts


def load_settings(path: str | Path, env: Mapping[str, str]) -> Settings:
    """Read and validate the config file at `path`; raises `ConfigError` if it is missing or wrong."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config file: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{p}:{line}: config file is not UTF-8") from None
    return parse_settings(text, path=str(p), env=env)
