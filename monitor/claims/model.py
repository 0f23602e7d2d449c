"""A claim: one statement of position or outcome in a post (see `spec/claims.md`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ClaimKind = Literal["demand", "proposal", "rejection", "agreement", "fulfilment"]
KINDS: tuple[ClaimKind, ...] = ("demand", "proposal", "rejection", "agreement", "fulfilment")


@dataclass(frozen=True, kw_only=True, slots=True)
class Claim:
    """Who holds what position on what topic, with the sentence it came from.

    `span` is (start, end) in `Post.text()`; `quote == text[start:end]`. `rule` names the rule that
    fired. `attrs` holds topic attributes (count, duration, categories, due, place...).
    """

    post_id: str
    kind: ClaimKind
    actor: str
    topic: str
    parties: tuple[str, ...] = ()
    attrs: dict[str, Any] = field(default_factory=dict)
    quote: str = ""
    span: tuple[int, int] = (0, 0)
    rule: str = ""

    def to_json(self) -> dict[str, Any]:
        """The claim as `parley extract` writes it, one JSON object a line (spec key order)."""
        return {
            "post_id": self.post_id,
            "kind": self.kind,
            "actor": self.actor,
            "parties": list(self.parties),
            "topic": self.topic,
            "attrs": self.attrs,
            "quote": self.quote,
            "span": list(self.span),
            "rule": self.rule,
        }
