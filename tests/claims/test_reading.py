"""The reading rules: reported speech, negation, hypotheticals, several claims in a sentence,
pronouns and "the two sides", title repeats, refusals. One behaviour per test, real pack."""

from __future__ import annotations

from monitor.claims import RulesPack
from tests.claims.conftest import read, triples


def test_reported_speech_gives_the_position_to_its_holder(pack: RulesPack) -> None:
    """ "Ukrainian negotiators said Russia rejected a ceasefire" is a rejection by RUS."""
    claims = read(pack, "The Ukrainian negotiators said Russia again rejected a ceasefire.")
    assert triples(claims) == {("rejection", "RUS", "ceasefire")}


def test_reporter_after_the_quote_is_not_the_holder(pack: RulesPack) -> None:
    """ "X has agreed ..., Medinsky says" is X's agreement."""
    claims = read(pack, "Hamas has agreed to release 33 hostages, an Egyptian official says.")
    assert triples(claims) == {("agreement", "HAMAS", "prisoner_exchange")}


def test_negated_agreement_is_no_agreement(pack: RulesPack) -> None:
    """ "did not agree", "no deal on" give no agreement."""
    assert read(pack, "Russia did not agree to a ceasefire.") == []
    assert read(pack, "There was no deal on prisoners, Israeli officials said.") == []


def test_negation_before_someone_elses_demand_leaves_the_demand(pack: RulesPack) -> None:
    """ "no sign of progress on Kyiv's demand for a meeting" is still a demand by UKR."""
    claims = read(
        pack,
        "There is no sign of progress on Kyiv's demand for a meeting between Zelensky and Putin.",
    )
    assert triples(claims) == {("demand", "UKR", "leaders_meeting")}


def test_hypothetical_agreement_is_nothing(pack: RulesPack) -> None:
    """ "If Russia is serious, it will agree" is no agreement; nor is a hope."""
    assert read(pack, "If Russia is serious, it will agree to a ceasefire.") == []
    assert read(pack, "Erdogan says he hopes Russia and Ukraine will agree to a truce.") == []


def test_conditional_threat_is_still_a_demand(pack: RulesPack) -> None:
    """ "If not, sanctions must follow," he says: a demand for sanctions by the speaker."""
    claims = read(pack, "Zelensky spoke to reporters.", 'If not, sanctions must follow," he says.')
    assert triples(claims) == {("demand", "UKR", "sanctions")}


def test_refusing_a_demand_gives_a_demand_and_a_rejection(pack: RulesPack) -> None:
    """ "Russia refuses to meet Ukraine's demand for X": demand by UKR and rejection by RUS, both on X."""
    claims = read(pack, "Russia is still refusing to meet Ukraine's demand for a 30-day ceasefire.")
    assert triples(claims) == {("demand", "UKR", "ceasefire"), ("rejection", "RUS", "ceasefire")}
    assert all(c.attrs["duration"] == "P30D" for c in claims)


def test_two_verbs_of_one_subject_give_two_claims(pack: RulesPack) -> None:
    """ "Russia agreed to return the remains ... and offered a ceasefire": two claims by RUS."""
    claims = read(
        pack,
        "Medinsky says Russia agreed to return the remains of 6,000 soldiers and offered a two to three day ceasefire.",
    )
    assert triples(claims) == {
        ("agreement", "RUS", "bodies_return"),
        ("proposal", "RUS", "ceasefire"),
    }


def test_a_list_after_a_call_gives_one_claim_per_topic(pack: RulesPack) -> None:
    """ "calling for ceasefire, humanitarian actions, leaders' meeting" names three demands."""
    claims = read(
        pack,
        "Umerov spoke to reporters.",
        '"We are calling for real work – ceasefire, humanitarian actions, leaders’ meeting," he says.',
    )
    assert triples(claims) == {
        ("demand", "UKR", "ceasefire"),
        ("demand", "UKR", "humanitarian_aid"),
        ("demand", "UKR", "leaders_meeting"),
    }


def test_the_two_sides_are_the_posts_two_main_parties(pack: RulesPack) -> None:
    """ "the two sides have agreed to exchange" is an agreement between the post's two main actors."""
    claims = read(
        pack,
        "Ukraine and Russia met in Istanbul.",
        "Umerov confirms the two sides have agreed to exchange all wounded prisoners.",
    )
    [claim] = claims
    assert (claim.kind, claim.topic, claim.parties) == (
        "agreement",
        "prisoner_exchange",
        ("RUS", "UKR"),
    )
    assert claim.attrs["categories"] == ["wounded"]


def test_pronoun_points_to_the_last_named_speaker(pack: RulesPack) -> None:
    """ "He suggested that such a meeting should happen" is the demand of the man named before."""
    claims = read(
        pack,
        "Defence Minister Rustem Umerov said the key points could only be resolved at talks between President Zelensky and President Putin.",
        "He suggested that such a meeting should happen by the end of the month.",
    )
    [claim] = claims
    assert (claim.kind, claim.actor, claim.topic) == ("demand", "UKR", "leaders_meeting")
    assert claim.attrs["due"] == "2025-06-30"


def test_future_hand_over_is_an_agreement_and_past_is_a_fulfilment(pack: RulesPack) -> None:
    """ "will hand over" is agreed, "handed over" is done."""
    future = read(pack, "Next week Russia will hand over the bodies of 6,000 soldiers to Ukraine.")
    past = read(pack, "Russia handed over 1,212 bodies to Ukraine on Friday.")
    assert [(c.kind, c.actor, c.parties, c.attrs["count"]) for c in future] == [
        ("agreement", "RUS", ("RUS", "UKR"), 6000)
    ]
    assert [(c.kind, c.actor, c.attrs["count"]) for c in past] == [("fulfilment", "RUS", 1212)]


def test_negated_will_is_a_refusal(pack: RulesPack) -> None:
    """ "Israel will not withdraw from the corridor" is a rejection of the withdrawal."""
    claims = read(
        pack,
        "Israel will not withdraw from the Philadelphi corridor, the prime minister's office said.",
    )
    assert triples(claims) == {("rejection", "ISR", "troop_withdrawal")}


def test_a_title_repeating_the_body_gives_one_claim(pack: RulesPack) -> None:
    """The title and the body saying the same thing make one claim, with the body's details."""
    claims = read(
        pack,
        "Russia has agreed to hand over the remains of 6,000 soldiers to Ukraine, Medinsky says.",
        title="Russia to hand remains of soldiers to Ukraine",
    )
    [claim] = claims
    assert (claim.kind, claim.actor, claim.topic, claim.attrs["count"]) == (
        "agreement",
        "RUS",
        "bodies_return",
        6000,
    )


def test_a_noun_without_an_owner_is_no_claim(pack: RulesPack) -> None:
    """ "proposals for a ceasefire" with nobody named as their owner gives nothing."""
    assert read(pack, "Diplomats discussed proposals for a ceasefire.") == []


def test_possessive_and_by_phrases_name_the_owner(pack: RulesPack) -> None:
    """ "Kyiv's demand" and "a demand by Kyiv" are both demands by UKR."""
    assert triples(read(pack, "Russia rejected Kyiv's demand for a ceasefire.")) >= {
        ("demand", "UKR", "ceasefire")
    }
    assert triples(
        read(pack, 'Russia rejected an "unconditional ceasefire" - a key demand by Kyiv.')
    ) == {
        ("rejection", "RUS", "ceasefire"),
        ("demand", "UKR", "ceasefire"),
    }


def test_pronoun_us_is_not_the_united_states(pack: RulesPack) -> None:
    """Short all-capital aliases match only as written: "us" is no actor, "US" is."""
    assert read(pack, "Let us call for sanctions.") == []
    assert triples(read(pack, "The US called for sanctions.")) == {("demand", "USA", "sanctions")}


def test_claims_quote_their_sentence_and_name_their_rule(pack: RulesPack) -> None:
    """quote is the sentence, span its offsets in the post text, rule the pattern that fired."""
    claims = read(pack, "Talks resumed.", "Ukraine has repeatedly called for a 30-day ceasefire.")
    [claim] = claims
    assert claim.quote == "Ukraine has repeatedly called for a 30-day ceasefire."
    assert claim.span == (15, 68)
    assert claim.rule == "call-for"
