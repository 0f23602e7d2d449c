"""Reading the rules pack's YAML with line numbers, and the checks that name the file and line.

`read_yaml(path, label)` returns plain Python values where every mapping is a `LineMap` and every
list a `LineList`, so a checker can say "actors.yaml line 12: ..." about any value it rejects.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from monitor.errors import ConfigError

_CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,19}$")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class LineMap(dict[str, Any]):
    """A mapping that remembers its own line and the line of each key (1-based)."""

    line: int
    key_lines: dict[str, int]


class LineList(list[Any]):
    """A list that remembers its own line and the line of each item (1-based)."""

    line: int
    item_lines: list[int]


def _scalar(node: yaml.ScalarNode) -> Any:
    tag, value = node.tag, node.value
    if tag.endswith(":int"):
        return int(value.replace("_", ""), 0) if value[:2] in ("0x", "0o") else int(value)
    if tag.endswith(":float"):
        return float(value)
    if tag.endswith(":bool"):
        return value.lower() in ("true", "yes", "on")
    if tag.endswith(":null"):
        return None
    return value


def _convert(node: yaml.Node, label: str) -> Any:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = LineMap()
        out.line, out.key_lines = line, {}
        for key_node, value_node in node.value:
            key = _convert(key_node, label)
            if not isinstance(key, str | int):
                raise ConfigError(f"{label} line {key_node.start_mark.line + 1}: keys must be text")
            key = str(key)
            if key in out:
                raise ConfigError(
                    f"{label} line {key_node.start_mark.line + 1}: {key!r} appears twice"
                )
            out[key] = _convert(value_node, label)
            out.key_lines[key] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        seq = LineList(_convert(item, label) for item in node.value)
        seq.line = line
        seq.item_lines = [item.start_mark.line + 1 for item in node.value]
        return seq
    assert isinstance(node, yaml.ScalarNode)
    return _scalar(node)


def read_yaml(path: Path, label: str) -> Any:
    """Parse one YAML file into LineMap/LineList values; raise ConfigError naming file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{label}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{label}: cannot read: {exc}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{label}{where}: not valid YAML: {problem}") from None
    if node is None:
        return LineMap()
    return _convert(node, label)


def fail(label: str, line: int, message: str) -> ConfigError:
    """The error to raise for a mistake at `line` of the file `label`."""
    return ConfigError(f"{label} line {line}: {message}")


def want_map(value: Any, label: str, line: int, what: str) -> LineMap:
    """`value` as a mapping, or ConfigError."""
    if not isinstance(value, LineMap):
        raise fail(label, line, f"{what} must be a mapping")
    return value


def want_strings(value: Any, label: str, line: int, what: str, *, strip: bool = True) -> list[str]:
    """`value` as a list of non-empty strings (a single string is a list of one), or ConfigError.
    `strip=False` keeps the spaces around each (clause breaks: " but " is no break in "tribute")."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise fail(label, line, f"{what} must be a list of text")
    lines = getattr(value, "item_lines", [line] * len(value))
    out = []
    for item, item_line in zip(value, lines, strict=True):
        if not isinstance(item, str | int) or isinstance(item, bool) or not str(item).strip():
            raise fail(label, item_line, f"{what} must hold non-empty text, not {item!r}")
        out.append(str(item).strip() if strip else str(item))
    return out


def check_code(code: str, label: str, line: int) -> None:
    """Actor codes are upper-case: ISO alpha-3 for states, short names for the rest."""
    if not _CODE.match(code):
        raise fail(
            label,
            line,
            f"actor code {code!r} must be upper-case letters, digits or _ (e.g. UKR, NATO)",
        )


def check_name(name: str, label: str, line: int, what: str) -> None:
    """Topic and kind names are lower-case words joined by _."""
    if not _NAME.match(name):
        raise fail(label, line, f"{what} {name!r} must be lower-case letters, digits or _")


def check_regex(source: str, label: str, line: int) -> None:
    """A cue must be a valid regular expression."""
    try:
        re.compile(source)
    except re.error as exc:
        raise fail(label, line, f"not a valid pattern {source!r}: {exc}") from None


def check_keys(entry: LineMap, allowed: set[str], label: str, what: str) -> None:
    """Unknown keys are mistakes (a typo would otherwise be silently ignored)."""
    for key in entry:
        if key not in allowed:
            raise fail(
                label,
                entry.key_lines[key],
                f"unknown key {key!r} in {what} (known: {', '.join(sorted(allowed))})",
            )
