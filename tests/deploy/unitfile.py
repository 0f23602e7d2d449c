"""A reader for systemd unit files that keeps what configparser loses: repeated keys, in order.

systemd allows a key several times (`SystemCallFilter=` twice adds both lists; an empty
assignment resets a list), so a unit is read as `(section, key, value)` triples.
"""

from __future__ import annotations

from pathlib import Path

Entry = tuple[str, str, str]


def read_unit(path: Path) -> list[Entry]:
    """Every assignment of the unit at `path`, in order; comments and blank lines dropped."""
    entries: list[Entry] = []
    section = ""
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        if "=" not in line:
            raise ValueError(f"{path}:{number}: not a section or an assignment: {raw!r}")
        key, _, value = line.partition("=")
        entries.append((section, key.strip(), value.strip()))
    return entries


def values(entries: list[Entry], section: str, key: str) -> list[str]:
    """Every value given to `key` in `section`, in order."""
    return [v for s, k, v in entries if s == section and k == key]


def single(entries: list[Entry], section: str, key: str) -> str:
    """The one value of `key` in `section`; AssertionError when it is missing or repeated."""
    found = values(entries, section, key)
    assert len(found) == 1, f"[{section}] {key}= given {len(found)} times: {found}"
    return found[0]
