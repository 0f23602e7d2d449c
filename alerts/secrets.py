"""Secrets (webhook URLs, SMTP passwords, signing keys): read once at the edge, masked everywhere.

A `Secret` holds its value privately; `str()`, `repr()` and f-strings show `'***'`. Only the code
that needs the value (the channel sending a message) calls `reveal()`. `scrub(text)` removes the
value from any text (an exception message, a server reply) before it is logged or raised.

`resolve(settings, key, environ=..., where=...)` reads `<key>_env` (the name of an environment
variable) or `<key>_file` (a file whose content, stripped, is the secret). A literal `<key>` in the
configuration is refused unless `allow_literal` (for values that are not secret, like a webhook URL
without a token).
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from alerts.errors import SecretError

MASK = "***"
_MIN_PART = 8  # shorter URL paths ("/", "/hook") carry no token worth masking


class Secret:
    """A string that never shows itself: `str`, `repr` and `format` give `'***'`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret's value: use it, never log it."""
        return self._value

    def scrub(self, text: str) -> str:
        """`text` with every occurrence of the value replaced by `***`.

        For a URL, its path and query (where webhook tokens live) are masked too, wherever they
        appear on their own (a server echoing the path it was asked for).
        """
        if not self._value:
            return text
        text = text.replace(self._value, MASK)
        for part in _url_parts(self._value):
            text = text.replace(part, MASK)
        return text

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> Any:  # pickling would write the value to disk or a queue
        raise TypeError("a Secret cannot be pickled")


def _url_parts(value: str) -> list[str]:
    try:
        parts = urlsplit(value)
    except ValueError:
        return []
    if not parts.scheme or not parts.netloc:
        return []
    return [p for p in (parts.path, parts.query) if len(p) >= _MIN_PART]


def resolve(
    settings: Mapping[str, Any],
    key: str,
    *,
    environ: Mapping[str, str],
    where: str,
    required: bool = True,
    allow_literal: bool = False,
) -> Secret | None:
    """The secret named `key` in `settings`, from `<key>_env` or `<key>_file`.

    Returns None when absent and not `required`. Raises `SecretError` naming `where` and the
    variable or file (never the value) when it is missing, empty or unreadable, or when the value
    is written literally in the configuration and `allow_literal` is false.
    """
    env_name = settings.get(f"{key}_env")
    file_name = settings.get(f"{key}_file")
    given = [n for n in (key, f"{key}_env", f"{key}_file") if settings.get(n) is not None]
    if len(given) > 1:
        raise SecretError(f"{where}: give only one of {', '.join(given)}")
    if key in settings and settings[key] is not None:
        if not allow_literal:
            raise SecretError(
                f"{where}: {key} must not be written in the configuration; "
                f"name an environment variable ({key}_env) or a file ({key}_file)"
            )
        return _non_empty(str(settings[key]), f"{where}: {key}")
    if env_name is not None:
        if not isinstance(env_name, str) or not env_name:
            raise SecretError(f"{where}: {key}_env must be the name of an environment variable")
        if env_name not in environ:
            raise SecretError(f"{where}: environment variable {env_name} ({key}_env) is not set")
        return _non_empty(environ[env_name].strip(), f"{where}: environment variable {env_name}")
    if file_name is not None:
        path = Path(str(file_name)).expanduser()
        try:
            value = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretError(
                f"{where}: cannot read {key}_file {path}: {exc.strerror or type(exc).__name__}"
            ) from None
        return _non_empty(value, f"{where}: {key}_file {path}")
    if required:
        raise SecretError(f"{where}: missing {key}_env or {key}_file")
    return None


def _non_empty(value: str, what: str) -> Secret:
    if not value:
        raise SecretError(f"{what} is empty")
    return Secret(value)


def require(
    settings: Mapping[str, Any],
    key: str,
    *,
    environ: Mapping[str, str],
    where: str,
    allow_literal: bool = False,
) -> Secret:
    """Like `resolve(..., required=True)`, typed as always returning a `Secret`."""
    secret = resolve(
        settings, key, environ=environ, where=where, required=True, allow_literal=allow_literal
    )
    if secret is None:  # resolve raises first; this keeps the type checker honest
        raise SecretError(f"{where}: missing {key}_env or {key}_file")
    return secret


_SECRET_REQUEST = contextvars.ContextVar("parley_alerts_secret_request", default=False)


class _DropSecretRequests(logging.Filter):
    """Drops httpx's "HTTP Request: POST <url>" lines logged while a secret URL is in use."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not _SECRET_REQUEST.get()


@contextmanager
def secret_url_request(loggers: tuple[str, ...] = ("httpx",)) -> Iterator[None]:
    """Within this block (this task, and threads started with its context), the HTTP libraries'
    `loggers` log nothing: their request lines carry the URL.

    Slack and webhook URLs hold their token in the path; httpx logs every request's full URL at
    INFO, Apprise and urllib3 at DEBUG. Sending through a secret URL happens inside this block.
    """
    for name in loggers:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropSecretRequests) for f in logger.filters):
            logger.addFilter(_DropSecretRequests())
    token = _SECRET_REQUEST.set(True)
    try:
        yield
    finally:
        _SECRET_REQUEST.reset(token)
