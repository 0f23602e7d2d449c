"""Determinism: the same events give byte-identical state and rows, across dump/load at any point."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.views.state import ViewState
from tests.views._script import fold, post, projection
from tests.views._seed import published, recorded, revised, withdrawn

ACTORS = ("RUS", "UKR", "TUR", "USA")
TOPICS = ("ceasefire", "prisoner_exchange", "bodies_return", "leaders_meeting", "*")
KINDS = ("demand", "proposal", "rejection", "agreement", "fulfilment")

claim_line = st.builds(
    lambda k, a, t, p, c: f"{k} {a} {t} parties={p}" + (f" count={c}" if c else ""),
    st.sampled_from(KINDS),
    st.sampled_from(ACTORS),
    st.sampled_from(TOPICS),
    st.sampled_from(ACTORS),
    st.sampled_from((0, 100, 1000)),
)
step = st.tuples(
    st.sampled_from(("publish", "revise", "withdraw")),
    st.sampled_from(("p1", "p2", "p3", "p4", "p5")),
    st.lists(claim_line, max_size=4),
    st.integers(min_value=0, max_value=60 * 24 * 20),
)


def _events(steps: list[tuple[str, str, list[str], int]]) -> list[Any]:
    current: dict[str, Any] = {}
    out: list[Any] = []
    for action, pid, lines, minutes in steps:
        p = post(pid, *lines, minutes=minutes)
        if action == "publish" or pid not in current:
            out.append(published(p))
        elif action == "revise":
            out.append(revised(p, current[pid]))
        else:
            out.append(withdrawn(current[pid]))
        current[pid] = p
    return out


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(step, max_size=25), st.integers(min_value=1, max_value=6))
def test_same_events_twice_give_identical_state_and_rows(steps, window):
    """Two folds of the same events give byte-identical state dumps and rows."""
    events = recorded(_events(steps))
    proj = projection(revision_window=window)
    s1, r1 = fold(proj, events)
    s2, r2 = fold(proj, events)
    assert _canonical(proj.dump_state(s1)) == _canonical(proj.dump_state(s2))
    assert _canonical(r1) == _canonical(r2)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(step, max_size=25),
    st.integers(min_value=0, max_value=25),
    st.integers(min_value=1, max_value=6),
)
def test_dump_and_load_mid_stream_changes_nothing(steps, cut, window):
    """Saving the state as JSON and loading it at any point gives the same final state and rows."""
    events = recorded(_events(steps))
    cut = min(cut, len(events))
    proj = projection(revision_window=window)
    whole_state, whole_rows = fold(proj, events)

    first_state, first_rows = fold(proj, events[:cut])
    saved = json.loads(_canonical(proj.dump_state(first_state)))  # as the store keeps it
    state: ViewState = proj.load_state(saved)
    merged = {
        v: dict(first_rows.get(v, {})) for v in ("open_demands", "agreed_exchanges", "proposals")
    }
    for event in events[cut:]:
        state, changes = proj.apply(state, event)
        for change in changes:
            if change.row is None:
                merged[change.view].pop(change.key, None)
            else:
                merged[change.view][change.key] = dict(change.row)
    assert _canonical({v: t for v, t in merged.items() if t}) == _canonical(whole_rows)
    assert _canonical(proj.dump_state(state)) == _canonical(proj.dump_state(whole_state))


@settings(max_examples=40, deadline=None)
@given(st.lists(step, max_size=25))
def test_rows_from_changes_equal_rows_rendered_from_the_final_state(steps):
    """Emitted changes never drift from the state: applying them gives what the state renders."""
    events = recorded(_events(steps))
    proj = projection(revision_window=3)
    state, rows = fold(proj, events)
    rendered: dict[str, dict[str, Any]] = {}
    for view in ("open_demands", "agreed_exchanges", "proposals"):
        for key in state.table(view):
            row = proj.render(state, view, key)
            if row is not None:
                rendered.setdefault(view, {})[key] = row
    assert _canonical(rendered) == _canonical(rows)


@settings(max_examples=60, deadline=None)
@given(st.lists(step, max_size=25))
def test_revisions_and_withdrawals_leave_what_the_final_versions_say(steps):
    """After any history of revisions and withdrawals, demands and proposals are exactly those of
    the posts' final versions, published once each (provenance aside: it names the revisions)."""
    # one fixed time per post, so "latest" never depends on which event carried the text
    steps = [(a, pid, lines, int(pid[1:]) * 10) for a, pid, lines, _ in steps]
    history = _events(steps)
    final: dict[str, Any] = {}
    for ev in history:
        if type(ev).__name__ == "PostWithdrawn":
            final.pop(ev.post_id, None)
        else:
            final[ev.post.post_id] = ev.post
    proj = projection(revision_window=100)
    _, replayed = fold(proj, recorded(history))
    _, fresh = fold(proj, recorded([published(p) for _, p in sorted(final.items())]))

    def strip(rows: dict[str, Any]) -> dict[str, Any]:
        return {
            view: {
                k: {c: v for c, v in row.items() if c != "provenance"}
                for k, row in rows.get(view, {}).items()
            }
            for view in ("open_demands", "proposals")
        }

    assert _canonical(strip(replayed)) == _canonical(strip(fresh))
