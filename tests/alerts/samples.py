"""Sample alerts for the alerts tests, including one full of hostile post text."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from alerts.model import Alert

HOSTILE_QUOTE = (
    "<!channel> <!here> @channel Russia & Ukraine agreed <https://evil.example|click here> "
    "<script>alert('x')</script> <b>bold</b> &amp; done >quote"
)


def alert(**overrides: Any) -> Alert:
    """A plain alert about an agreed prisoner exchange; keyword arguments replace fields."""
    base = Alert(
        key="agreed_exchanges:prisoner_exchange|RUS+UKR:new:1",
        view="agreed_exchanges",
        row_key="prisoner_exchange|RUS+UKR",
        change="new",
        title="Prisoner exchange: RUS, UKR",
        summary="New agreed exchange: all seriously wounded and young soldiers",
        status="agreed",
        parties=("RUS", "UKR"),
        quantities=(("count", "1000"), ("categories", "wounded, under 25")),
        deadline="next week",
        quote="Russia and Ukraine agreed to exchange all seriously wounded prisoners of war.",
        post_url="https://www.bbc.co.uk/news/live/example?post=asset:1#post",
        occurred_at=datetime(2025, 6, 2, 14, 5, tzinfo=UTC),
    )
    return replace(base, **overrides)


def hostile_alert(**overrides: Any) -> Alert:
    """An alert in which every text field carries mentions, links and markup from a post."""
    fields: dict[str, Any] = {
        "title": "<!channel> Deal & <https://evil.example|free money>",
        "summary": "<!everyone> <@U123> <script>x</script> & more",
        "parties": ("<!here>", "UKR & RUS"),
        "quantities": (("count", "<b>1000</b>"),),
        "deadline": "<https://evil.example|tomorrow>",
        "quote": HOSTILE_QUOTE,
        "post_url": "javascript:alert(1)",
    }
    return alert(**{**fields, **overrides})
