"""Firmness: a stance ("must", "wants", "not allowing") or an agenda list adds to rows but opens none;
readiness for what an actor demands itself is that demand, not an offer; two posts make a position."""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

from monitor.claims.model import Claim
from monitor.posts import Post
from monitor.views import NegotiationProjection
from monitor.views.firmness import ACT, READY, STANCE, cue_of, firmness
from tests.views._script import fold, post, script_extract
from tests.views._seed import claim, published, recorded, withdrawn


def ruled_extract(post_: Post) -> list[Claim]:
    """The script extractor, with `rule=NAME` on a line setting the claim's `rule`."""
    out = []
    for c in script_extract(post_):
        attrs = dict(c.attrs)
        rule = str(attrs.pop("rule", "script"))
        out.append(replace(c, attrs=attrs, rule=rule))
    return out


def _proj() -> NegotiationProjection:
    return NegotiationProjection(ruled_extract)


def _fold(*events: Any) -> dict[str, dict[str, dict[str, Any]]]:
    _, rows = fold(_proj(), recorded(list(events)))
    return rows


def _keys(rows: dict[str, dict[str, Any]], view: str) -> list[str]:
    return sorted(rows.get(view, {}))


# --- the classification -----------------------------------------------------------------------


def _c(kind: str, topic: str, rule: str, span: tuple[int, int] = (50, 90)) -> Claim:
    c = claim("p", kind, "UKR", topic, "x" * 40)
    return replace(c, rule=rule, span=span)


def test_cues_are_classified_as_act_readiness_or_stance():
    claims = [
        _c("demand", "ceasefire", "call-for", (10, 20)),
        _c("demand", "sanctions", "modal-must", (30, 40)),
        _c("demand", "talks", "want", (50, 60)),
        _c("proposal", "ceasefire", "ready-to", (70, 80)),
        _c("rejection", "mediation", "not-allow", (90, 99)),
        _c("rejection", "ceasefire", "need-refused", (100, 120)),
        _c("agreement", "bodies_return", "hand-over-future/actor-inferred", (130, 150)),
    ]
    assert firmness(claims, title_end=0) == [ACT, STANCE, STANCE, READY, STANCE, STANCE, ACT]


def test_a_stance_in_the_title_is_firm_enough_to_show():
    """The headline is the desk's own summary of a position; an act there stays an act."""
    claims = [
        _c("demand", "ceasefire", "want", (0, 30)),
        _c("demand", "talks", "want", (40, 60)),
        _c("demand", "sanctions", "call-for", (0, 30)),
    ]
    assert firmness(claims, title_end=35) == [READY, STANCE, ACT]


def test_one_cue_over_three_topics_is_an_agenda_but_two_topics_are_two_positions():
    three = [_c("demand", t, "call-for", (10, 90)) for t in ("ceasefire", "aid", "talks")]
    two = [_c("demand", t, "call-for", (100, 190)) for t in ("ceasefire", "troop_withdrawal")]
    assert firmness([*three, *two], title_end=0) == [STANCE] * 3 + [ACT] * 2


def test_derived_rule_names_point_at_their_cue():
    assert cue_of("need-refused") == "need"
    assert cue_of("release-future/actor-inferred") == "release"
    assert cue_of("modal-must") == "modal-must"


# --- the views --------------------------------------------------------------------------------


def test_a_stance_alone_opens_no_row():
    """ "Nato must do everything it can": said once, as a stance, it is no demand row."""
    rows = _fold(published(post("p1", "demand POL sanctions rule=modal-must")))
    assert _keys(rows, "open_demands") == []


def test_a_stance_adds_to_a_row_a_firm_claim_opened():
    rows = _fold(
        published(post("p1", "demand UKR sanctions rule=call-for")),
        published(post("p2", "demand UKR sanctions rule=modal-must", minutes=5)),
    )
    [row] = rows["open_demands"].values()
    assert row["times_pressed"] == 2
    assert row["latest_quote"] == "demand UKR sanctions rule=modal-must"


def test_a_stance_restated_in_another_sentence_is_a_position():
    rows = _fold(
        published(post("p1", "demand RUS sanctions rule=want")),
        published(post("p2", "demand RUS sanctions rule=want direction=lift", minutes=5)),
    )
    assert _keys(rows, "open_demands") == ["RUS|sanctions|*"]


def test_one_sentence_carried_by_several_sources_is_one_statement():
    """The same page followed in two formats, or a syndicated story, restates nothing."""
    line = "demand POL prisoner_exchange rule=modal-must"
    rows = _fold(
        published(post("p1", line), source="feed"),
        published(post("p1", line), source="html"),
        published(post("p9", "demand  POL prisoner_exchange  rule=modal-must"), source="wire"),
    )
    assert _keys(rows, "open_demands") == []


def test_rows_do_not_depend_on_whether_the_stance_or_the_firm_claim_came_first():
    posts = [
        post("p1", "demand UKR talks rule=modal-must"),
        post("p2", "demand UKR talks rule=demand-verb", minutes=5),
        post("p3", "demand UKR aid rule=want", minutes=9),
    ]
    results = []
    for order in itertools.permutations(posts):
        rows = _fold(*(published(p) for p in order))
        results.append(
            {k: (r["times_pressed"], r["status"]) for k, r in rows["open_demands"].items()}
        )
    assert all(r == {"UKR|talks|*": (2, "open")} for r in results), results


def test_withdrawing_the_firm_post_hides_the_row_again():
    firm = post("p2", "demand UKR talks rule=demand-verb", minutes=5)
    rows = _fold(
        published(post("p1", "demand UKR talks rule=modal-must")),
        published(firm),
        withdrawn(firm),
    )
    assert _keys(rows, "open_demands") == []


def test_a_stance_rejection_does_not_mark_a_demand_rejected():
    """ "criticised Russia for not allowing the US to take part": the demand stays open."""
    rows = _fold(
        published(
            post(
                "p1", "demand UKR mediation rule=need-for", "rejection RUS mediation rule=not-allow"
            )
        )
    )
    [row] = rows["open_demands"].values()
    assert (row["status"], row["rejected_by"]) == ("open", [])
    firm = _fold(
        published(post("p1", "demand UKR mediation rule=need-for")),
        published(post("p2", "rejection RUS mediation rule=reject", minutes=3)),
    )
    [row] = firm["open_demands"].values()
    assert (row["status"], row["rejected_by"]) == ("rejected", ["RUS"])


def test_an_agenda_list_adds_to_rows_but_opens_none():
    line = "demand UKR {} rule=call-for"
    agenda = post("p2", minutes=5)
    agenda = replace(agenda, paragraphs=("calling for: ceasefire, aid, a summit",))
    claims = [
        replace(c, span=(0, 37), quote="calling for: ceasefire, aid, a summit")
        for c in ruled_extract(
            post(
                "p2",
                *(line.format(t) for t in ("ceasefire", "humanitarian_aid", "leaders_meeting")),
            )
        )
    ]

    def extract(p: Post) -> list[Claim]:
        return claims if p.post_id == "p2" else ruled_extract(p)

    events = recorded([published(post("p1", line.format("ceasefire"))), published(agenda)])
    _, rows = fold(NegotiationProjection(extract), events)
    assert _keys(rows, "open_demands") == ["UKR|ceasefire|*"]
    assert rows["open_demands"]["UKR|ceasefire|*"]["times_pressed"] == 2


def test_readiness_is_an_offer_unless_the_actor_demands_it_itself():
    """ "Ukraine is ready for a full ceasefire", from the side demanding one, is no offer."""
    offer = _fold(published(post("p1", "proposal HAMAS prisoner_exchange rule=ready-to")))
    assert _keys(offer, "proposals") == ["HAMAS|prisoner_exchange"]
    demand = post("p1", "demand UKR ceasefire rule=demand-verb")
    ready = post("p2", "proposal UKR ceasefire rule=ready-to", minutes=5)
    for order in ((demand, ready), (ready, demand)):
        rows = _fold(*(published(p) for p in order))
        assert _keys(rows, "proposals") == [], order
        assert _keys(rows, "open_demands") == ["UKR|ceasefire|*"]
    rows = _fold(published(demand), published(ready), withdrawn(demand))
    assert _keys(rows, "proposals") == ["UKR|ceasefire"]  # the demand gone, the offer stands
    assert _keys(rows, "open_demands") == []


def test_a_headline_wish_is_a_demand_but_does_not_swallow_an_offer():
    """ "Houthis say they want more swaps" (title) shows a demand; "ready for an all-for-all
    exchange" in the body is still their offer: a stance is no demand made as an act."""
    p = post("p1", "proposal HOUTHIS prisoner_exchange rule=ready-to")
    p = replace(p, title="demand HOUTHIS prisoner_exchange rule=want")
    rows = _fold(published(p))
    assert _keys(rows, "open_demands") == ["HOUTHIS|prisoner_exchange|*"]
    assert _keys(rows, "proposals") == ["HOUTHIS|prisoner_exchange"]
