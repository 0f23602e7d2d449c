"""The fold rules of the negotiation projection, one by one, with a stand-in extractor."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.events import SourceAdded
from monitor.views import ViewError
from tests.views._script import T0, fold, post, projection
from tests.views._seed import published, recorded, revised, withdrawn


def _rows(view_rows: dict, view: str) -> list[dict]:
    return list(view_rows.get(view, {}).values())


def test_demand_makes_one_open_row_with_provenance():
    """A demand gives an open row keyed by actor, topic and counterpart, pointing at its post."""
    _, rows = fold(
        projection(), recorded([published(post("p1", "demand UKR ceasefire duration=P30D"))])
    )
    [row] = _rows(rows, "open_demands")
    assert row["key"] == "UKR|ceasefire|*"
    assert (row["actor"], row["topic"], row["counterpart"], row["status"]) == (
        "UKR",
        "ceasefire",
        None,
        "open",
    )
    assert row["times_pressed"] == 1
    assert row["attrs"] == {"duration": "P30D"}
    assert row["latest_quote"] == "demand UKR ceasefire duration=P30D"
    assert row["first_seen"] == row["last_seen"] == T0.isoformat()
    assert row["provenance"] == {
        "mentions": 1,
        "recent": [{"position": 1, "source": "bbc-istanbul", "post_id": "p1"}],
    }


def test_demand_naming_a_counterpart_gets_its_own_row():
    """A demand addressed to one other party is keyed by that counterpart."""
    _, rows = fold(
        projection(), recorded([published(post("p1", "demand UKR children_return parties=RUS"))])
    )
    [row] = _rows(rows, "open_demands")
    assert row["key"] == "UKR|children_return|RUS"
    assert row["counterpart"] == "RUS"


def test_demand_pressed_in_later_posts_counts_each_post_and_keeps_latest_quote():
    """Mentions in later posts raise times_pressed, move last_seen and take the latest quote."""
    events = recorded(
        [
            published(post("p1", "demand UKR ceasefire duration=P30D")),
            published(post("p2", "demand UKR ceasefire unconditional=yes", minutes=30)),
        ]
    )
    _, rows = fold(projection(), events)
    [row] = _rows(rows, "open_demands")
    assert row["times_pressed"] == 2
    assert row["first_seen"] == T0.isoformat()
    assert row["last_seen"] == (T0 + timedelta(minutes=30)).isoformat()
    assert row["latest_quote"] == "demand UKR ceasefire unconditional=yes"
    assert row["attrs"] == {"duration": "P30D", "unconditional": "yes"}
    assert [p["position"] for p in row["provenance"]["recent"]] == [1, 2]


def test_title_and_body_repeat_counts_once():
    """A claim repeated in a post's title and body is one mention, with the attributes of both."""
    p = post("p1", "demand UKR ceasefire duration=P30D", title="demand UKR ceasefire")
    _, rows = fold(projection(), recorded([published(p)]))
    [row] = _rows(rows, "open_demands")
    assert row["times_pressed"] == 1
    assert row["provenance"]["mentions"] == 1
    assert row["attrs"] == {"duration": "P30D"}


def test_revision_replaces_what_the_earlier_version_claimed():
    """A revised post takes back its earlier claims and counts its new ones."""
    v1 = post("p1", "demand UKR ceasefire")
    v2 = post("p1", "demand UKR sanctions")
    _, rows = fold(projection(), recorded([published(v1), revised(v2, v1)]))
    assert [r["key"] for r in _rows(rows, "open_demands")] == ["UKR|sanctions|*"]


def test_revision_rereading_the_same_claim_does_not_double_count():
    """A revision that still makes the same claim leaves the count at one and points at the revision."""
    v1 = post("p1", "demand UKR ceasefire")
    v2 = post("p1", "demand UKR ceasefire", "some new sentence")
    _, rows = fold(projection(), recorded([published(v1), revised(v2, v1)]))
    [row] = _rows(rows, "open_demands")
    assert row["times_pressed"] == 1
    assert row["provenance"]["recent"] == [
        {"position": 2, "source": "bbc-istanbul", "post_id": "p1"}
    ]


def test_withdrawal_removes_the_posts_claims():
    """A withdrawn post's claims leave every view; other posts' mentions stay."""
    p1 = post("p1", "demand UKR ceasefire", "proposal RUS peace_terms")
    p2 = post("p2", "demand UKR ceasefire", minutes=5)
    _, rows = fold(projection(), recorded([published(p1), published(p2), withdrawn(p1)]))
    [row] = _rows(rows, "open_demands")
    assert row["times_pressed"] == 1
    assert row["first_seen"] == (T0 + timedelta(minutes=5)).isoformat()
    assert "proposals" not in rows


def test_withdrawn_post_published_again_counts_again():
    """A post that comes back after a withdrawal counts once more."""
    p1 = post("p1", "demand UKR ceasefire")
    _, rows = fold(projection(), recorded([published(p1), withdrawn(p1), revised(p1, p1)]))
    assert _rows(rows, "open_demands")[0]["times_pressed"] == 1


def test_demand_without_a_concrete_topic_makes_no_row():
    """Unspecified demands ("*") are not rows an analyst could act on."""
    _, rows = fold(
        projection(), recorded([published(post("p1", "demand RUS *", "demand RUS unknown"))])
    )
    assert rows == {}


def test_rejection_by_another_actor_marks_the_demand_rejected():
    """A rejection of the topic by someone else sets status rejected and names them."""
    events = recorded(
        [
            published(post("p1", "demand UKR ceasefire")),
            published(post("p2", "rejection RUS ceasefire", "rejection UKR ceasefire", minutes=1)),
        ]
    )
    _, rows = fold(projection(), events)
    [row] = _rows(rows, "open_demands")
    assert (row["status"], row["rejected_by"]) == ("rejected", ["RUS"])


def test_rejection_before_the_demand_still_counts():
    """The view is the current state: an earlier rejection of the topic applies to a later demand."""
    events = recorded(
        [
            published(post("p1", "rejection RUS ceasefire")),
            published(post("p2", "demand UKR ceasefire", minutes=1)),
        ]
    )
    _, rows = fold(projection(), events)
    assert _rows(rows, "open_demands")[0]["rejected_by"] == ["RUS"]


def test_agreement_by_another_party_marks_the_demand_met():
    """An agreement on the topic by another party (or any party to it) meets the demand."""
    events = recorded(
        [
            published(
                post(
                    "p1", "demand UKR children_return parties=RUS", "rejection RUS children_return"
                )
            ),
            published(post("p2", "agreement QAT children_return parties=RUS,UKR", minutes=1)),
        ]
    )
    _, rows = fold(projection(), events)
    [row] = _rows(rows, "open_demands")
    assert (row["status"], row["met_by"], row["rejected_by"]) == ("met", ["RUS"], ["RUS"])


def test_withdrawing_the_rejection_reopens_the_demand():
    """Responses are taken back with their post like any other claim."""
    rejection = post("p2", "rejection RUS ceasefire", minutes=1)
    events = recorded(
        [published(post("p1", "demand UKR ceasefire")), published(rejection), withdrawn(rejection)]
    )
    _, rows = fold(projection(), events)
    assert _rows(rows, "open_demands")[0]["status"] == "open"


def test_agreements_in_several_posts_merge_into_one_exchange():
    """Agreements on the same exchange between the same parties are one row, attributes merged."""
    events = recorded(
        [
            published(
                post("p1", "agreement RUS bodies_return parties=UKR count=6000 due=next_week")
            ),
            published(post("p2", "agreement RUS bodies_return", minutes=10)),
            published(post("p3", "agreement UKR bodies_return parties=RUS", minutes=20)),
        ]
    )
    _, rows = fold(projection(), events)
    [row] = _rows(rows, "agreed_exchanges")
    assert row["parties"] == ["RUS", "UKR"]
    assert (row["count"], row["due"], row["status"], row["times_reported"]) == (
        6000,
        "next_week",
        "agreed",
        3,
    )
    assert row["actor"] == "RUS"


def test_agreements_far_apart_in_time_are_separate_exchanges():
    """An agreement seen outside the window of the last one starts a new row."""
    events = recorded(
        [
            published(post("p1", "agreement RUS prisoner_exchange parties=UKR count=1000")),
            published(
                post(
                    "p2",
                    "agreement RUS prisoner_exchange parties=UKR count=500",
                    minutes=60 * 24 * 30,
                )
            ),
        ]
    )
    _, rows = fold(projection(), events)
    assert sorted(r["count"] for r in _rows(rows, "agreed_exchanges")) == [500, 1000]


def test_agreements_between_different_parties_are_separate_exchanges():
    """Neither party set containing the other means two exchanges."""
    events = recorded(
        [
            published(post("p1", "agreement RUS prisoner_exchange parties=UKR")),
            published(
                post(
                    "p2",
                    "agreement ISR hostages parties=HAMAS",
                    "agreement RUS prisoner_exchange parties=BLR",
                    minutes=1,
                )
            ),
        ]
    )
    _, rows = fold(projection(), events)
    assert sorted((r["topic"], tuple(r["parties"])) for r in _rows(rows, "agreed_exchanges")) == [
        ("hostages", ("HAMAS", "ISR")),
        ("prisoner_exchange", ("BLR", "RUS")),
        ("prisoner_exchange", ("RUS", "UKR")),
    ]


def test_fulfilment_moves_the_exchange_to_carried_out():
    """A fulfilment with no count, or with the full count, carries the exchange out."""
    events = recorded(
        [
            published(post("p1", "agreement RUS bodies_return parties=UKR count=6000")),
            published(
                post("p2", "fulfilment RUS bodies_return parties=UKR count=6000", minutes=60)
            ),
        ]
    )
    _, rows = fold(projection(), events)
    [row] = _rows(rows, "agreed_exchanges")
    assert row["status"] == "carried_out"
    assert row["fulfilled"]["count"] == 6000
    assert [p["post_id"] for p in row["provenance"]["recent"]] == ["p1", "p2"]


def test_fulfilment_of_fewer_than_agreed_is_partly_carried_out():
    """Counts below the agreed count give partly_carried_out, and enough of them carried_out."""
    agreed = published(post("p1", "agreement RUS prisoner_exchange parties=UKR count=1000"))
    first = published(
        post("p2", "fulfilment UKR prisoner_exchange parties=RUS count=390", minutes=60)
    )
    second = published(
        post("p3", "fulfilment UKR prisoner_exchange parties=RUS count=610", minutes=120)
    )
    _, rows = fold(projection(), recorded([agreed, first]))
    assert _rows(rows, "agreed_exchanges")[0]["status"] == "partly_carried_out"
    _, rows = fold(projection(), recorded([agreed, first, second]))
    assert _rows(rows, "agreed_exchanges")[0]["status"] == "carried_out"


def test_agreement_after_an_exchange_was_carried_out_starts_a_new_one():
    """Once carried out, an exchange takes no more agreements: a further one is a new row."""
    events = recorded(
        [
            published(post("p1", "agreement RUS prisoner_exchange parties=UKR")),
            published(post("p2", "fulfilment RUS prisoner_exchange parties=UKR", minutes=60)),
            published(post("p3", "agreement RUS prisoner_exchange parties=UKR", minutes=120)),
        ]
    )
    _, rows = fold(projection(), events)
    assert sorted(r["status"] for r in _rows(rows, "agreed_exchanges")) == ["agreed", "carried_out"]


def test_fulfilment_without_an_agreement_makes_no_exchange_row():
    """The view lists agreed exchanges: a release nobody agreed to in view adds no row."""
    _, rows = fold(
        projection(), recorded([published(post("p1", "fulfilment HAMAS hostages parties=ISR"))])
    )
    assert "agreed_exchanges" not in rows


def test_withdrawing_the_fulfilment_puts_the_exchange_back_to_agreed():
    """Taking back a fulfilment takes back the status it gave."""
    done = post("p2", "fulfilment RUS bodies_return parties=UKR", minutes=60)
    events = recorded(
        [
            published(post("p1", "agreement RUS bodies_return parties=UKR")),
            published(done),
            withdrawn(done),
        ]
    )
    _, rows = fold(projection(), events)
    assert _rows(rows, "agreed_exchanges")[0]["status"] == "agreed"


def test_proposal_lists_the_responses_of_other_actors():
    """A proposal row shows who rejected or agreed to its topic, and its status follows."""
    events = recorded(
        [
            published(post("p1", "proposal RUS ceasefire duration=P3D", "rejection RUS ceasefire")),
            published(post("p2", "rejection UKR ceasefire", minutes=5)),
        ]
    )
    _, rows = fold(projection(), events)
    [row] = _rows(rows, "proposals")
    assert row["status"] == "rejected"
    assert row["responses"] == [
        {
            "actor": "UKR",
            "kind": "rejection",
            "since": (T0 + timedelta(minutes=5)).isoformat(),
            "quote": "rejection UKR ceasefire",
        }
    ]
    assert row["attrs"] == {"duration": "P3D"}


def test_events_that_are_not_posts_change_nothing():
    """Source events (and any other type) pass through the fold without changes."""
    proj = projection()
    [event] = recorded([SourceAdded(source="s", kind="feed", url="http://127.0.0.1/", settings={})])
    state, changes = proj.apply(proj.initial_state(), event)
    assert changes == []
    assert proj.dump_state(state) == proj.dump_state(proj.initial_state())


def test_revision_after_the_post_left_the_window_is_ignored():
    """Past the revision window a post's mentions are settled: a revision neither adds nor takes back."""
    v1 = post("p1", "demand UKR ceasefire")
    events = recorded(
        [
            published(v1),
            published(post("p2", "demand UKR sanctions", minutes=1)),
            published(post("p3", "demand UKR sanctions", minutes=2)),
            revised(post("p1", "demand UKR talks"), v1),
            withdrawn(v1),
        ]
    )
    state, rows = fold(projection(revision_window=2), events)
    assert sorted(r["key"] for r in _rows(rows, "open_demands")) == [
        "UKR|ceasefire|*",
        "UKR|sanctions|*",
    ]
    assert len(state.posts) == 2


def test_state_saved_by_another_version_is_refused():
    """Loading a state of an unknown format raises ViewError asking for a rebuild."""
    with pytest.raises(ViewError, match="rebuild"):
        projection().load_state({"format": 99})


def test_state_saved_under_other_windows_is_refused():
    """Views built with other windows are not silently continued with these: rebuild."""
    saved = projection(revision_window=10).dump_state(
        projection(revision_window=10).initial_state()
    )
    with pytest.raises(ViewError, match="rebuild"):
        projection(revision_window=20).load_state(saved)


def test_exchange_that_can_no_longer_change_leaves_the_state_but_stays_in_the_view():
    """An old exchange whose posts left the window is dropped from the state, with no row change."""
    from monitor.views.projection import _SWEEP_EVERY

    proj = projection(revision_window=5, fulfil_window_days=1)
    events = [published(post("p0", "agreement RUS prisoner_exchange parties=UKR"))]
    events += [
        published(post(f"q{i}", "demand UKR ceasefire", minutes=3 * 24 * 60 + i))
        for i in range(1, _SWEEP_EVERY)
    ]
    state, rows = fold(proj, recorded(events))
    [key] = rows["agreed_exchanges"]
    assert key not in state.table("agreed_exchanges")
    assert ("agreed_exchanges", key) not in state.emitted
    # a new agreement now starts a new exchange instead of joining the old one
    later = recorded(
        [published(post("p9", "agreement RUS prisoner_exchange parties=UKR", minutes=4 * 24 * 60))],
        start=len(events) + 1,
    )
    state, changes = proj.apply(state, later[0])
    assert [c.key for c in changes if c.view == "agreed_exchanges"] != [key]
    assert all(c.row is not None for c in changes)


def test_a_claim_of_no_listed_topic_makes_no_row_and_the_rest_of_the_post_counts():
    """`other` claims (an object naming none of the topics) have nothing to merge mentions by: no
    row in any view, while the post's other claims make theirs."""
    _, rows = fold(
        projection(),
        recorded(
            [
                published(
                    post("p1", "demand UKR other", "rejection RUS other", "demand UKR ceasefire")
                ),
                published(post("p2", "proposal TUR other", minutes=5)),
            ]
        ),
    )
    assert [r["key"] for r in _rows(rows, "open_demands")] == ["UKR|ceasefire|*"]
    assert _rows(rows, "proposals") == []
    assert _rows(rows, "agreed_exchanges") == []
