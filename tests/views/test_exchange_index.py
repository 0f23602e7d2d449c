"""The exchange index finds exactly the rows whose parties contain, or are contained in, a mention's."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from monitor.views.exchange_index import ExchangeIndex

PARTIES = ("HAMAS", "ISR", "QAT", "RUS", "UKR", "USA", "EGY", "TUR")
party_set = st.sets(st.sampled_from(PARTIES), min_size=1, max_size=8).map(
    lambda s: tuple(sorted(s))
)


@given(st.lists(party_set, max_size=30), party_set, st.sets(st.integers(0, 29)))
def test_candidates_are_exactly_the_containing_or_contained_rows(rows, wanted, removed):
    """Against a brute-force scan, with some rows removed again, for any party-set sizes."""
    index = ExchangeIndex()
    for i, parties in enumerate(rows):
        index.add("prisoner_exchange", parties, f"row{i}")
        index.add("bodies_return", parties, f"other{i}")
    for i in removed:
        if i < len(rows):
            index.remove("prisoner_exchange", rows[i], f"row{i}")
    expected = {
        f"row{i}"
        for i, parties in enumerate(rows)
        if i not in removed and (set(parties) <= set(wanted) or set(wanted) <= set(parties))
    }
    assert index.candidates("prisoner_exchange", wanted) == expected
