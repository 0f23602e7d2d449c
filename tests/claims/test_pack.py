"""The rules pack: what the packaged files hold, how users extend them, and errors that name
the file and line."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from monitor.claims import RulesPack, extract, load_pack
from monitor.errors import ConfigError
from monitor.posts import Post

SPEC_TOPICS = {
    "ceasefire", "prisoner_exchange", "bodies_return", "children_return", "leaders_meeting", "talks",
    "peace_terms", "sanctions", "mediation", "humanitarian_aid", "troop_withdrawal",
    "security_guarantees", "territory",
}  # fmt: skip


def test_packaged_pack_knows_every_un_member_state(pack: RulesPack) -> None:
    """193 member states, the two observers and the organisations and groups the spec names."""
    states = [a for a in pack.actors.values() if a.kind == "state"]
    assert len(states) == 193
    assert {
        "PSE",
        "VAT",
        "NATO",
        "EU",
        "UN",
        "G7",
        "ICRC",
        "OSCE",
        "AU",
        "ARAB_LEAGUE",
        "IAEA",
        "HAMAS",
        "HEZBOLLAH",
        "HOUTHIS",
    } <= set(pack.actors)
    # the spec's topics, and one it lacks that labels accept as any topic ("*"): disarmament
    assert set(pack.topics) == SPEC_TOPICS | {"disarmament"}


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Kyiv", "UKR"),
        ("the Kremlin", "RUS"),
        ("Ankara", "TUR"),
        ("Qatari", "QAT"),
        ("Witkoff", "USA"),
        ("Erdogan", "TUR"),
        ("Palestinians", "PSE"),
    ],
)
def test_names_demonyms_capitals_and_people_name_actors(
    pack: RulesPack, name: str, code: str
) -> None:
    """A state is named by its name, demonym, capital and its people."""
    [claim] = extract(Post(post_id="p", title=f"{name} called for a ceasefire."), pack)
    assert claim.actor == code


def test_user_actor_file_adds_aliases_to_a_known_code(tmp_path: Path) -> None:
    """An --actors entry for a known code adds aliases; a new code adds an actor."""
    extra = tmp_path / "mine.yaml"
    extra.write_text(
        "UKR:\n  aliases: [Budanova]\nWAGNERITES:\n  name: Wagnerites\n  kind: group\n",
        encoding="utf-8",
    )
    pack = load_pack(actor_files=[extra])
    [claim] = extract(Post(post_id="p", title="Budanova called for a ceasefire."), pack)
    assert claim.actor == "UKR"
    assert pack.actors["WAGNERITES"].kind == "group"


def _said(pack: RulesPack, text: str, day: str | None) -> list[str]:
    published = datetime.fromisoformat(f"{day}T12:00:00+00:00") if day else None
    return [c.actor for c in extract(Post(post_id="p", title=text, published=published), pack)]


def test_a_dated_name_speaks_for_the_actor_of_the_posts_time(tmp_path: Path) -> None:
    """Under `periods:`, a name is its period's code for a post published then (since inclusive,
    until exclusive), its undated code outside every period, nobody where it has none; a post
    with no time reads the latest period's code."""
    extra = tmp_path / "mine.yaml"
    extra.write_text(
        "UKR:\n  people: [Kovalenko]\n"
        "  periods:\n    - {until: 2019-05-20, leaders: [Hrytsenko]}\n"
        "RUS:\n  periods:\n    - {since: 2019-05-20, until: 2022-02-24, people: [Kovalenko]}\n"
        "    - since: 2022-02-24\n      people: [Hrytsenko]\n",
        encoding="utf-8",
    )
    pack = load_pack(actor_files=[extra])
    said = "{} called for a ceasefire."
    assert _said(pack, said.format("Kovalenko"), "2019-05-19") == ["UKR"]  # undated
    assert _said(pack, said.format("Kovalenko"), "2019-05-20") == ["RUS"]  # since: inclusive
    assert _said(pack, said.format("Kovalenko"), "2022-02-24") == ["UKR"]  # until: exclusive
    assert _said(pack, said.format("Hrytsenko"), "2019-05-19") == ["UKR"]
    assert _said(pack, said.format("Hrytsenko"), "2020-06-01") == []  # nobody's then
    assert _said(pack, said.format("Hrytsenko"), "2023-01-01") == ["RUS"]
    assert _said(pack, said.format("Hrytsenko"), None) == ["RUS"]  # the latest period
    assert _said(pack, said.format("Kovalenko"), None) == ["UKR"]  # its undated code
    assert "hrytsenko" in pack.leaders  # a period's leaders are leaders


def test_packaged_people_who_changed_sides_follow_the_posts_day(pack: RulesPack) -> None:
    """Taliban negotiators are TALIBAN before they took Kabul and AFG after; Ghani's government
    is AFG until then; al-Sharaa is HTS, then SYR."""
    said = "{} called for a ceasefire."
    assert _said(pack, said.format("Mullah Baradar"), "2020-02-29") == ["TALIBAN"]
    assert _said(pack, said.format("Mullah Baradar"), "2023-01-10") == ["AFG"]
    assert _said(pack, said.format("Ashraf Ghani"), "2020-03-10") == ["AFG"]
    assert _said(pack, said.format("Ashraf Ghani"), "2023-01-10") == []
    assert _said(pack, said.format("Jolani"), "2020-03-05") == ["HTS"]
    assert _said(pack, said.format("al-Sharaa"), "2025-07-20") == ["SYR"]
    assert _said(pack, said.format("Assad"), "2016-12-20") == ["SYR"]
    assert _said(pack, said.format("Assad"), "2025-07-20") == []


def test_user_rules_dir_adds_topics_and_patterns(tmp_path: Path) -> None:
    """A rules directory adds a topic and a cue with no code change."""
    (tmp_path / "topics.yaml").write_text(
        "fishing_rights:\n  cues: [fishing rights, 'fishing quotas?']\n", encoding="utf-8"
    )
    (tmp_path / "patterns.yaml").write_text(
        'cues:\n  - {kind: demand, rule: clamour-for, match: "clamou?r(?:s|ed)? for"}\n',
        encoding="utf-8",
    )
    pack = load_pack(rules_dirs=[tmp_path])
    [claim] = extract(Post(post_id="p", title="Turkey clamoured for fishing rights."), pack)
    assert (claim.kind, claim.actor, claim.topic, claim.rule) == (
        "demand",
        "TUR",
        "fishing_rights",
        "clamour-for",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("UKR:\n  aliases: [Kyiv\n", "mine.yaml line 3: not valid YAML"),
        ("UKR:\n  aliases: [Kyiv]\n  nick: Ukr\n", "mine.yaml line 3: unknown key 'nick'"),
        ("ukr:\n  aliases: [Kyiv]\n", "mine.yaml line 1: actor code 'ukr'"),
        (
            "UKR:\n  aliases: [Kyiv, 12, '']\n",
            "mine.yaml line 2: aliases of UKR must hold non-empty text",
        ),
        ("UKR:\n  name: Ukraine\n  kind: country\n", "mine.yaml line 3: kind of UKR"),
        (
            "UKR:\n  aliases: [Kyiv]\nUKR:\n  aliases: [Kiev]\n",
            "mine.yaml line 3: 'UKR' appears twice",
        ),
        ("- UKR\n", "mine.yaml line 1: an actors file must be a mapping"),
        (
            "UKR:\n  periods: {since: 2020-01-01}\n",
            "mine.yaml line 2: periods of UKR must be a list",
        ),
        (
            "UKR:\n  periods:\n    - {since: 2020-01-01, people: [Kuleba], role: x}\n",
            "mine.yaml line 3: unknown key 'role'",
        ),
        (
            "UKR:\n  periods:\n    - people: [Kuleba]\n      since: 1/3/2020\n",
            "mine.yaml line 4: since of a period of UKR must be a day: YYYY-MM-DD",
        ),
        (
            "UKR:\n  periods:\n    - {until: 2021-02-30, people: [Kuleba]}\n",
            "mine.yaml line 3: until of a period of UKR: no such day 2021-02-30",
        ),
        (
            "UKR:\n  periods:\n    - {since: 2022-01-01, until: 2021-01-01, people: [Kuleba]}\n",
            "mine.yaml line 3: a period of UKR must end after it starts",
        ),
        ("UKR:\n  periods:\n    - {people: [Kuleba]}\n", "mine.yaml line 3: a period of UKR needs"),
        (
            "UKR:\n  periods:\n    - {since: 2020-01-01}\n",
            "mine.yaml line 3: a period of UKR names",
        ),
    ],
)
def test_actor_file_mistakes_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    """Each mistake in an actors file is a ConfigError naming the file and the line."""
    extra = tmp_path / "mine.yaml"
    extra.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_pack(actor_files=[extra])
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "patterns.yaml",
            'cues:\n  - {kind: demand, rule: x, match: "call(s for"}\n',
            "patterns.yaml line 2: not a valid pattern",
        ),
        (
            "patterns.yaml",
            "cues:\n  - {kind: plea, rule: x, match: plead}\n",
            "patterns.yaml line 2: kind must be one of",
        ),
        (
            "patterns.yaml",
            "cues:\n  - {kind: demand, match: plead}\n",
            "patterns.yaml line 2: a cue needs 'rule'",
        ),
        (
            "patterns.yaml",
            "cues:\n  - {kind: demand, rule: x, match: plead, topics: [grain]}\n",
            "patterns.yaml line 2: unknown topic 'grain'",
        ),
        (
            "patterns.yaml",
            "markers:\n  negation: [nope]\n  mood: [x]\n",
            "patterns.yaml line 3: unknown key 'mood'",
        ),
        ("topics.yaml", "Grain:\n  cues: [grain]\n", "topics.yaml line 1: topic 'Grain'"),
        (
            "topics.yaml",
            'grain:\n  cues:\n    - grain\n    - "(unclosed"\n',
            "topics.yaml line 4: not a valid pattern",
        ),
    ],
)
def test_rules_dir_mistakes_name_file_and_line(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    """Mistakes in a user's topics or patterns file are ConfigErrors naming the file and line."""
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_pack(rules_dirs=[tmp_path])
    assert message in str(err.value)


def test_missing_files_and_dirs_are_config_errors(tmp_path: Path) -> None:
    """A missing actors file or rules directory, or an empty one, is a clear error."""
    with pytest.raises(ConfigError, match=r"nope\.yaml: no such file"):
        load_pack(actor_files=[tmp_path / "nope.yaml"])
    with pytest.raises(ConfigError, match="rules directory not found"):
        load_pack(rules_dirs=[tmp_path / "nowhere"])
    with pytest.raises(ConfigError, match="holds none of"):
        load_pack(rules_dirs=[tmp_path])
