"""Attributes read from text: numbers, ranges, durations, categories and deadlines."""

from __future__ import annotations

from datetime import datetime

import pytest

from monitor.claims.attrs import (
    attrs_for,
    find_categories,
    find_count,
    find_deadline,
    find_duration,
    parse_number,
)

MONDAY = datetime.fromisoformat("2025-06-02T17:32:00+01:00")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("6,000", 6000),
        ("two", 2),
        ("twenty-five", 25),
        ("two thousand", 2000),
        ("a hundred", 100),
        ("1,200", 1200),
    ],
)
def test_numbers_in_digits_and_words_are_read(text: str, value: int) -> None:
    """Numbers come in digits with separators or in words, including compounds and scales."""
    assert parse_number(text) == value


def test_count_skips_durations_ages_years_and_the_two_sides() -> None:
    """A count is a number of things, not "30 days", "under 25", "2022" or "the two sides"."""
    text = "the two sides agreed in 2022, after 30 days, to free those under 25 and 1,200 prisoners"
    assert find_count(text) == 1200


def test_vague_quantities_are_kept_as_words() -> None:
    """ "hundreds of children" has a count of "hundreds"."""
    assert find_count('this concerns "hundreds" of children') == "hundreds"


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("a two-to-three day truce", "P2D/P3D"),
        ("a two to three day ceasefire", "P2D/P3D"),
        ("a two-three day ceasefire", "P2D/P3D"),
        ("a 30-day ceasefire", "P30D"),
        ("for at least 30 days", "P30D"),
        ("a 30-hour truce", "PT30H"),
        ("a six-week first phase", "P6W"),
    ],
)
def test_durations_and_ranges_become_iso_8601(text: str, iso: str) -> None:
    """Durations are ISO 8601; a range keeps both ends as START/END."""
    assert find_duration(text) == iso


def test_categories_of_prisoners_are_named() -> None:
    """Seriously wounded, sick, an age limit and an age range are categories."""
    found = find_categories(
        "all sick and heavy wounded prisoners and those younger than 25, aged 18-25"
    )
    assert found == ["seriously wounded", "sick", "under 25", "aged 18-25"]


@pytest.mark.parametrize(
    ("text", "due"),
    [
        ("the bodies will be returned next week", "2025-06-15"),
        ("a meeting should happen by the end of the month", "2025-06-30"),
        ("within 30 days", "2025-07-02"),
        ("by Friday", "2025-06-06"),
        ("by 20 January", "2026-01-20"),
        ("by June 10", "2025-06-10"),
        ("tomorrow", "2025-06-03"),
    ],
)
def test_deadlines_resolve_against_the_post_time(text: str, due: str) -> None:
    """Deadlines become the last date they allow, counted from the post's publication time."""
    found = find_deadline(text, MONDAY)
    assert found["due"] == due
    assert found["due_text"] in text


def test_deadline_without_publication_time_keeps_only_the_words() -> None:
    """No clock is read: without `published` only the phrase is kept."""
    assert find_deadline("next week", None) == {"due_text": "next week"}


def test_ceasefire_attributes_hold_duration_scope_and_conditions() -> None:
    """A ceasefire's duration, scope and unconditional flag are attributes."""
    attrs = attrs_for(
        "ceasefire", 'an unconditional two-to-three day truce "in certain areas"', MONDAY
    )
    assert attrs == {"duration": "P2D/P3D", "scope": "partial", "unconditional": True}


def test_exchange_attributes_hold_count_and_categories() -> None:
    """A prisoner exchange keeps the count and the categories of people."""
    attrs = attrs_for(
        "prisoner_exchange", "release 1,000 prisoners, including women and the wounded", MONDAY
    )
    assert attrs["count"] == 1000
    assert attrs["categories"] == ["wounded", "women"]


def test_sanctions_direction_is_impose_or_lift() -> None:
    """Lifting or easing sanctions is direction lift; calling for more is impose."""
    assert attrs_for("sanctions", "the easing of economic sanctions", None)["direction"] == "lift"
    assert attrs_for("sanctions", "further sanctions against Russia", None)["direction"] == "impose"
