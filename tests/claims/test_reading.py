"""The reading rules: reported speech, negation, hypotheticals, several claims in a sentence,
pronouns and "the two sides", title repeats, refusals. One behaviour per test, real pack."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from monitor.claims import RulesPack, load_pack
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


# Rules added for the four held-out documents of issue 4's second round (written in other words
# than those documents, so each shows the rule, not the sentence it came from).


def test_approving_a_deal_is_about_what_the_deal_does(pack: RulesPack) -> None:
    """ "approved a deal under which X would free ... held hostage": agreements on prisoners (the
    deal's content), not on children or on the weak word "deal"."""
    claims = read(
        pack,
        "Serbia's government approved a deal under which Kosovo would free 40 people held hostage.",
    )
    assert triples(claims) == {
        ("agreement", "SRB", "prisoner_exchange"),
        ("agreement", "XKX", "prisoner_exchange"),
    }


def test_commitments_and_observing_a_truce_are_agreements(pack: RulesPack) -> None:
    """ "pledged to respect the truce", "will abide by the ceasefire" commit; a call to respect
    it does not, and "committed to Nato" (a name) is no new commitment."""
    assert triples(read(pack, "Azerbaijan pledged to respect the truce along the border.")) == {
        ("agreement", "AZE", "ceasefire")
    }
    assert triples(read(pack, "Eritrea will abide by the ceasefire, its minister said.")) == {
        ("agreement", "ERI", "ceasefire")
    }
    called = read(pack, "The UN called on Eritrea to respect the ceasefire.")
    assert triples(called) == {("demand", "UN", "ceasefire")}
    assert read(pack, "Rutte insists Canada is still committed to Nato and its guarantees.") == []


def test_aid_let_in_and_tariffs_suspended_are_agreements_when_still_to_come(
    pack: RulesPack,
) -> None:
    """ "would allow food convoys into the camps", "would suspend the tariffs"."""
    assert triples(read(pack, "Kenya said it would allow food convoys into the camps.")) == {
        ("agreement", "KEN", "humanitarian_aid")
    }
    assert triples(read(pack, "India said it would suspend the tariffs on jute for 60 days.")) == {
        ("agreement", "IND", "sanctions")
    }


def test_withdrawing_tariffs_is_no_troop_withdrawal(pack: RulesPack) -> None:
    """ "urged Beijing to withdraw the tariffs" is a demand about sanctions."""
    assert triples(read(pack, "The EU urged Beijing to withdraw the tariffs on brandy.")) == {
        ("demand", "EU", "sanctions")
    }


def test_asking_someone_to_return_is_a_demand(pack: RulesPack) -> None:
    """ "asked Azerbaijan to return the bodies": a demand by ARM, not an agreement."""
    assert triples(
        read(pack, "Armenia asked Azerbaijan to return the bodies of its soldiers.")
    ) == {("demand", "ARM", "bodies_return")}


def test_in_exchange_for_after_an_exchange_done_is_its_other_half(pack: RulesPack) -> None:
    """ "freed 90 prisoners in exchange for the remains": one fulfilment, no demand; before
    anything is done "in exchange for" is still a demand."""
    assert triples(
        read(pack, "Israel freed 90 prisoners in exchange for the remains of three hostages.")
    ) == {("fulfilment", "ISR", "prisoner_exchange")}
    offer = read(
        pack, "Hamas is ready to free all hostages in exchange for a full Israeli withdrawal."
    )
    assert ("demand", "HAMAS", "troop_withdrawal") in triples(offer)


def test_a_sentence_opening_participle_names_who_was_freed(pack: RulesPack) -> None:
    """ "Freed Ukrainian prisoners of war arrived ...": neither "Freed" nor "arrived" is a
    fulfilment by UKR (Ukrainian prisoners are the people freed, not who frees them)."""
    assert read(pack, "Freed Ukrainian prisoners of war arrived in Chernihiv on Friday.") == []


def test_an_offer_asked_for_by_a_demand_is_the_demands(pack: RulesPack) -> None:
    """ "had not seen any Russian memorandum and urged Moscow to send it": a demand by UKR, no
    proposal, and "any Russian memorandum" names a document, not who urges."""
    claims = read(pack, "Kyiv has not seen any Russian memorandum and urged Moscow to send it.")
    assert triples(claims) == {("demand", "UKR", "peace_terms")}


def test_names_joined_to_an_object_are_objects(pack: RulesPack) -> None:
    """ "..., and called on the United States and Europe to impose sanctions": Europe does not
    call, and "States" is no reporting verb."""
    claims = read(
        pack,
        "Kyiv said the attack showed why a truce was needed, and called on the United States "
        "and Europe to impose sanctions.",
    )
    assert triples(claims) == {("demand", "UKR", "ceasefire"), ("demand", "UKR", "sanctions")}


def test_a_name_in_the_object_and_claims_that_are_no_speakers(pack: RulesPack) -> None:
    """ "they will not sign ..., and have dismissed Pakistani claims that their delegation
    agreed": both rejections are Afghanistan's."""
    claims = read(
        pack,
        "Afghan officials say they will not sign any document drafted in Islamabad, and have "
        "dismissed Pakistani claims that their delegation agreed to a draft treaty.",
    )
    assert {c.actor for c in claims if c.kind == "rejection"} == {"AFG"}
    assert "PAK" not in {c.actor for c in claims}


def test_a_capital_naming_a_deal_is_a_venue(pack: RulesPack) -> None:
    """ "Under the Doha deal, the two sides committed ..., Qatar said": Qatar is neither the
    deal's owner nor one of the sides it speaks of."""
    assert (
        read(
            pack,
            "Under the Doha deal, the two sides committed to an immediate ceasefire, Qatar said.",
        )
        == []
    )


def test_offering_to_host_a_new_round_proposes_mediation_and_talks(pack: RulesPack) -> None:
    """ "offered to host another round of talks": mediation and talks; "host the talks" (already
    under way) is mediation only."""
    assert triples(read(pack, "Egypt offered to host another round of talks in Cairo.")) == {
        ("proposal", "EGY", "mediation"),
        ("proposal", "EGY", "talks"),
    }
    assert triples(read(pack, "Oman offered to host the talks.")) == {
        ("proposal", "OMN", "mediation")
    }


def test_once_it_has_been_done_is_not_done(pack: RulesPack) -> None:
    """ "will hand over a memorandum once the exchange has been completed": no fulfilment."""
    claims = read(
        pack, "Russia will hand Ukraine a memorandum once the exchange has been completed."
    )
    assert triples(claims) == {("proposal", "RUS", "peace_terms")}


def test_the_government_and_the_rebels_are_the_posts_one_state_and_one_group(
    pack: RulesPack,
) -> None:
    """ "The rebels rejected the truce" is the M23's rejection when the post names Congo and the
    M23; with two armed groups named, "the rebels" is nobody."""
    claims = read(
        pack,
        "Congo and the M23 met in Doha on Monday.",
        "The rebels rejected the truce, and the government called for a new ceasefire.",
    )
    assert triples(claims) >= {("rejection", "M23", "ceasefire"), ("demand", "COD", "ceasefire")}
    two_groups = read(
        pack, "The M23 and the RSF issued statements.", "The rebels rejected the truce."
    )
    assert ("rejection", "M23", "ceasefire") not in triples(two_groups)
    assert ("rejection", "RSF", "ceasefire") not in triples(two_groups)


def test_a_refusal_until_something_happens_demands_it(pack: RulesPack) -> None:
    """ "will not give up its weapons until Israel agrees to a permanent ceasefire": the price
    of the refusal is a demand by who refuses; "until Friday" after no refusal is none, and a
    price that names no topic ("until it had achieved its goals") gives no demand."""
    claims = read(
        pack,
        "Update",
        "Hezbollah says it will not give up its weapons until Israel agrees to a permanent ceasefire.",
    )
    assert ("demand", "HEZBOLLAH", "ceasefire") in triples(claims)
    assert read(pack, "Update", "The truce will hold until Friday, Lebanon said.") == []
    goals = read(
        pack,
        "Update",
        "Russia says the exchange of prisoners went ahead.",
        "Moscow said it would not stop until it had achieved all of its goals.",
    )
    assert "demand" not in {c.kind for c in goals}


def test_troops_leaving_is_a_withdrawal(pack: RulesPack) -> None:
    """ "until Armenian forces have left Azerbaijani territory": a pull-back, named before the
    territory."""
    claims = read(
        pack,
        "Update",
        "Azerbaijan said it would not sign the treaty until Armenian forces have left the border villages.",
    )
    assert ("demand", "AZE", "troop_withdrawal") in triples(claims)


def test_people_freed_by_full_name_are_a_release(pack: RulesPack) -> None:
    """ "The Houthis freed Ahmed Saleh Mansour": a prisoner release by the Houthis; a day, a
    month, an actor or a possessive after the verb is no person freed. (A post that names no
    topic anywhere is not read at all: the title here names one.)"""
    title = "Detainee releases go on"
    claims = read(pack, title, "The Houthis freed Ahmed Saleh Mansour on Sunday, officials said.")
    assert triples(claims) == {("fulfilment", "HOUTHIS", "prisoner_exchange")}
    assert read(pack, title, "Hamas released Keith Siegel's video on Monday.") == []
    assert read(pack, title, "The ministry released Friday Prayer times.") == []
    assert read(pack, title, "Riyadh said the Houthis released New York Times footage.") == []
    handed = read(pack, title, "Azerbaijan handed over Ruben Vardanyan to Armenian officials.")
    assert triples(handed) == {("fulfilment", "AZE", "prisoner_exchange")}
    assert read(pack, title, "Trump returned Air Force One to Washington.") == []


def test_someones_call_to_do_something_is_their_demand(pack: RulesPack) -> None:
    """ "rejected Kyiv's call to free all prisoners": a demand by UKR and a rejection by RUS."""
    claims = read(pack, "Update", "Moscow rejected Kyiv's call to free all prisoners of war first.")
    assert triples(claims) == {
        ("demand", "UKR", "prisoner_exchange"),
        ("rejection", "RUS", "prisoner_exchange"),
    }


def test_kidnappings_are_about_people_held(pack: RulesPack) -> None:
    """ "demanded an end to kidnappings": people held for ransom are the hostages' topic."""
    claims = read(pack, "Update", "Nigeria demanded an end to kidnappings by armed gangs.")
    assert triples(claims) == {("demand", "NGA", "prisoner_exchange")}


def test_one_leader_met_or_invited_by_another_is_a_leaders_meeting(pack: RulesPack) -> None:
    """ "would meet Trump", "invited Pashinyan to Baku", "a meeting with Kagame": one leader met or
    invited by another named before is a leaders' meeting; a minister met is not."""
    met = read(pack, "Update", "Netanyahu said he would meet Trump at the White House next week.")
    assert triples(met) == {("agreement", "ISR", "leaders_meeting")}
    invited = read(pack, "Update", "Aliyev invited Pashinyan to Baku for their next meeting.")
    assert triples(invited) == {("proposal", "AZE", "leaders_meeting")}
    ministers = read(pack, "Update", "China said He Lifeng would meet Bessent in Geneva on Friday.")
    assert ("agreement", "CHN", "leaders_meeting") not in triples(ministers)
    envoy = read(
        pack, "Update", "Putin said he would meet Trump's envoy Witkoff in Moscow on Friday."
    )
    assert ("agreement", "RUS", "leaders_meeting") not in triples(envoy)
    called = read(
        pack,
        "Update",
        "Tshisekedi spoke, calling again for a meeting with Kagame and for new sanctions on Rwanda.",
    )
    assert triples(called) == {("demand", "COD", "leaders_meeting"), ("demand", "COD", "sanctions")}


def test_two_leaders_joined_before_a_meeting_word_are_a_leaders_meeting(pack: RulesPack) -> None:
    """ "proposed that Pashinyan and Aliyev meet", "an Aliyev-Pashinyan meeting"."""
    proposed = read(pack, "Update", "Armenia proposed that Pashinyan and Aliyev meet in Abu Dhabi.")
    assert triples(proposed) == {("proposal", "ARM", "leaders_meeting")}
    dismissed = read(
        pack,
        "Update",
        "Baku dismissed the idea of an Aliyev-Pashinyan meeting before the treaty is signed.",
    )
    assert triples(dismissed) == {("rejection", "AZE", "leaders_meeting")}


def test_a_meeting_at_the_level_of_leaders_is_a_leaders_meeting(pack: RulesPack) -> None:
    """ "a meeting at the level of leaders", "a trilateral meeting"."""
    claims = read(pack, "Update", "Kosovo wants a meeting at the level of leaders, Kurti said.")
    assert triples(claims) == {("demand", "XKX", "leaders_meeting")}


def test_resuming_contacts_is_talks(pack: RulesPack) -> None:
    """ "ready to resume contacts with Washington": an offer of talks."""
    claims = read(
        pack, "Update", "Tehran is ready to resume contacts with Washington, Araghchi said."
    )
    assert triples(claims) == {("proposal", "IRN", "talks")}


def test_backing_someones_plan_is_agreeing_to_it(pack: RulesPack) -> None:
    """ "Israel backed Egypt's plan for a two-day truce": an agreement on the truce."""
    claims = read(pack, "Update", "Israel backed Egypt's plan for a two-day truce.")
    assert triples(claims) == {("agreement", "ISR", "ceasefire")}


def test_working_groups_are_talks_and_what_they_would_do_is_the_proposal(pack: RulesPack) -> None:
    """ "proposed three working groups - on political and humanitarian issues - which would meet
    online": a proposal of talks, not of aid, and no agreement to meet."""
    claims = read(
        pack,
        "Update",
        "Armenia proposed setting up two working groups - on border, transport and humanitarian"
        " issues - which would meet in Geneva every month.",
    )
    assert triples(claims) == {("proposal", "ARM", "talks")}
    about = read(
        pack, "Update", "Russia and Ukraine agreed to set up a working group on prisoners."
    )
    assert triples(about) == {("agreement", "RUS", "prisoner_exchange")}


def test_what_someone_wants_from_talks_is_no_demand_for_them(pack: RulesPack) -> None:
    """ "What Hamas wants from the Cairo talks" asks for nothing."""
    assert read(pack, "Update", "What Hamas wants from the Cairo talks is unclear.") == []


def test_a_commitment_on_a_condition_is_an_offer(pack: RulesPack) -> None:
    """ "would release all the hostages if Israel ended the war": a proposal; "unless" is a
    threat (nothing); a refusal "as long as" something lasts is still a rejection."""
    offer = read(
        pack, "Update", "Hamas said it would release all the hostages if Israel ended the war."
    )
    assert triples(offer) == {("proposal", "HAMAS", "prisoner_exchange")}
    assert (
        read(pack, "Update", "Hamas would release the hostages unless Israel resumed the war.")
        == []
    )
    refusal = read(
        pack,
        "Update",
        "Khamenei said Tehran would not return to negotiations with Washington as long as Israel"
        " kept bombing.",
    )
    assert triples(refusal) == {("rejection", "IRN", "talks")}


def test_will_halt_attacks_is_a_ceasefire_commitment(pack: RulesPack) -> None:
    """ "will halt its attacks on energy sites": an agreement on a ceasefire."""
    claims = read(
        pack,
        "Update",
        "Russia will halt its attacks on energy sites for 30 days, the Kremlin said.",
    )
    assert triples(claims) == {("agreement", "RUS", "ceasefire")}


def test_a_proposal_owned_through_a_title_or_named_before(pack: RulesPack) -> None:
    """ "the Egyptian president's proposal" is Egypt's; "accepted the Qatari proposal" is about
    the truce the post named before."""
    claims = read(pack, "Update", "Hamas accepted the Egyptian president's proposal for a truce.")
    assert triples(claims) == {
        ("agreement", "HAMAS", "ceasefire"),
        ("proposal", "EGY", "ceasefire"),
    }
    later = read(
        pack,
        "Qatar put forward a plan for a 60-day truce.",
        "Hamas accepted the Qatari proposal on Sunday.",
    )
    assert triples(later) == {("proposal", "QAT", "ceasefire"), ("agreement", "HAMAS", "ceasefire")}


def test_the_first_aid_to_arrive_has_arrived(pack: RulesPack) -> None:
    """ "reached Khartoum ..., the first aid to arrive since the truce": aid delivered, not a
    commitment, and the truce after "since" is no topic of it."""
    claims = read(
        pack,
        "Update",
        "A convoy of trucks carrying food reached Khartoum on Tuesday, the UN said, the first aid to"
        " arrive in the city since the truce.",
    )
    assert triples(claims) == {("fulfilment", "UN", "humanitarian_aid")}


def test_people_in_need_are_no_demand(pack: RulesPack) -> None:
    """ "access to everyone in need": "need" is no demand there."""
    claims = read(
        pack,
        "Update",
        "Sudan and the RSF agreed to allow humanitarian access to everyone in need in Darfur.",
    )
    assert triples(claims) == {("agreement", "RSF", "humanitarian_aid")}


def test_terrorist_designations_and_blockades_name_their_topics(pack: RulesPack) -> None:
    """Lifting a designation as a terrorist organisation is lifting a sanction; lifting a
    blockade is about aid access."""
    lifted = read(
        pack,
        "Update",
        "The State Department will help lift the Houthis' designation as a terrorist organisation.",
    )
    assert triples(lifted) == {("agreement", "USA", "sanctions")}
    blockade = read(
        pack, "Update", "The Houthis demanded that Saudi Arabia lift its blockade of Yemen's ports."
    )
    assert triples(blockade) == {("demand", "HOUTHIS", "humanitarian_aid")}


def test_a_declaration_is_peace_terms_and_its_terms_are_claimed_too(pack: RulesPack) -> None:
    """ "signed a joint declaration ... that commits both sides to a permanent ceasefire"."""
    claims = read(
        pack,
        "Update",
        "Armenia and Azerbaijan signed a joint declaration in Washington that commits both sides to a"
        " permanent ceasefire.",
    )
    assert triples(claims) == {
        ("agreement", "ARM", "peace_terms"),
        ("agreement", "ARM", "ceasefire"),
    }


def test_a_truce_coming_into_effect_is_carried_out(pack: RulesPack) -> None:
    """ "The truce came into effect": a fulfilment (a topic word between "the" and the verb is
    its subject, not a noun use of the verb)."""
    claims = read(
        pack,
        "Israel and Hezbollah agreed a truce on Tuesday.",
        "The truce came into effect at 4am on Wednesday.",
    )
    assert ("fulfilment", "HEZBOLLAH", "ceasefire") in triples(claims)
    assert read(pack, "Update", "Hamas said the ceasefire offer was unacceptable.") == []


def test_tigrayan_forces_are_known(pack: RulesPack) -> None:
    """The TPLF (Tigrayan forces) and Somaliland are actors of the pack."""
    assert triples(
        read(pack, "Update", "The TPLF rejected the ceasefire, its spokesman said.")
    ) == {("rejection", "TPLF", "ceasefire")}


def test_a_condition_or_hedge_ends_with_its_clause(pack: RulesPack) -> None:
    """ "could not work as long as ..., and called on EU monitors to verify": the call stands;
    a condition that opens the sentence still governs all of it."""
    claims = read(
        pack,
        "Update",
        "Kurti said the deal could not work as long as Serbian police remained in the north, and"
        " called on EU monitors to verify their withdrawal.",
    )
    assert triples(claims) == {("demand", "XKX", "mediation")}
    opening = "If Russia is serious, it will agree, and Ukraine will release its prisoners."
    assert read(pack, "Update", opening) == []


def test_a_list_of_acts_gives_a_demand_each(pack: RulesPack) -> None:
    """ "push for the release of more prisoners, the return of children ... and preparations for
    a meeting with Putin": three demands."""
    claims = read(
        pack,
        "Update",
        "Zelensky said the delegation would push for the release of more prisoners, the return of"
        " children taken to Russia and preparations for a meeting with Putin.",
    )
    assert triples(claims) == {
        ("demand", "UKR", "prisoner_exchange"),
        ("demand", "UKR", "children_return"),
        ("demand", "UKR", "leaders_meeting"),
    }


def test_people_someone_wants_freed_are_what_they_demand(pack: RulesPack) -> None:
    """ "a list of 60 hostages it wants freed in the first phase": a demand on the hostages."""
    claims = read(
        pack,
        "Update",
        "Israel handed over a list of 60 hostages it wants freed in the first phase.",
    )
    assert triples(claims) == {("demand", "ISR", "prisoner_exchange")}


def test_calls_by_someone_for_something_are_their_demand(pack: RulesPack) -> None:
    """ "rejected calls by European governments for new talks": a demand by the EU too."""
    claims = read(pack, "Update", "Iran rejected calls by European governments for new talks.")
    assert triples(claims) == {("demand", "EU", "talks"), ("rejection", "IRN", "talks")}


def test_asking_a_third_party_to_help_persuade_is_mediation(pack: RulesPack) -> None:
    """ "asked Doha to help persuade Tehran": a demand for mediation."""
    claims = read(
        pack, "Update", "Washington asked Doha to help persuade Tehran to accept the truce."
    )
    assert triples(claims) == {("demand", "USA", "mediation")}


def test_terms_after_a_colon_are_their_owners_demands(pack: RulesPack) -> None:
    """ "Israel's conditions are clear: Hamas must give up its weapons and free all the
    hostages": Israel's demands, both of them (a list of verbs' objects, up to three words after
    "and")."""
    claims = read(
        pack,
        "Update",
        "Israel's conditions are clear: Hamas must give up its weapons and free all the hostages.",
    )
    assert triples(claims) == {
        ("demand", "ISR", "disarmament"),
        ("demand", "ISR", "prisoner_exchange"),
    }


def test_a_national_role_is_mediation(pack: RulesPack) -> None:
    """ "rejected a Turkish role": a third party's part in the talks, rejected."""
    claims = read(
        pack,
        "Update",
        "Israel had earlier rejected a Turkish role, citing Ankara's hostile positions.",
    )
    assert triples(claims) == {("rejection", "ISR", "mediation")}


def test_leaders_come_from_the_users_actors_file_too(tmp_path: Path) -> None:
    """A `leaders:` list in a user's actors file: one of them met by another is a leaders'
    meeting; listed under `people:` only, the same name makes none."""
    text = "Kopyrkin said he would meet Putin in Minsk on Friday."
    as_leader = tmp_path / "leaders.yaml"
    as_leader.write_text("BLR:\n  leaders: [Kopyrkin]\n", encoding="utf-8")
    claims = read(load_pack(actor_files=[as_leader]), "Update", text)
    assert ("agreement", "BLR", "leaders_meeting") in triples(claims)
    as_person = tmp_path / "people.yaml"
    as_person.write_text("BLR:\n  people: [Kopyrkin]\n", encoding="utf-8")
    claims = read(load_pack(actor_files=[as_person]), "Update", text)
    assert ("agreement", "BLR", "leaders_meeting") not in triples(claims)


def test_an_offer_names_who_pays_its_price(pack: RulesPack) -> None:
    """ "would only agree to a ceasefire if Ukraine withdrew": an offer; "would sign this evening
    if the last points could be settled" names no payer (a forecast, nothing); "calls from its
    neighbours" own no demand by the pronoun's antecedent."""
    offer = read(
        pack, "Update", "Russia would only agree to a ceasefire if Ukraine withdrew from Donetsk."
    )
    # (and, since round 6b, the price "only ... if" names is Russia's demand)
    assert triples(offer) == {
        ("proposal", "RUS", "ceasefire"),
        ("demand", "RUS", "troop_withdrawal"),
    }
    forecast = "Fidan said Armenia and Azerbaijan would sign the treaty if the last points could be settled."
    assert read(pack, "Update", forecast) == []
    calls = read(pack, "Update", "Russia rejected calls from its neighbours for a ceasefire.")
    assert triples(calls) == {("rejection", "RUS", "ceasefire")}


def test_plans_to_meet_and_set_to_meet(pack: RulesPack) -> None:
    """ "had no plans to meet Zelensky" refuses a leaders' meeting; "Putin and Trump are set to
    meet" agree to one."""
    refused = read(pack, "Update", "The Kremlin said Putin had no plans to meet Zelensky.")
    assert triples(refused) == {("rejection", "RUS", "leaders_meeting")}
    set_to = read(
        pack, "Update", "Putin and Trump are set to meet in Budapest in the coming weeks."
    )
    assert triples(set_to) == {("agreement", "RUS", "leaders_meeting")}


def test_an_end_to_the_war_is_a_ceasefire(pack: RulesPack) -> None:
    """ "rejected Hamas's demands for an end to the war": a demand and a rejection on the
    ceasefire (as "a permanent end to the war" already was)."""
    claims = read(pack, "Update", "Netanyahu rejected Hamas's demands for an end to the war.")
    assert triples(claims) == {("demand", "HAMAS", "ceasefire"), ("rejection", "ISR", "ceasefire")}


def test_what_an_agreed_deal_calls_for_is_agreed(pack: RulesPack) -> None:
    """ "The deal calls for the release of 33 hostages": the parties' agreement on the release;
    a proposed or draft deal's terms are no agreement; "a truce proposed by the Quad" is no
    proposal by the subject."""
    agreed = read(
        pack,
        "Israel and Hamas agreed a deal on Wednesday.",
        "The deal calls for the release of 33 hostages.",
    )
    assert ("agreement", "HAMAS", "prisoner_exchange") in triples(agreed)
    assert (
        read(pack, "Update", "The proposed deal calls for a 60-day truce, Egyptian officials said.")
        == []
    )
    quad = read(
        pack,
        "Update",
        "The RSF said it had agreed to a three-month humanitarian truce proposed by the Quad.",
    )
    assert triples(quad) == {("agreement", "RSF", "ceasefire")}


def test_a_list_of_acts_may_name_whose_people(pack: RulesPack) -> None:
    """ "a six-week ceasefire and the release of Palestinian prisoners": two topics."""
    claims = read(
        pack,
        "Update",
        "Israel and Hamas agreed to a six-week ceasefire and the release of Palestinian prisoners.",
    )
    assert {
        ("agreement", "HAMAS", "ceasefire"),
        ("agreement", "HAMAS", "prisoner_exchange"),
    } <= triples(claims)


def test_a_threat_unless_demands_its_price(pack: RulesPack) -> None:
    """ "threatened to impose tariffs ... unless Moscow agreed to a ceasefire": a demand for the
    ceasefire; with no topic after "unless", nothing."""
    claims = read(
        pack,
        "Update",
        "Trump threatened to impose 100% tariffs on countries buying Russian oil unless Moscow agreed"
        " to a ceasefire within 50 days.",
    )
    assert triples(claims) == {("demand", "USA", "ceasefire")}
    assert (
        read(pack, "Update", "Hamas warned that the hostages would die unless the bombing stopped.")
        == []
    )


# Round 6b: clause logic (conditions, several claims a sentence, holders)


def test_a_commitment_on_a_price_condition_is_a_demand_for_the_price(pack: RulesPack) -> None:
    """ "would withdraw only after Hamas released the hostages", "only once", "but not until":
    no agreement by either side, a demand by who commits for what the condition names."""
    claims = read(
        pack,
        "Israel would withdraw its troops from the corridor only after Hamas released all the"
        " hostages.",
    )
    assert triples(claims) == {("demand", "ISR", "prisoner_exchange")}
    claims = read(
        pack,
        "The Houthis said they would free the Saudi prisoners only once the coalition lifted the"
        " blockade of Hodeidah.",
    )
    assert triples(claims) == {("demand", "HOUTHIS", "humanitarian_aid")}
    claims = read(
        pack, "Kyiv would sign the memorandum, but not until Russia returned the deported children."
    )
    assert triples(claims) == {("demand", "UKR", "children_return")}


def test_a_refusal_unless_is_a_rejection_and_a_demand(pack: RulesPack) -> None:
    """ "would not return to talks unless sanctions were lifted": both claims by who refuses."""
    claims = read(pack, "Tehran would not return to talks unless sanctions were lifted.")
    assert triples(claims) == {("rejection", "IRN", "talks"), ("demand", "IRN", "sanctions")}


def test_an_offer_only_if_also_demands_its_price(pack: RulesPack) -> None:
    """ "will sign the memorandum only if Moscow agrees to a full ceasefire": the offer stays
    (as for "if"), and the ceasefire is Kyiv's demand."""
    claims = read(pack, "Kyiv will sign the memorandum only if Moscow agrees to a full ceasefire.")
    assert triples(claims) == {("proposal", "UKR", "peace_terms"), ("demand", "UKR", "ceasefire")}


def test_a_refusal_until_is_demanded_by_who_refuses(pack: RulesPack) -> None:
    """ "the group would not join any Colombian-Venezuelan talks until its fighters were
    released": the group's demand, not that of a name inside what it refuses."""
    claims = read(
        pack,
        "An ELN commander said the group would not join any Colombian-Venezuelan talks until its"
        " jailed fighters were released.",
    )
    assert triples(claims) == {("demand", "ELN", "prisoner_exchange")}


def test_a_refusal_to_sign_with_nothing_named_refuses_the_text_before(pack: RulesPack) -> None:
    """ "has refused to sign until ...": what is not signed is the treaty named before."""
    claims = read(
        pack,
        "Serbia and Kosovo have been negotiating a normalisation treaty since 2011.",
        "Pristina has refused to sign until Belgrade withdraws its troops from the border.",
    )
    assert triples(claims) == {
        ("rejection", "XKX", "peace_terms"),
        ("demand", "XKX", "troop_withdrawal"),
    }


def test_a_second_verb_after_and_has_the_first_verbs_subject(pack: RulesPack) -> None:
    """ "agreed to return the bodies of Ukrainian soldiers and offered a truce": the offer is
    Moscow's, not that of a name inside the first verb's object; so with "..., and to"."""
    claims = read(
        pack, "Moscow agreed to return the bodies of Ukrainian soldiers and offered a truce."
    )
    assert triples(claims) == {
        ("agreement", "RUS", "bodies_return"),
        ("proposal", "RUS", "ceasefire"),
    }
    claims = read(
        pack,
        "The RSF is to free the detainees within 48 hours of the Sudanese pullback, and to hand"
        " over the remains of the dead.",
    )
    assert triples(claims) == {
        ("agreement", "RSF", "prisoner_exchange"),
        ("agreement", "RSF", "bodies_return"),
    }


def test_a_name_in_the_objects_reported_clause_is_not_the_holder(pack: RulesPack) -> None:
    """ "demanded clarity on the fighters that Cairo says Ankara flew in": Ankara is inside what
    is demanded (the one who "says" it is Cairo, before the verb), not who demands."""
    claims = read(
        pack,
        "Egypt called for a truce, and demanded clarity on the fighters that Cairo says Ankara"
        " flew into Tripoli.",
    )
    assert triples(claims) == {("demand", "EGY", "ceasefire")}


def test_a_passive_without_agent_borrows_no_earlier_speaker(pack: RulesPack) -> None:
    """ "..., the EU said. Detainees ... are to be handed over": the EU spoke of something else;
    the post's two sides hand them over, and with no two sides nobody is named."""
    claims = read(
        pack,
        "Serbia and Kosovo agreed on the text in Ohrid.",
        "Displaced families will return under the supervision of the UN refugee agency, the EU said.",
        "Detainees and the remains of the missing are to be handed over within a month.",
    )
    assert triples(claims) == {
        ("agreement", "SRB", "peace_terms"),
        ("agreement", "SRB", "prisoner_exchange"),
        ("agreement", "SRB", "bodies_return"),
    }
    assert all(c.parties == ("SRB", "XKX") for c in claims)
    claims = read(
        pack,
        "Aid convoys will be escorted by Red Cross teams, the ICRC said.",
        "Detainees are to be exchanged next week.",
    )
    assert claims == []


def test_a_list_before_a_passive_gives_one_claim_per_topic(pack: RulesPack) -> None:
    """ "Hostages, detainees and the bodies of the dead were exchanged": prisoners and bodies."""
    claims = read(
        pack, "Hostages, detainees and the bodies of the dead were exchanged on Friday, Qatar said."
    )
    assert triples(claims) == {
        ("fulfilment", "QAT", "prisoner_exchange"),
        ("fulfilment", "QAT", "bodies_return"),
    }


def test_only_a_few_words_before_the_condition_still_make_it_a_price(pack: RulesPack) -> None:
    """ "would only sign the grain deal after sanctions on Russian banks were lifted": no
    signing, no lifting; Moscow's demand for the sanctions to go."""
    claims = read(
        pack,
        "Moscow said it would only sign the grain deal after sanctions on Russian banks were lifted.",
    )
    assert triples(claims) == {("demand", "RUS", "sanctions")}


def test_a_demands_later_verb_phrases_are_demanded_too(pack: RulesPack) -> None:
    """ "must pull its troops back from the crossing, allow aid convoys through and end the
    strikes", "demanded that Russia withdraw ..., return the deported children and ...": one
    demand a verb phrase."""
    claims = read(
        pack,
        "Egypt said Israel must pull its troops back from the Rafah crossing, allow aid convoys"
        " through and end the strikes.",
    )
    assert triples(claims) == {
        ("demand", "EGY", "troop_withdrawal"),
        ("demand", "EGY", "humanitarian_aid"),
        ("demand", "EGY", "ceasefire"),
    }
    claims = read(
        pack,
        "Kyiv demanded that Russia withdraw from the plant, return the deported children and pay"
        " reparations.",
    )
    assert triples(claims) == {
        ("demand", "UKR", "troop_withdrawal"),
        ("demand", "UKR", "children_return"),
    }


def test_a_definite_noun_after_a_cue_points_back(pack: RulesPack) -> None:
    """ "rejected that sequencing", "dismissed the suggestion": what the sentence before named."""
    claims = read(
        pack,
        "Kyiv wants a ceasefire first and talks later.",
        "Moscow rejected that sequencing.",
    )
    assert triples(claims) == {("demand", "UKR", "ceasefire"), ("rejection", "RUS", "ceasefire")}
    claims = read(
        pack, "The EU floated a 30-day truce.", "Russia dismissed the suggestion outright."
    )
    assert ("rejection", "RUS", "ceasefire") in triples(claims)


def test_a_pronoun_before_to_is_who_is_asked_not_what(pack: RulesPack) -> None:
    """ "urged them to resume talks": "them" are the delegations asked, so the demand is the
    talks, not the detainees named before."""
    claims = read(
        pack,
        "The Red Cross said it was in contact with both delegations on the detainees, and urged"
        " them to resume talks this week.",
    )
    assert triples(claims) == {("demand", "ICRC", "talks")}


def test_a_later_clause_with_its_own_subject_keeps_its_own_topic(pack: RulesPack) -> None:
    """ "wrote that the detainees would be freed within days, and Russia would withdraw its
    troops": the withdrawal is Russia's; the detainees belong to the clause before the ", and"
    (a "that" before it opens no relative clause around Russia)."""
    claims = read(
        pack,
        "Erdogan wrote that the detainees would be freed within days, and Russia would withdraw"
        " its troops from the plant.",
    )
    assert ("agreement", "RUS", "troop_withdrawal") in triples(claims)
    assert ("agreement", "RUS", "prisoner_exchange") not in triples(claims)


def test_the_name_between_for_and_an_infinitive_does_it(pack: RulesPack) -> None:
    """ "a three-day window for Russia to return the deported children": Russia returns them."""
    claims = read(
        pack,
        "Kyiv said its troops had left the village, starting a three-day window for Russia to"
        " return the deported children.",
    )
    assert triples(claims) == {("agreement", "RUS", "children_return")}


def test_talks_where_something_was_said_are_not_what_is_asked(pack: RulesPack) -> None:
    """ "a demand Serbian negotiators raised at the second round of talks": the talks are the
    occasion; the demand (a patrol right) names no topic of ours."""
    claims = read(
        pack,
        "Belgrade had insisted on its right to patrol the bridge, a demand Serbian negotiators"
        " raised at the second round of talks in Brussels.",
    )
    assert claims == []
    assert triples(read(pack, "Serbia called for new talks.")) == {("demand", "SRB", "talks")}


def test_a_participle_describing_an_earlier_agreement_is_no_claim(pack: RulesPack) -> None:
    """ "A local truce agreed in Jeddah in May broke down": the truce agreed before is named,
    nobody agrees now (and the UN, who reports it, agreed nothing)."""
    assert (
        read(pack, "A local truce agreed in Jeddah in May broke down on Sunday, the UN said.") == []
    )
    assert triples(read(pack, "The RSF agreed in Jeddah to a truce.")) == {
        ("agreement", "RSF", "ceasefire")
    }


def test_more_of_what_was_just_done_is_its_topic(pack: RulesPack) -> None:
    """ "freed 50 detainees on Monday and said they would release more next week": a promise of
    more prisoners freed."""
    claims = read(
        pack, "The Houthis freed 50 detainees on Monday and said they would release more next week."
    )
    assert triples(claims) == {
        ("fulfilment", "HOUTHIS", "prisoner_exchange"),
        ("agreement", "HOUTHIS", "prisoner_exchange"),
    }
    promise = next(c for c in claims if c.kind == "agreement")
    assert "count" not in promise.attrs  # not 50 more: the count was of those freed


def test_a_joint_subject_joined_through_titles_is_one_claim(pack: RulesPack) -> None:
    """ "Serbia's president, X, and the prime minister of Kosovo, Y, signed": a joint subject
    (one claim, the first code, both parties), as "Serbia and Kosovo signed" is."""
    claims = read(
        pack,
        "Serbia's president, Aleksandar Vucic, and the prime minister of Kosovo, Albin Kurti,"
        " signed the declaration in Ohrid.",
    )
    assert triples(claims) == {("agreement", "SRB", "peace_terms")}
    assert claims[0].parties == ("SRB", "XKX")


def test_only_after_between_two_things_done_is_no_condition(pack: RulesPack) -> None:
    """ "pulled its troops back only after Hamas had freed the hostages": both happened."""
    claims = read(pack, "Israel pulled its troops back only after Hamas had freed the hostages.")
    assert triples(claims) == {
        ("fulfilment", "ISR", "troop_withdrawal"),
        ("fulfilment", "HAMAS", "prisoner_exchange"),
    }


def test_troops_pulled_back_people_held_since_and_recognising_a_state(pack: RulesPack) -> None:
    """ "had begun pulling troops back": a withdrawal carried out; "released a British couple held
    since February": a prisoner release; "recognise a Palestinian state": territory."""
    pulled = read(
        pack,
        "Update",
        "The Israeli army said it had begun pulling troops back to the so-called yellow line.",
    )
    assert triples(pulled) == {("fulfilment", "ISR", "troop_withdrawal")}
    held = read(
        pack, "Update", "The Taliban released a British couple held since February, Qatar said."
    )
    assert triples(held) == {("fulfilment", "TALIBAN", "prisoner_exchange")}
    state = read(
        pack,
        "Update",
        "The Palestinian Authority called on the international community to recognise a Palestinian state.",
    )
    assert triples(state) == {("demand", "PSE", "territory")}


def test_a_fifth_round_of_talks(pack: RulesPack) -> None:
    """Ordinals past "fourth" name a round of talks too."""
    claims = read(
        pack,
        "Update",
        "Iran and the United States will hold a fifth round of talks in Rome on Friday.",
    )
    assert {(kind, topic) for kind, _, topic in triples(claims)} == {("agreement", "talks")}


def test_a_headline_infinitive_is_a_commitment(pack: RulesPack) -> None:
    """A headline's "X to VERB" is its future: "Russia and Ukraine to hold talks", "Putin to meet
    Trump" (the cues that only read when still to come read there too); not after a verb that
    "to" completes ("wants to hold talks" is a demand) nor after a pronoun."""
    assert triples(read(pack, "Serbia and Kosovo to resume talks in Brussels next week")) == {
        ("agreement", "SRB", "talks")
    }
    assert triples(read(pack, "Pashinyan to meet Aliyev in Abu Dhabi")) == {
        ("agreement", "ARM", "leaders_meeting")
    }
    (truce,) = read(pack, "Leaders of Thailand and Cambodia to sign truce in Kuala Lumpur")
    assert (truce.kind, truce.topic) == ("agreement", "ceasefire")
    assert {"THA", "KHM"} <= set(truce.parties)
    assert triples(read(pack, "Venezuela wants to hold talks with the United States")) == {
        ("demand", "VEN", "talks")
    }
    assert read(pack, "They to meet in Doha") == []


def test_a_denied_agreement_is_no_agreement(pack: RulesPack) -> None:
    """ "X denied (that) it had agreed" and "dismissed reports that X had accepted" undo it."""
    assert read(pack, "Hezbollah denied it had agreed to a ceasefire with Israel.") == []
    assert read(pack, "The RSF denied that it had agreed to a truce in El Fasher.") == []
    assert read(pack, "Azerbaijan denied having agreed to a prisoner exchange.") == []
    dismissed = read(pack, "Kabul dismissed reports that it had accepted the Qatari plan.")
    assert all(c.kind != "agreement" for c in dismissed)
    assert triples(read(pack, "Hezbollah said it had agreed to a ceasefire with Israel.")) == {
        ("agreement", "HEZBOLLAH", "ceasefire")
    }


def test_a_deal_named_by_its_subject_is_agreed_on_that_subject(pack: RulesPack) -> None:
    """ "reached a ceasefire deal", "reached agreement on a swap": an agreement about what the
    deal names (not about the officials who said so), and still nothing for a convoy that
    "reached" a town."""
    truce = read(
        pack, "Thailand and Cambodia reached a ceasefire deal on Monday, Malaysian mediators said."
    )
    assert {(c.kind, c.topic) for c in truce} == {("agreement", "ceasefire")}
    assert {"THA", "KHM"} <= set(truce[0].parties)
    swap = read(pack, "Yemen's government and the Houthis reached agreement on a prisoner swap.")
    assert {(c.kind, c.topic) for c in swap} == {("agreement", "prisoner_exchange")}
    assert read(pack, "The convoy reached Khartoum on Monday.") == []


def test_said_no_declined_initialled_and_pulled_out_of(pack: RulesPack) -> None:
    """ "said no to" and "declined to" refuse ("declined to comment" says nothing); "initialled"
    signs; "pulled (its troops) out of" is a withdrawal done, not "the pulling out of"."""
    assert triples(read(pack, "Kosovo said no to a Serbian municipalities association.")) == {
        ("rejection", "XKX", "other")  # no topic of the pack's: "other" (round 6)
    }
    assert triples(read(pack, "Hamas said no to a partial ceasefire.")) == {
        ("rejection", "HAMAS", "ceasefire")
    }
    assert triples(read(pack, "Aliyev declined to meet Pashinyan in Prague.")) == {
        ("rejection", "AZE", "leaders_meeting")
    }
    assert read(pack, "The Kremlin declined to comment on the prisoner swap.") == []
    (treaty,) = read(pack, "Serbia and Kosovo initialled a peace treaty in Ohrid.")
    assert (treaty.kind, treaty.topic) == ("agreement", "peace_terms")
    assert {"SRB", "XKX"} <= set(treaty.parties)
    assert triples(read(pack, "Rwanda has pulled its troops out of eastern Congo.")) == {
        ("fulfilment", "RWA", "troop_withdrawal")
    }


def test_a_release_of_things_is_no_prisoner_release(pack: RulesPack) -> None:
    """ "the release of frozen assets", "$6bn", "released a statement": nothing about prisoners;
    "the release of its citizens" still is."""
    # (a demand still, of no topic of the pack's: "other", since round 6)
    assert triples(read(pack, "Kabul demanded the release of frozen Afghan assets.")) == {
        ("demand", "AFG", "other")
    }
    assert triples(read(pack, "Caracas demanded the release of $2bn in seized funds.")) == {
        ("demand", "VEN", "other")
    }
    statement = read(pack, "The Houthis released a statement rejecting the truce.")
    assert all(c.topic != "prisoner_exchange" for c in statement)
    assert triples(read(pack, "Venezuela demanded the release of its citizens.")) == {
        ("demand", "VEN", "prisoner_exchange")
    }


def test_we_in_a_quote_is_its_speaker(pack: RulesPack) -> None:
    """'"We are ready for a ceasefire," said X' and '"We demand ...," X told reporters': the
    first person of a quote is whoever says it, named after it."""
    assert triples(read(pack, '"We are ready for a truce," said Hun Manet.')) == {
        ("proposal", "KHM", "ceasefire")
    }
    assert triples(read(pack, '"We demand the release of our hostages," Netanyahu said.')) == {
        ("demand", "ISR", "prisoner_exchange")
    }
    assert triples(read(pack, '"We reject the Qatari proposal for a truce," Hamas said.')) == {
        ("rejection", "HAMAS", "ceasefire"),
        ("proposal", "QAT", "ceasefire"),
    }
    assert read(pack, "We are ready for a ceasefire.") == []  # nobody says it


def test_sending_a_delegation_for_talks_commits_to_them(pack: RulesPack) -> None:
    """ "would send a delegation to Doha for talks": an agreement to talk (a delegation sent
    somewhere with no talks named says nothing)."""
    assert triples(read(pack, "Kigali said it would send a delegation to Doha for talks.")) == {
        ("agreement", "RWA", "talks")
    }
    assert read(pack, "Kigali will send a delegation to Doha.") == []


def test_terms_of_a_proposal_and_verbs_joined_by_and(pack: RulesPack) -> None:
    """ "Under the proposal, X would free ..." states a proposal's terms, no agreement; "will
    free 10 and return 18 bodies" is still to come for both verbs; "delivered its response to
    the truce proposal" delivers no truce."""
    assert read(pack, "Under the plan, the RSF would withdraw from El Fasher within 30 days.") == []
    assert {
        (c.kind, c.topic)
        for c in read(pack, "The Houthis will free 150 detainees and return 20 bodies.")
    } == {("agreement", "prisoner_exchange"), ("agreement", "bodies_return")}
    assert read(pack, "The ELN delivered its response to the ceasefire proposal on Monday.") == []


def test_supporting_a_truce_green_lights_and_consent_agree(pack: RulesPack) -> None:
    """ "would support the energy truce", "gave the green light to the plan", "consented to a
    swap" agree; supporting "a ceasefire" in general, or someone's demand, agrees to nothing."""
    assert triples(read(pack, "Kyiv said it would support the Black Sea truce.")) == {
        ("agreement", "UKR", "ceasefire")
    }
    assert triples(read(pack, "The Houthis gave the green light to the prisoner deal.")) == {
        ("agreement", "HOUTHIS", "prisoner_exchange")
    }
    assert triples(read(pack, "Baku consented to a prisoner swap.")) == {
        ("agreement", "AZE", "prisoner_exchange")
    }
    assert read(pack, "Western capitals support a ceasefire.") == []


def test_readiness_offers_and_stopping_strikes_is_a_ceasefire(pack: RulesPack) -> None:
    """ "signalled its readiness for talks" offers them; "stop air strikes" names a ceasefire."""
    assert triples(read(pack, "Tehran signalled its readiness for a new round of talks.")) == {
        ("proposal", "IRN", "talks")
    }
    assert triples(read(pack, "Kabul called on Islamabad to stop drone strikes.")) == {
        ("demand", "AFG", "ceasefire")
    }


def test_a_passive_outcome_is_done_by_its_agent_or_reported_by_its_speaker(pack: RulesPack) -> None:
    """ "were released by the Houthis": the agent after "by"; "The bodies of 1,212 Ukrainian
    soldiers were repatriated, Ukraine said": the speaker, and the topic before the verb (a name
    describing the people handed over is not who hands them over)."""
    assert triples(read(pack, "Twelve Saudi detainees were released by the Houthis.")) == {
        ("fulfilment", "HOUTHIS", "prisoner_exchange")
    }
    assert triples(
        read(pack, "The bodies of 40 Armenian soldiers were repatriated, Azerbaijan said.")
    ) == {("fulfilment", "AZE", "bodies_return")}


def test_export_restrictions_are_sanctions(pack: RulesPack) -> None:
    """Trade curbs are the sanctions topic, as tariffs and export controls are."""
    assert triples(read(pack, "Tokyo suspended export restrictions on chip materials.")) == {
        ("agreement", "JPN", "sanctions")
    }


def test_a_spokesman_for_an_actor_speaks_for_it(pack: RulesPack) -> None:
    """ "A spokesman for Hamas said it was ready ...", "a spokesperson for the Ukrainian foreign
    ministry called for ...": the name after "for" is who holds the position."""
    assert triples(
        read(pack, "A spokesman for the Houthis said they were ready to free 50 prisoners.")
    ) == {("proposal", "HOUTHIS", "prisoner_exchange")}
    assert triples(
        read(pack, "A spokesperson for the Colombian government called for a truce.")
    ) == {("demand", "COL", "ceasefire")}


def test_giving_up_weapons_is_disarmament(pack: RulesPack) -> None:
    """Disarmament has no topic in the spec's list (labels accept any topic there): "would not
    disarm", "must lay down its arms", "agreed to hand over heavy weapons" name it."""
    assert triples(read(pack, "The ELN said it would not disarm.")) == {
        ("rejection", "ELN", "disarmament")
    }
    assert triples(read(pack, "Turkey says the PKK must lay down its arms.")) == {
        ("demand", "TUR", "disarmament")
    }
    assert triples(read(pack, "The M23 agreed to hand over its heavy weapons by May.")) == {
        ("agreement", "M23", "disarmament")
    }


def test_scaling_back_strikes_is_the_ceasefire(pack: RulesPack) -> None:
    """ "pressed Moscow to scale back its strikes" ("exercise restraint" is not: labels differ)."""
    assert triples(read(pack, "Paris has pressed Moscow to scale back its strikes on cities.")) == {
        ("demand", "FRA", "ceasefire")
    }


def test_a_security_agreement_is_peace_terms(pack: RulesPack) -> None:
    """ "pushes both sides to finalize a security pact": the pact is the terms."""
    claims = read(pack, "Washington is pushing Serbia and Kosovo to finalize a security pact.")
    assert triples(claims) == {("demand", "USA", "peace_terms")}


def test_hosting_further_sessions_is_talks(pack: RulesPack) -> None:
    """ "offered to host further sessions" offers a new round."""
    claims = read(pack, "Norway has offered to host further sessions, a diplomat said.")
    assert ("proposal", "NOR", "talks") in triples(claims)


def test_troops_kept_out_or_an_area_demilitarized_is_withdrawal(pack: RulesPack) -> None:
    """ "demanded that the strip be demilitarized", "refused to give up the positions it
    seized", "rejected any return of army units": where troops stand."""
    assert triples(read(pack, "Turkey demanded that the border strip be demilitarized.")) == {
        ("demand", "TUR", "troop_withdrawal")
    }
    assert triples(read(pack, "Armenia refused to give up the positions it took in May.")) == {
        ("rejection", "ARM", "troop_withdrawal")
    }
    assert triples(read(pack, "The SDF rejected any return of army units to Raqqa.")) == {
        ("rejection", "SDF", "troop_withdrawal")
    }


def test_a_place_a_thing_is_based_in_is_not_an_actor(pack: RulesPack) -> None:
    """ "according to a UK-based monitor": the monitor is not the UK, so the UK holds nothing
    said after it."""
    claims = read(
        pack,
        "The truce has largely held, according to the Observatory, a UK-based monitor.",
        "Government forces withdrew from the town under the truce.",
    )
    assert all(c.actor != "GBR" for c in claims)


def test_druze_leaders_are_an_actor(pack: RulesPack) -> None:
    """Druze leaders and their spiritual leader al-Hijri speak for a group of their own."""
    claims = read(pack, "Druze leaders have demanded that government forces stay out of Sweida.")
    assert triples(claims) == {("demand", "DRUZE", "troop_withdrawal")}


def test_only_after_names_the_price_of_a_commitment(pack: RulesPack) -> None:
    """ "would sign the treaty only after X", "will free them only once X": a demand for X, and
    no agreement yet; a past outcome "only after" stays done."""
    claims = read(
        pack,
        "Belgrade would sign the accord only after Kosovo lifted its tariffs on Serbian goods.",
    )
    assert triples(claims) == {("demand", "SRB", "sanctions")}
    claims = read(pack, "Kyiv will free the prisoners only once Russia returns the children.")
    assert triples(claims) == {("demand", "UKR", "children_return")}
    claims = read(pack, "Israel allowed aid trucks in only after Egypt pressed it.")
    assert ("fulfilment", "ISR", "humanitarian_aid") in triples(claims)


def test_a_name_inside_intra_or_inter_is_no_actor(pack: RulesPack) -> None:
    """ "intra-Palestinian talks", "inter-Korean talks": the name says whose talks, not who acts."""
    claims = read(
        pack, "Hamas said it would not join intra-Palestinian talks until the prisoners are freed."
    )
    assert {c.actor for c in claims} == {"HAMAS"}


def test_a_reduction_in_violence_or_a_drawdown(pack: RulesPack) -> None:
    """A "reduction in violence" is a (partial) ceasefire; a drawdown of troops a withdrawal."""
    assert triples(read(pack, "The SDF and Turkey agreed to a reduction in violence.")) == {
        ("agreement", "SDF", "ceasefire")
    }
    assert triples(read(pack, "France has carried out the first phase of its drawdown.")) == {
        ("fulfilment", "FRA", "troop_withdrawal")
    }


def test_them_before_to_is_who_is_asked(pack: RulesPack) -> None:
    """ "urged them to start talks": "them" is who is asked, the topic is what follows."""
    claims = read(
        pack,
        "Qatar said it was working on a list of prisoners, and urged them to start talks soon.",
    )
    assert ("demand", "QAT", "talks") in triples(claims)
    assert ("demand", "QAT", "prisoner_exchange") not in triples(claims)


def test_will_continue_the_truce_and_will_not_take_part(pack: RulesPack) -> None:
    """ "the truce would continue" commits to it; "would not take part in direct negotiations"
    or "would not attend the talks" refuses them."""
    assert triples(read(pack, "Ruto said the truce would continue.")) == {
        ("agreement", "KEN", "ceasefire")
    }
    assert triples(read(pack, "The ELN said it would not take part in direct negotiations.")) == {
        ("rejection", "ELN", "talks")
    }
    assert triples(read(pack, "The M23 said it would not attend the talks in Doha.")) == {
        ("rejection", "M23", "talks")
    }


def test_a_body_owned_by_a_pronoun_acts(pack: RulesPack) -> None:
    """ "his government wants", "their delegation rejected": the body acts (not "his demands")."""
    assert triples(read(pack, "Petro said his government wants a bilateral ceasefire.")) == {
        ("demand", "COL", "ceasefire")
    }


def test_a_plain_demand_or_refusal_of_no_listed_topic_is_other(pack: RulesPack) -> None:
    """ "called for an end to foreign interference", "will never accept an amnesty": the object
    names no topic of the pack's, so the claim's topic is "other" (labels accept any topic); a
    denial ("rejected the accusation"), a pronoun ("rejected it") or a topic further on gives
    no "other"."""
    claims = read(
        pack,
        "The ceasefire held overnight.",
        "Baghdad called for an end to Turkish interference in Iraqi affairs.",
        "Bogota will never accept an amnesty for the guerrilla commanders.",
    )
    assert {("demand", "IRQ", "other"), ("rejection", "COL", "other")} <= triples(claims)
    claims = read(
        pack,
        "The ceasefire held overnight.",
        "Thailand has rejected the accusation of shelling civilians.",
        "Phnom Penh rejected it outright.",
    )
    assert all(c.topic != "other" for c in claims)


def test_an_extraterritorial_corridor_is_territory(pack: RulesPack) -> None:
    """ "rejected demands for an extraterritorial corridor": territory."""
    claims = read(pack, "Tbilisi rejected Moscow's demands for an extraterritorial corridor.")
    assert ("rejection", "GEO", "territory") in triples(claims)


def test_a_monitoring_mechanism_is_mediation(pack: RulesPack) -> None:
    """ "pushes for a role in the monitoring mechanism": a third party's part in the deal."""
    assert triples(read(pack, "Egypt pushes for a seat on the monitoring committee")) == {
        ("demand", "EGY", "mediation")
    }


def test_the_named_idea_points_back(pack: RulesPack) -> None:
    """ "floated the corridor idea": the idea named before (here aid by a corridor)."""
    claims = read(
        pack,
        "Aid to the enclave would go through the Red Crescent, the ministry said.",
        "Turkish officials have floated the corridor idea in recent weeks.",
    )
    assert ("proposal", "TUR", "humanitarian_aid") in triples(claims)


def test_would_only_do_it_after_names_a_price_too(pack: RulesPack) -> None:
    """ "would only take effect after the restrictions were lifted": a demand for the lifting,
    which is not done, and the commitment waits on it."""
    claims = read(
        pack,
        "Tehran said the deal would only take effect after restrictions on Iranian banks were lifted.",
    )
    assert triples(claims) == {("demand", "IRN", "sanctions")}


def test_restrictions_on_ships_or_banks_are_sanctions(pack: RulesPack) -> None:
    """ "demanding that Western countries lift restrictions on Russian ships": sanctions."""
    claims = read(pack, "Minsk called for the EU to lift restrictions on Belarusian banks.")
    assert triples(claims) == {("demand", "BLR", "sanctions")}


def test_a_grain_corridor_is_aid_access(pack: RulesPack) -> None:
    """ "a deal to restart grain exports from the ports": the corridor is access (aid)."""
    claims = read(pack, "Ukraine will sign a grain corridor deal with Turkey on Friday.")
    assert ("agreement", "UKR", "humanitarian_aid") in triples(claims)


def test_other_needs_no_topic_word_in_the_post(pack: RulesPack) -> None:
    """A post with no topic word is read for a plain refusal of something else."""
    claims = read(pack, "Caracas said it would never accept foreign military intervention.")
    assert triples(claims) == {("rejection", "VEN", "other")}


def test_a_list_before_a_passive_outcome_gives_each_topic(pack: RulesPack) -> None:
    """ "prisoners of war, other detainees and the bodies of the dead are to be exchanged": the
    exchange covers the prisoners and the bodies."""
    claims = read(
        pack,
        "Sudan and the RSF said that detainees and the bodies of the dead would be exchanged.",
    )
    assert {c.topic for c in claims} == {"prisoner_exchange", "bodies_return"}


def test_stopping_attacks_of_any_kind_is_the_ceasefire(pack: RulesPack) -> None:
    """ "called on the Houthis to stop indiscriminate attacks": any one word before the attacks."""
    claims = read(
        pack,
        "The ceasefire held overnight.",
        "Washington called on the Houthis to stop indiscriminate attacks.",
    )
    assert ("demand", "USA", "ceasefire") in triples(claims)


def test_giving_away_ones_land_is_territory(pack: RulesPack) -> None:
    """ "will never give away its land", "will not gift their land": a refusal to cede territory."""
    assert triples(
        read(pack, "Georgia will never give away its land, the prime minister said.")
    ) == {("rejection", "GEO", "territory")}


def test_deal_with_is_a_verb(pack: RulesPack) -> None:
    """ "they'll have to deal with me": no deal is named, so no demand for peace terms."""
    claims = read(
        pack,
        "Serbia and Kosovo signed the treaty.",
        "If anybody breaks it, they'll have to deal with me, Trump said.",
    )
    assert triples(claims) == {("agreement", "SRB", "peace_terms")}


def test_for_someone_to_do_it_names_who_does_it(pack: RulesPack) -> None:
    """ "starting the countdown for Hamas to release the hostages": Hamas is to release them."""
    claims = read(
        pack,
        "The army completed its pullback, starting the countdown for the Houthis to free 40 detainees.",
    )
    assert ("agreement", "HOUTHIS", "prisoner_exchange") in triples(claims)


def test_a_denial_of_media_reports_undoes_what_they_report(pack: RulesPack) -> None:
    """ "denied Greek media reports that it had accepted a proposal": words between the denial
    and "reports" still deny (no agreement, and nobody named in them agrees)."""
    claims = read(
        pack,
        "The aid corridor was discussed.",
        "Turkey's Foreign Ministry denied Greek media reports that it had accepted a proposal to"
        " open a humanitarian corridor.",
    )
    assert all(c.kind != "agreement" for c in claims)


def test_a_name_after_of_the_is_an_object(pack: RulesPack) -> None:
    """ "under the supervision of the UN refugee agency", "on the sidelines of the UN General
    Assembly": the name is no subject for what comes next ("of" after a title still is not an
    object: "Secretary of State Rubio", "the leaders of Thailand and Cambodia")."""
    claims = read(
        pack,
        "Refugees will return under the supervision of the UN refugee agency.",
        "Prisoners and bodies are to be exchanged.",
    )
    assert all(c.actor != "UNHCR" for c in claims)
    claims = read(pack, "The leaders of Thailand and Cambodia agreed to a ceasefire.")
    assert triples(claims) == {("agreement", "KHM", "ceasefire")}


def test_a_participle_describing_a_topic_is_background(pack: RulesPack) -> None:
    """ "A truce agreed in March collapsed in August", "the ceasefire signed in Doha": the thing
    described, no agreement now ("Russia and Ukraine agreed in March to a truce" still is)."""
    assert read(pack, "A humanitarian truce agreed in March collapsed in August, Kenya said.") == []
    assert read(pack, "The ceasefire signed in Doha collapsed, the UN said.") == []
    assert triples(read(pack, "Russia and Ukraine agreed in March to a truce.")) == {
        ("agreement", "RUS", "ceasefire")
    }


def test_a_return_to_old_lines_is_withdrawal(pack: RulesPack) -> None:
    """ "would return to the 1967 lines", "a retreat to pre-war positions": troops pulled back."""
    claims = read(pack, "The truce held.", "Israel said it would return to the 1967 lines.")
    assert ("agreement", "ISR", "troop_withdrawal") in triples(claims)


def test_a_demand_is_simple_names_no_object(pack: RulesPack) -> None:
    """ "Our demand is simple: ...": "is simple" is no object, so no "other" claim."""
    claims = read(pack, "The truce held.", '"Our demand is simple: respect," Abbas said.')
    assert all(c.topic != "other" for c in claims)


def test_restoring_basic_services_is_aid(pack: RulesPack) -> None:
    """ "called on the government to restore electricity and banking", "the restoration of basic
    services": relief for the population (labels accept any topic there)."""
    claims = read(
        pack,
        "The SPLM-IO called on the government to restore electricity and banking in Upper Nile.",
    )
    assert triples(claims) == {("demand", "SPLM_IO", "humanitarian_aid")}


def test_ghani_is_kabul_and_abdul_ghani_baradar_the_taliban(pack: RulesPack) -> None:
    """The longer name wins: in 2020 "Mullah Abdul Ghani Baradar" speaks for the Taliban, "Ghani"
    alone (Ashraf Ghani) for the Afghan government (see test_pack for the dates)."""
    then = datetime.fromisoformat("2020-03-03T10:00:00+04:30")
    assert triples(read(pack, "Ghani said the truce would continue.", published=then)) == {
        ("agreement", "AFG", "ceasefire")
    }
    baradar = "Abdul Ghani Baradar said the truce would continue."
    assert triples(read(pack, baradar, published=then)) == {("agreement", "TALIBAN", "ceasefire")}


def test_an_ombudsman_speaks_for_the_state(pack: RulesPack) -> None:
    """ "Serbia's human rights ombudsman, X, called on ...": a state's ombudsman, commissioner
    or rights defender speaks for it (a title after the possessive)."""
    claims = read(
        pack,
        "Serbia's human rights ombudsman, Zoran Pasalic, called on Pristina to return all prisoners.",
    )
    assert triples(claims) == {("demand", "SRB", "prisoner_exchange")}


def test_what_a_deal_provided_for_and_an_opened_crossing(pack: RulesPack) -> None:
    """ "the accord provided for a withdrawal ... and the opening of the border crossing": past
    forms of the deal's terms; opening a crossing is access (aid)."""
    claims = read(
        pack,
        "The M23 said the accord provided for a full Congolese withdrawal from Goma and the"
        " opening of the Bunagana border crossing.",
    )
    assert triples(claims) == {
        ("agreement", "M23", "troop_withdrawal"),
        ("agreement", "M23", "humanitarian_aid"),
    }


def test_an_invitation_is_read_in_a_post_with_no_topic_word(pack: RulesPack) -> None:
    """ "Erdogan invited Putin to a signing ceremony in Istanbul": the leaders' meeting is found
    from the two leaders, so a post with no topic word is read when it says "invit"."""
    claims = read(pack, "Erdogan invited Putin to a signing ceremony in Istanbul.")
    assert triples(claims) == {("proposal", "TUR", "leaders_meeting")}


def test_a_grain_agreement_is_aid_access(pack: RulesPack) -> None:
    """ "will sign the grain agreement": the corridor deal (aid access), whatever its noun."""
    claims = read(pack, "Kubrakov will sign the grain agreement on Ukraine's behalf.")
    assert triples(claims) == {("agreement", "UKR", "humanitarian_aid")}


def test_a_reported_clause_with_its_own_unknown_subject_is_not_the_reporters(
    pack: RulesPack,
) -> None:
    """ "Norway said the rebel commanders had agreed to a ceasefire": the clause has a subject of
    its own, people the pack does not know; the reporter is not the holder, and nobody is."""
    assert read(pack, "Norway said the rebel commanders had agreed to a ceasefire.") == []


def test_the_two_delegations_a_mediator_reports_are_the_posts_two_sides(pack: RulesPack) -> None:
    """ "The African Union said the two military delegations had agreed to a ceasefire": an
    agreement between the post's two sides, not by the mediator who reports it."""
    claims = read(
        pack,
        "Ethiopia and the TPLF met in Pretoria.",
        "The African Union said the two military delegations had agreed to a ceasefire.",
    )
    [claim] = claims
    assert (claim.kind, claim.topic, claim.parties) == ("agreement", "ceasefire", ("ETH", "TPLF"))
