"""Alert rules over view changes: classification, filters, defaults and deterministic keys."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from alerts.model import Alert
from alerts.rules import DEFAULT_RULES, Rule, alerts_for, classify
from store.records import RowChange

CHANNELS = ("slack", "mail")


def exchange(**over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "key": "prisoner_exchange|RUS+UKR|2025-06-02T12:00:00+00:00|bbc|post-07",
        "topic": "prisoner_exchange",
        "actor": "RUS",
        "parties": ["RUS", "UKR"],
        "status": "agreed",
        "count": 1000,
        "categories": ["wounded"],
        "due": "next week",
        "fulfilled": {"mentions": 0, "count": 0, "last_quote": None},
        "times_reported": 1,
        "first_seen": "2025-06-02T12:00:00+00:00",
        "last_seen": "2025-06-02T12:00:00+00:00",
        "latest_quote": "Both sides agreed to swap 1,000 prisoners next week.",
        "attrs": {"count": 1000, "due": "next week"},
        "provenance": {
            "mentions": 1,
            "recent": [{"position": 7, "source": "bbc", "post_id": "post-07"}],
        },
    }
    row.update(over)
    return row


def demand(**over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "key": "UKR|ceasefire|*",
        "actor": "UKR",
        "topic": "ceasefire",
        "counterpart": None,
        "status": "open",
        "rejected_by": [],
        "met_by": [],
        "times_pressed": 1,
        "latest_quote": "Ukraine demands a full and unconditional ceasefire.",
        "last_seen": "2025-06-02T11:00:00+00:00",
        "provenance": {"mentions": 1, "recent": []},
    }
    row.update(over)
    return row


def _change(view: str, row: dict[str, Any] | None, key: str | None = None) -> RowChange:
    return RowChange(view=view, key=key or (row or {})["key"], row=row)


def _before(*rows: tuple[str, dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(view, row["key"]): row for view, row in rows}


def _alerts(messages) -> list[Alert]:  # type: ignore[no-untyped-def]
    return [Alert.from_payload(m.payload["alert"]) for m in messages]


def test_new_exchange_alerts_every_channel_with_its_facts() -> None:
    """A new agreed exchange is one alert per channel, with parties, count, deadline, quote and link."""
    msgs = alerts_for(
        [_change("agreed_exchanges", exchange())],
        DEFAULT_RULES,
        channels=CHANNELS,
        link=lambda source, post_id: f"https://news.example/{source}/{post_id}",
    )
    assert [m.payload["channel"] for m in msgs] == ["slack", "mail"]
    a = _alerts(msgs)[0]
    assert a.change == "new"
    assert a.title == "Prisoner exchange: RUS & UKR"
    assert a.parties == ("RUS", "UKR")
    assert ("count", "1000") in a.quantities
    assert a.deadline == "next week"
    assert a.quote.startswith("Both sides agreed")
    assert a.post_url == "https://news.example/bbc/post-07"
    assert msgs[0].key == f"{a.key}@slack"


def test_repeated_mention_changing_only_counts_and_quotes_raises_nothing() -> None:
    """A row that moved only in unwatched fields (times reported, latest quote) is no alert."""
    old = exchange()
    new = exchange(
        times_reported=2,
        latest_quote="Again: the swap is agreed.",
        last_seen="2025-06-02T13:00:00+00:00",
    )
    assert (
        alerts_for(
            [_change("agreed_exchanges", new)],
            DEFAULT_RULES,
            channels=CHANNELS,
            before=_before(("agreed_exchanges", old)),
        )
        == []
    )


def test_changed_count_and_status_are_classified_and_summarised() -> None:
    """A new count is `changed`, a fulfilment is `status`, each saying what moved."""
    old = exchange()
    changed = _alerts(
        alerts_for(
            [_change("agreed_exchanges", exchange(count=1200))],
            DEFAULT_RULES,
            channels=("s",),
            before=_before(("agreed_exchanges", old)),
        )
    )
    assert [(a.change, a.summary) for a in changed] == [("changed", "count: 1000 → 1200")]
    done = exchange(
        status="carried_out",
        fulfilled={"mentions": 1, "count": 1000, "last_quote": "The swap took place."},
    )
    [status] = _alerts(
        alerts_for(
            [_change("agreed_exchanges", done)],
            DEFAULT_RULES,
            channels=("s",),
            before=_before(("agreed_exchanges", old)),
        )
    )
    assert status.change == "status"
    assert status.summary == "Agreed exchange agreed → carried_out"
    assert status.quote == "The swap took place."
    assert ("carried out", "1000") in status.quantities


def test_default_rules_alert_demand_status_changes_but_not_new_demands() -> None:
    """Defaults: a demand rejected is an alert naming who rejected it; a new demand is not."""
    assert alerts_for([_change("open_demands", demand())], DEFAULT_RULES, channels=CHANNELS) == []
    rejected = demand(status="rejected", rejected_by=["RUS"])
    [a] = _alerts(
        alerts_for(
            [_change("open_demands", rejected)],
            DEFAULT_RULES,
            channels=("s",),
            before=_before(("open_demands", demand())),
        )
    )
    assert a.change == "status"
    assert a.summary == "Demand open → rejected by RUS"
    assert a.title == "UKR demand: Ceasefire"


def test_rules_filter_on_views_changes_statuses_actors_topics_and_pick_channels() -> None:
    """Each filter narrows; a rule's channels replace 'every channel'; two rules never duplicate a channel."""
    rules = [
        Rule(
            name="carried",
            views=("agreed_exchanges",),
            changes=("status",),
            statuses=("carried_out",),
            channels=("mail",),
        ),
        Rule(name="usa", actors=("USA",), changes=("new",)),
        Rule(name="bodies", topics=("bodies_return",), changes=("new",), channels=("slack",)),
        Rule(
            name="all-new-exchanges",
            views=("agreed_exchanges",),
            changes=("new",),
            channels=("slack",),
        ),
    ]
    new = alerts_for([_change("agreed_exchanges", exchange())], rules, channels=CHANNELS)
    assert [m.payload["channel"] for m in new] == ["slack"]
    done = exchange(status="carried_out")
    carried = alerts_for(
        [_change("agreed_exchanges", done)],
        rules,
        channels=CHANNELS,
        before=_before(("agreed_exchanges", exchange())),
    )
    assert [m.payload["channel"] for m in carried] == ["mail"]
    partly = exchange(status="partly_carried_out")
    assert (
        alerts_for(
            [_change("agreed_exchanges", partly)],
            rules,
            channels=CHANNELS,
            before=_before(("agreed_exchanges", exchange())),
        )
        == []
    )
    usa = alerts_for(
        [
            _change(
                "proposals",
                {"key": "USA|talks", "actor": "USA", "topic": "talks", "status": "on_table"},
            )
        ],
        rules,
        channels=CHANNELS,
    )
    assert [m.payload["channel"] for m in usa] == ["slack", "mail"]


def test_removed_row_is_an_alert_only_when_a_rule_asks_for_it() -> None:
    """A row that disappears (its post withdrawn) alerts only under a rule with changes = ["removed"]."""
    change = _change("agreed_exchanges", None, key=exchange()["key"])
    before = _before(("agreed_exchanges", exchange()))
    assert alerts_for([change], DEFAULT_RULES, channels=CHANNELS, before=before) == []
    [a] = _alerts(
        alerts_for(
            [change], [Rule(name="gone", changes=("removed",))], channels=("s",), before=before
        )
    )
    assert a.change == "removed"
    assert a.title == "Prisoner exchange: RUS & UKR"


rows = st.fixed_dictionaries(
    {
        "key": st.just("k"),
        "status": st.sampled_from(["agreed", "carried_out", "partly_carried_out"]),
        "count": st.one_of(st.none(), st.integers(0, 5000)),
        "parties": st.lists(st.sampled_from(["RUS", "UKR", "TUR"]), max_size=3),
        "times_reported": st.integers(1, 50),
        "latest_quote": st.text(max_size=30),
    }
)


@given(before=st.one_of(st.none(), rows), after=st.one_of(st.none(), rows))
def test_alerts_are_deterministic_and_keyed_by_what_changed(before, after) -> None:  # type: ignore[no-untyped-def]
    """Same inputs give the same keys; keys differ exactly when watched fields or change kind differ."""
    change = RowChange(view="agreed_exchanges", key="k", row=after)
    prev = {("agreed_exchanges", "k"): before} if before is not None else {}
    rules = [Rule(name="all", changes=("new", "changed", "status", "removed"))]
    first = alerts_for([change], rules, channels=("c",), before=prev)
    again = alerts_for([change], rules, channels=("c",), before=prev)
    assert first == again
    kind = classify("agreed_exchanges", before, after)
    assert len(first) == (0 if kind is None else 1)
    if kind is not None:
        assert first[0].key.startswith(f"agreed_exchanges:k:{kind}:")
    if before is not None and after is not None:
        unwatched_only = {
            k: v for k, v in after.items() if k not in ("times_reported", "latest_quote")
        } == {k: v for k, v in before.items() if k not in ("times_reported", "latest_quote")}
        assert (kind is None) == unwatched_only
