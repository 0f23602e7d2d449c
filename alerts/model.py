"""What an alert says and what a channel answered: frozen records, JSON-ready for the outbox and the log."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from alerts.errors import AlertError

ChangeKind = Literal["new", "changed", "status", "removed", "test", "digest"]
CHANGE_KINDS: tuple[ChangeKind, ...] = ("new", "changed", "status", "removed", "test", "digest")
RULE_CHANGES: tuple[ChangeKind, ...] = ("new", "changed", "status", "removed")

CHANGE_LABELS: Mapping[str, str] = {
    "new": "New",
    "changed": "Changed",
    "status": "Status changed",
    "removed": "Removed",
    "test": "Test",
    "digest": "Digest",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Alert:
    """One view change worth telling someone about.

    `key` is deterministic (view, row, change, row version), so the same change always gives the
    same alert. `title` is the row's headline and stays the same for every alert about that row;
    `summary` says what changed. Every text field may hold post text: channels escape it.
    """

    key: str
    view: str
    row_key: str
    change: ChangeKind
    title: str
    summary: str = ""
    status: str = ""
    parties: tuple[str, ...] = ()
    quantities: tuple[tuple[str, str], ...] = ()
    deadline: str = ""
    quote: str = ""
    post_url: str = ""
    occurred_at: datetime

    @property
    def thread(self) -> str:
        """The row this alert is about, `view:row_key`: alerts with the same thread belong together."""
        return f"{self.view}:{self.row_key}"

    @property
    def headline(self) -> str:
        """`<change label>: <title>`, the first line every channel shows."""
        return f"{CHANGE_LABELS.get(self.change, self.change)}: {self.title}"

    def to_payload(self) -> dict[str, Any]:
        """The alert as a JSON-ready dict (for the outbox and the log)."""
        return {
            "key": self.key,
            "view": self.view,
            "row_key": self.row_key,
            "change": self.change,
            "title": self.title,
            "summary": self.summary,
            "status": self.status,
            "parties": list(self.parties),
            "quantities": [[k, v] for k, v in self.quantities],
            "deadline": self.deadline,
            "quote": self.quote,
            "post_url": self.post_url,
            "occurred_at": self.occurred_at.isoformat(),
        }

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> Alert:
        """Rebuild an alert from `to_payload()`; raises `AlertError` naming the bad field."""
        try:
            change = str(data["change"])
            if change not in CHANGE_KINDS:
                raise ValueError(f"unknown change {change!r}")
            return cls(
                key=str(data["key"]),
                view=str(data["view"]),
                row_key=str(data["row_key"]),
                change=change,  # narrowed by the CHANGE_KINDS check above
                title=str(data["title"]),
                summary=str(data.get("summary", "")),
                status=str(data.get("status", "")),
                parties=tuple(str(p) for p in data.get("parties", ())),
                quantities=tuple((str(k), str(v)) for k, v in data.get("quantities", ())),
                deadline=str(data.get("deadline", "")),
                quote=str(data.get("quote", "")),
                post_url=str(data.get("post_url", "")),
                occurred_at=datetime.fromisoformat(str(data["occurred_at"])),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise AlertError(
                f"alert payload {data.get('key', '?')!r} is malformed: {exc!r}"
            ) from None


@dataclass(frozen=True, kw_only=True, slots=True)
class Delivery:
    """A channel's receipt: which channel, its status code and answer, and when it answered."""

    channel: str
    status: str
    answer: str = ""
    at: datetime
