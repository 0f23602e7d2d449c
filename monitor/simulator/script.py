"""Scripted edits and withdrawals for the simulator, read from a small JSON file.

    {"steps": [
      {"at": "+45m", "revise": "post-20", "paragraph": 1, "text": "New wording of paragraph 2."},
      {"at": "2025-06-02T15:30:00+01:00", "revise": "post-19", "title": "A corrected title"},
      {"at": "+2h", "withdraw": "post-18"}
    ]}

`at` is a time on the page's own timeline: ISO 8601 with an offset, or `+` and a duration after
the first post (`+90s`, `+45m`, `+1h30m`). `revise` replaces paragraph number `paragraph`
(0-based; the number one past the last appends a paragraph) with `text`, and/or the `title`; the
post's `modified` time becomes `at`. `withdraw` removes the post from every format. A step about a
post not yet published at `at` does nothing. The bare list of steps is accepted too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.errors import InputError
from monitor.posts import Post

_DURATION = re.compile(r"^\+(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


@dataclass(frozen=True, kw_only=True, slots=True)
class Step:
    """One scripted change at page time `at`: `action` is "revise" or "withdraw"."""

    at: datetime
    action: str
    post: str
    paragraph: int | None = None
    text: str | None = None
    title: str | None = None

    def apply(self, shown: dict[str, Post]) -> dict[str, Post]:
        """The shown posts after this step (a new dict; `shown` is not changed)."""
        result = dict(shown)
        current = result.get(self.post)
        if current is None:
            return result
        if self.action == "withdraw":
            del result[self.post]
            return result
        paragraphs = list(current.paragraphs)
        if self.paragraph is not None and self.text is not None:
            if self.paragraph < len(paragraphs):
                paragraphs[self.paragraph] = self.text
            else:
                paragraphs.append(self.text)
        result[self.post] = replace(
            current,
            paragraphs=tuple(paragraphs),
            title=self.title if self.title is not None else current.title,
            modified=self.at,
        )
        return result


def _when(value: object, first: datetime, where: str) -> datetime:
    if isinstance(value, str):
        match = _DURATION.match(value.strip())
        if match and any(match.groups()):
            hours, minutes, seconds = (int(g or 0) for g in match.groups())
            return first + timedelta(hours=hours, minutes=minutes, seconds=seconds)
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if when.tzinfo is not None:
                return when
    raise InputError(
        f"{where}: 'at' must be '+1h30m' or an ISO 8601 time with offset, not {value!r}"
    )


def parse_script(data: Any, *, first: datetime, where: str = "script") -> tuple[Step, ...]:
    """Steps from the decoded JSON. Raises InputError naming `where` and the step number."""
    steps = data.get("steps") if isinstance(data, dict) else data
    if not isinstance(steps, list):
        raise InputError(f"{where}: expected {{'steps': [...]}} or a list of steps")
    result = []
    for number, raw in enumerate(steps, start=1):
        here = f"{where}: step {number}"
        if not isinstance(raw, dict):
            raise InputError(f"{here}: a step is an object")
        at = _when(raw.get("at"), first, here)
        if isinstance(raw.get("withdraw"), str):
            result.append(Step(at=at, action="withdraw", post=raw["withdraw"]))
            continue
        if not isinstance(raw.get("revise"), str):
            raise InputError(f"{here}: needs 'revise': POST_ID or 'withdraw': POST_ID")
        paragraph, text, title = raw.get("paragraph"), raw.get("text"), raw.get("title")
        if (paragraph is None) != (text is None) or (text is None and title is None):
            raise InputError(f"{here}: 'revise' needs 'paragraph' with 'text', and/or 'title'")
        if paragraph is not None and (not isinstance(paragraph, int) or paragraph < 0):
            raise InputError(f"{here}: 'paragraph' is a 0-based paragraph number")
        result.append(
            Step(
                at=at,
                action="revise",
                post=raw["revise"],
                paragraph=paragraph,
                text=None if text is None else str(text),
                title=None if title is None else str(title),
            )
        )
    return tuple(result)


def load_script(path: str | Path, *, first: datetime) -> tuple[Step, ...]:
    """Read a script file. Raises InputError naming the file (and step) on any problem."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{path}: cannot read the script: {exc.strerror or exc}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not JSON: {exc}") from exc
    return parse_script(data, first=first, where=str(path))
