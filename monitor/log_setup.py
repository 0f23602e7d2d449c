"""structlog, configured once for the whole process: readable on a terminal, JSON lines otherwise."""

from __future__ import annotations

import logging
import sys
from typing import Literal, TextIO

import structlog

LogFormat = Literal["auto", "console", "json"]

# Control characters (ESC above all) and bidirectional overrides written to a terminal can rewrite
# what it shows; log values carry post text (ids, titles, server replies). Newline and tab stay.
_UNSAFE = [*range(0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0)]
_UNSAFE += [0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
_ESCAPES = {c: f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}" for c in _UNSAFE}


def escape_controls(
    logger: object, method: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """A structlog processor: control characters in string values shown as `\\x1b` (for the
    console renderer; JSON lines escape them already)."""
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = value.translate(_ESCAPES)
    return event_dict


def configure_logging(
    fmt: LogFormat = "auto", level: str = "INFO", stream: TextIO | None = None
) -> None:
    """Route structlog (and stdlib logging) to `stream` (stderr by default) in the chosen format.

    `auto` picks the console renderer when the stream is a terminal and JSON lines otherwise.
    """
    out = stream or sys.stderr
    if fmt == "auto":
        fmt = "console" if out.isatty() else "json"
    renderer: structlog.typing.Processor
    escape: list[structlog.typing.Processor] = []
    if fmt == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
        escape = [escape_controls]
    else:
        renderer = structlog.processors.JSONRenderer(sort_keys=True)
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            *escape,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=numeric, stream=out, format="%(name)s: %(message)s", force=True)
