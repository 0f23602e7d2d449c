"""Database URLs: which backend a URL names, and how to show it without its password."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from store.errors import ConfigurationError

_USERINFO_PASSWORD = re.compile(r"^([a-z0-9+.-]+://[^:/@?#]*):([^@/?#]*)@", re.IGNORECASE)
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)
_PG_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://", "postgresql+psycopg2://")


def mask_password(url: str) -> str:
    """`url` with any password (in the user part or the query) replaced by `***`."""
    masked = _USERINFO_PASSWORD.sub(r"\1:***@", url)
    return _QUERY_PASSWORD.sub(r"\1***", masked)


@dataclass(frozen=True, kw_only=True, slots=True)
class DatabaseURL:
    """A parsed database URL: the backend, what to connect to, and what may be shown."""

    backend: str  # "sqlite" or "postgresql"
    display: str  # the URL with its password masked
    sqlite_path: Path | None = None
    conninfo: str | None = None  # for psycopg


def parse_url(url: str) -> DatabaseURL:
    """Parse `sqlite:///PATH` (relative) / `sqlite:////ABS/PATH`, or `postgresql[+psycopg]://...`.

    Raises `ConfigurationError` naming the (masked) URL when the scheme is unsupported or a SQLite
    URL has no file path.
    """
    display = mask_password(url.strip())
    text = url.strip()
    lowered = text.lower()
    if lowered.startswith("sqlite:"):
        if not lowered.startswith("sqlite:///"):
            raise ConfigurationError(
                f"database URL {display!r}: a SQLite URL is sqlite:///RELATIVE/PATH or sqlite:////ABSOLUTE/PATH"
            )
        path = text[len("sqlite:///") :].split("?", 1)[0]
        if not path or path == ":memory:":
            raise ConfigurationError(
                f"database URL {display!r}: the log needs a file path, not an in-memory database"
            )
        return DatabaseURL(backend="sqlite", display=display, sqlite_path=Path(path).expanduser())
    for scheme in _PG_SCHEMES:
        if lowered.startswith(scheme):
            return DatabaseURL(
                backend="postgresql",
                display=display,
                conninfo="postgresql://" + text[len(scheme) :],
            )
    raise ConfigurationError(
        f"database URL {display!r}: unsupported backend (use sqlite:///PATH or postgresql://USER@HOST/DB)"
    )
