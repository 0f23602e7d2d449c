"""The negotiation projection: a fold of post events into the three views, claims read inside it.

`apply(state, event) -> (state, changes)` is dispatched on the stored event type (a dict, so the
events of packages this one does not import never need decoding). A published post's claims are
read with the extractor given to the constructor and counted as mentions; a revised post first
takes back every mention its previous version made; a withdrawn post takes back its mentions and
adds none. Each post counts at most once per row. Posts leave the revision window (the newest
`revision_window` posts) in the order they were first seen: their mentions stay counted but can no
longer be taken back, which keeps the state's size flat however long the log grows.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.claims.model import Claim
from monitor.events import PostWithdrawn
from monitor.posts import Post
from monitor.views import demands, exchanges, proposals, responses
from monitor.views.aggregate import (
    AddFn,
    bucket_is_empty,
    bucket_recompute,
    bucket_remove,
    new_bucket,
)
from monitor.views.errors import ViewError
from monitor.views.firmness import READINESS_RULES, STANCE_RULES, demanded_firmly, firmness
from monitor.views.mentions import Mention, group_claims, merge_into, post_key, post_time_of
from monitor.views.parallel import ExtractPool
from monitor.views.state import FORMAT, VIEWS, ViewState
from store.records import JSONValue, RecordedEvent, RowChange

Extractor = Callable[[Post], Sequence[Claim]]

_ADD: dict[str, AddFn] = {
    demands.VIEW: demands.add,
    proposals.VIEW: proposals.add,
    exchanges.VIEW: exchanges.add,
    responses.GROUP: responses.add,
}
_EMPTY = {
    demands.VIEW: demands.empty,
    proposals.VIEW: proposals.empty,
    exchanges.VIEW: exchanges.empty,
    responses.GROUP: responses.empty,
}
_KEYS: dict[str, Callable[[Claim], Iterable[Any]]] = {
    demands.VIEW: demands.keys_of,
    proposals.VIEW: proposals.keys_of,
    responses.GROUP: responses.keys_of,
    exchanges.VIEW: exchanges.group_keys,
}
_GROUPS_OF_KIND: dict[str, tuple[str, ...]] = {
    "demand": (demands.VIEW,),
    "proposal": (proposals.VIEW,),
    "rejection": (responses.GROUP,),
    "agreement": (responses.GROUP, exchanges.VIEW),
    "fulfilment": (responses.GROUP, exchanges.VIEW),
}
"""The only groups whose `_KEYS` function gives a claim of each kind a key (the others return
none for it), in `_KEYS` order: `group_claims` asks just these."""
LONG_READ = 1_000
"""Events from which a read counts as long (a catch-up, a replay): see `prefetch`."""
GC_YOUNG = 20_000
"""Allocations between two young garbage collections while a long read is folded."""
_gc_lock = threading.Lock()
_gc_readers = 0
_gc_before: tuple[int, int, int] | None = None


def young_collections_spaced(events: Iterable[RecordedEvent]) -> Iterator[RecordedEvent]:
    """`events`, with CPython's young garbage collections `GC_YOUNG` allocations apart (instead
    of 700) while they are iterated; the thresholds are put back after the last long read ends.

    The fold makes and drops many small dicts and lists a post, and keeps some (the mentions)
    for thousands of posts. At 700 allocations, the collector often scans them while they are
    still in use and moves the kept ones into the older generations early, which makes the full
    collections over the whole state come more often: 10 to 20 % of a replay's CPU. Nothing in
    the fold relies on cycles being collected; it only spaces the scans out.
    """
    global _gc_readers, _gc_before  # noqa: PLW0603 - the process's one garbage collector
    with _gc_lock:
        if _gc_readers == 0:
            _gc_before = gc.get_threshold()
            if 0 < _gc_before[0] < GC_YOUNG:
                gc.set_threshold(GC_YOUNG, *_gc_before[1:])
        _gc_readers += 1
    try:
        yield from events
    finally:
        with _gc_lock:
            _gc_readers -= 1
            if _gc_readers == 0 and _gc_before is not None:
                gc.set_threshold(*_gc_before)
                _gc_before = None


DAY = 86_400
_SWEEP_EVERY = 1_000  # posts between two looks for exchange rows that can no longer change


@dataclass(slots=True)
class _Touched:
    rows: set[tuple[str, str]] = field(default_factory=set)  # view rows to render again
    topics: set[str] = field(default_factory=set)  # topics whose response signature may change


class NegotiationProjection:
    """Open demands, agreed exchanges and proposals, folded from PostPublished/Revised/Withdrawn.

    `extract` reads a post into claims (`monitor.claims.extract` with a rules pack bound); it must
    be deterministic. `revision_window` is how many of the newest posts can still be revised or
    withdrawn with effect; `agree_window_days` how far apart two agreements may be seen and still
    be one exchange; `fulfil_window_days` how long after its last agreement an exchange can still
    be carried out; `stance_rules` and `readiness_rules` the cues (claim `rule` names) that state
    a position less than firmly (`monitor.views.firmness`). Changing any of them changes the
    views: rebuild them after a change.
    """

    def __init__(
        self,
        extract: Extractor,
        *,
        name: str = "negotiation",
        revision_window: int = 2_000,
        agree_window_days: int = 7,
        fulfil_window_days: int = 60,
        stance_rules: Iterable[str] = STANCE_RULES,
        readiness_rules: Iterable[str] = READINESS_RULES,
        pool: ExtractPool | None = None,
    ) -> None:
        if revision_window < 1:
            raise ValueError("revision_window must be at least 1")
        self.name = name
        self._extract = extract
        self._window = revision_window
        self._agree = agree_window_days * DAY
        self._fulfil = fulfil_window_days * DAY
        self._stance = frozenset(stance_rules)
        self._readiness = frozenset(readiness_rules)
        self.pool = pool
        self._deferred: _Touched | None = None  # rows touched by apply_deferred, not yet rendered
        self._early: list[RowChange] = []  # their changes rendered before a row left the state
        self.options = {
            "revision_window": revision_window,
            "agree_window_days": agree_window_days,
            "fulfil_window_days": fulfil_window_days,
            "stance_rules": sorted(self._stance),
            "readiness_rules": sorted(self._readiness),
        }
        self._handlers: dict[str, Callable[[ViewState, RecordedEvent, _Touched], None]] = {
            "PostPublished": self._on_post,
            "PostRevised": self._on_post,
            "PostWithdrawn": self._on_withdrawn,
        }

    # Projection protocol -------------------------------------------------------------------
    def prefetch(
        self, events: Iterable[RecordedEvent], *, expected: int | None = None
    ) -> Iterable[RecordedEvent]:
        """`events` as they are, their posts read ahead by the projection's `ExtractPool` when it
        has one and the read is long (`monitor.views.parallel`); fold them in this order.

        While a long read (`expected` at least `LONG_READ` events) is iterated, the garbage
        collector's young collections are spaced out (`young_collections_spaced`)."""
        if expected is not None and expected >= LONG_READ:
            events = young_collections_spaced(events)
        if self.pool is None:
            return events
        return self.pool.prefetch(events, expected=expected)

    def initial_state(self) -> ViewState:
        """The state before any event."""
        self._deferred, self._early = None, []
        return ViewState.empty(self.options)

    def apply(self, state: ViewState, event: RecordedEvent) -> tuple[ViewState, list[RowChange]]:
        """Fold one event; return the state and the rows it changed (sorted by view and key)."""
        handler = self._handlers.get(event.event_type)
        if handler is None:
            return state, []
        touched = _Touched()
        handler(state, event, touched)
        return state, self._flush(state, touched)

    def apply_deferred(self, state: ViewState, event: RecordedEvent) -> ViewState:
        """Fold one event without rendering its rows; `flush_changes` renders them, once per row.

        For a caller that keeps only the last change of each row (the runner's batch without an
        alerts hook, a replay): a row touched by a thousand events of a batch is rendered once.
        The rows after `flush_changes` are those `apply` would have left, event by event.
        """
        handler = self._handlers.get(event.event_type)
        if handler is not None:
            if self._deferred is None:
                self._deferred = _Touched()
            handler(state, event, self._deferred)
        return state

    def flush_changes(self, state: ViewState) -> list[RowChange]:
        """The rows changed since the last flush (by `apply_deferred`), each once, as it is now."""
        early, self._early = self._early, []
        touched, self._deferred = self._deferred, None
        if touched is None:
            return early
        return early + self._flush(state, touched)

    def dump_state(self, state: ViewState) -> JSONValue:
        """The state as JSON data for the checkpoint."""
        return state.dump()

    def load_state(self, data: Any) -> ViewState:
        """A state from `dump_state`'s data (None gives the initial state).

        Raises `ViewError` when the data was saved by an incompatible version.
        """
        self._deferred, self._early = None, []
        if data is None:
            return self.initial_state()
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            found = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise ViewError(
                f"projection {self.name!r}: saved state has format {found!r}, this version reads "
                f"format {FORMAT}; rebuild the views with `parley views --rebuild`"
            )
        if data.get("options") != self.options:
            raise ViewError(
                f"projection {self.name!r}: the views were built with {data.get('options')}, "
                f"not {self.options}; rebuild them with `parley views --rebuild`"
            )
        state = ViewState.load(data)
        for view in VIEWS:
            for key in state.table(view):
                row = self.render(state, view, key)
                if row is not None:
                    state.emitted[(view, key)] = row
        return state

    # Reading -------------------------------------------------------------------------------
    def render(self, state: ViewState, view: str, key: str) -> dict[str, Any] | None:
        """The row `key` of `view` as it stands in `state`, or None when it has no row."""
        bucket = state.table(view).get(key)
        if bucket is None:
            return None
        if view == exchanges.VIEW:
            row = exchanges.render(key, bucket)
        elif view == demands.VIEW:
            row = demands.render(key, bucket, state.topic_sig.get(demands.topic_of(key), ()))
        else:
            row = proposals.render(
                key,
                bucket,
                state.topic_sig.get(proposals.topic_of(key), ()),
                demanded=self._demands_itself(state, key),
            )
        return None if row is None else {"key": key, **row}

    @staticmethod
    def _demands_itself(state: ViewState, proposal_key: str) -> bool:
        """True when the proposal's actor demands the same topic firmly (`demanded_firmly`)."""
        actor, topic = proposal_key.split("|")
        table = state.table(demands.VIEW)
        for key in state.demands_of.get((actor, topic), ()):
            agg = table[key]["agg"]
            if agg["n"] and demanded_firmly(agg):
                return True
        return False

    # Event handlers ------------------------------------------------------------------------
    def _on_post(self, state: ViewState, event: RecordedEvent, touched: _Touched) -> None:
        # What PostPublished/PostRevised.from_payload would give, read from the payload itself:
        # the post is decoded only when the claims were not read ahead (the extractor needs it).
        data = event.data
        payload = data["post"]
        seen_at = data["seen_at"]
        pkey = post_key(data["source"], str(payload["post_id"]))
        record = state.posts.get(pkey)
        if record is None:
            if event.event_type == "PostRevised":
                return  # its post left the revision window: what it claimed stays counted
            state.data["seq"] += 1
            record = {"seq": state.data["seq"], "withdrawn": False, "refs": []}
            state.posts[pkey] = record
            state.queue.append(pkey)
        else:
            self._retract(state, record, touched)
        record["withdrawn"] = False
        t = post_time_of(payload, seen_at, event.recorded_at)
        newest = state.data["newest"]
        state.data["newest"] = t if newest is None else max(newest, t)
        found: Sequence[Claim] | None = (
            self.pool.claims_for(event) if self.pool is not None else None
        )
        if found is None:
            found = self._extract(Post.from_payload(payload))
        claims = [c for c in found if c.actor]
        firm = firmness(
            claims,
            title_end=len(str(payload.get("title") or "")),
            stance_rules=self._stance,
            readiness_rules=self._readiness,
        )
        self._count(
            state,
            record,
            claims,
            firm,
            pkey=pkey,
            t=t,
            pos=event.position,
            source=data["source"],
            touched=touched,
        )
        self._evict(state)

    def _on_withdrawn(self, state: ViewState, event: RecordedEvent, touched: _Touched) -> None:
        ev = PostWithdrawn(**dict(event.data))
        record = state.posts.get(post_key(ev.source, ev.post_id))
        if record is not None:
            self._retract(state, record, touched)
            record["withdrawn"] = True

    # Counting and taking back ---------------------------------------------------------------
    def _count(
        self,
        state: ViewState,
        record: dict[str, Any],
        claims: list[Claim],
        firm: list[int],
        *,
        pkey: str,
        t: int,
        pos: int,
        source: str,
        touched: _Touched,
    ) -> None:
        grouped = group_claims(
            claims, _KEYS, t=t, pos=pos, source=source, firm=firm, groups_of_kind=_GROUPS_OF_KIND
        )
        for group in (demands.VIEW, proposals.VIEW, responses.GROUP):
            for key, mention in grouped[group]:
                self._add(
                    state, record, group, key, live_key=pkey, mention=mention, touched=touched
                )
        groups = grouped[exchanges.VIEW]
        # agreements before fulfilments, widest party sets first, so a narrower mention joins them
        groups.sort(key=lambda item: (item[0][0] != "agreement", -len(item[0][2]), item[0]))
        for (kind, topic, parties), mention in groups:
            key = exchanges.find_row(
                state.table(exchanges.VIEW),
                state.exchange_index,
                kind=kind,
                topic=topic,
                parties=parties,
                t=t,
                newest=state.data["newest"],
                agree_window=self._agree,
                fulfil_window=self._fulfil,
            )
            if key is None:
                if kind != "agreement":
                    continue  # a fulfilment of nothing agreed in view
                key = exchanges.new_key(topic, parties, mention)
                while key in state.table(exchanges.VIEW):
                    key += "+"
            self._add(
                state,
                record,
                exchanges.VIEW,
                key,
                live_key=f"{pkey}\t{kind}",
                mention=mention,
                touched=touched,
            )

    def _add(
        self,
        state: ViewState,
        record: dict[str, Any],
        group: str,
        key: str,
        *,
        live_key: str,
        mention: Mention,
        touched: _Touched,
    ) -> None:
        table = state.table(group)
        bucket = table.get(key)
        if bucket is None:
            bucket = table[key] = new_bucket(_EMPTY[group])
            state.index(group, key)
        before = bucket["agg"]
        first = before["first"]
        parties = tuple(before["parties"]) if group == exchanges.VIEW else ()
        live = bucket["live"]
        existing = live.get(live_key)
        if existing is not None:  # the same post again in the same row: still one mention
            merge_into(existing, mention)
            bucket_recompute(bucket, _ADD[group])
        else:
            live[live_key] = mention
            _ADD[group](before, mention)
            record["refs"].append([group, key, live_key])
        if group == exchanges.VIEW:
            state.index_exchange(key, parties)
        if group != responses.GROUP:
            touched.rows.add((group, key))
        elif bucket["agg"]["first"] != first:  # what rows show of a response: who, and since when
            touched.topics.add(responses.topic_of(key))

    def _retract(self, state: ViewState, record: dict[str, Any], touched: _Touched) -> None:
        for group, key, live_key in record["refs"]:
            table = state.table(group)
            bucket = table[key]
            parties = tuple(bucket["agg"].get("parties", ()))
            bucket_remove(bucket, live_key, _ADD[group])
            if bucket_is_empty(bucket):
                del table[key]
                state.unindex(group, key)
            if group == exchanges.VIEW:
                state.index_exchange(key, parties)
            if group == responses.GROUP:
                touched.topics.add(responses.topic_of(key))
            else:
                touched.rows.add((group, key))
        record["refs"] = []

    def _evict(self, state: ViewState) -> None:
        posts = state.posts
        if len(posts) > self._window:
            queue = state.queue
            views = state.data["views"]
            answers = state.data["responses"]
            while len(posts) > self._window:
                record = posts.pop(queue.popleft())
                for group, key, live_key in record["refs"]:  # bucket_settle, written out
                    bucket = (answers if group == responses.GROUP else views[group])[key]
                    mention = bucket["live"].pop(live_key, None)
                    if mention is not None:
                        _ADD[group](bucket["settled"], mention)
        if state.data["seq"] % _SWEEP_EVERY == 0:
            self._retire(state)

    def _retire(self, state: ViewState) -> None:
        """Let exchange rows that can no longer change leave the state (they stay in the view).

        Such a row has no mention a revision could take back (its posts left the window) and
        was last seen longer than `fulfil_window` before the newest post, so nothing can join
        it. Dropping it keeps the state flat over a long log. Run every `_SWEEP_EVERY` posts,
        so it depends on the log alone.
        """
        table = state.table(exchanges.VIEW)
        newest = state.data["newest"]
        for key in sorted(table):
            agg = table[key]["agg"]
            if table[key]["live"] or agg["last"] is None:
                continue
            if newest - agg["last"][0] > self._fulfil:
                pending = self._deferred
                if pending is not None and (exchanges.VIEW, key) in pending.rows:
                    # touched in this deferred batch: its last change before it leaves the state
                    pending.rows.discard((exchanges.VIEW, key))
                    row = self.render(state, exchanges.VIEW, key)
                    if row != state.emitted.get((exchanges.VIEW, key)):
                        self._early.append(RowChange(view=exchanges.VIEW, key=key, row=row))
                state.exchange_index.remove(
                    key.split("|", maxsplit=1)[0], tuple(agg["parties"]), key
                )
                del table[key]
                state.emitted.pop((exchanges.VIEW, key), None)

    # Changes ---------------------------------------------------------------------------------
    def _flush(self, state: ViewState, touched: _Touched) -> list[RowChange]:
        rows = touched.rows
        for topic in touched.topics:
            sig = responses.signature(state.responses_on(topic))
            if sig != state.topic_sig.get(topic):
                state.topic_sig[topic] = sig
                rows |= state.by_topic.get(topic, set())
        proposal_table = state.table(proposals.VIEW)
        for view, key in list(rows):  # a demand shown or gone decides its actor's readiness rows
            if view == demands.VIEW:
                offer = proposal_table.get("|".join(demands.actor_topic(key)))
                if offer is not None and offer["agg"]["ready"]:
                    rows.add((proposals.VIEW, "|".join(demands.actor_topic(key))))
        changes = []
        for view, key in sorted(rows):
            row = self.render(state, view, key)
            if row != state.emitted.get((view, key)):
                if row is None:
                    del state.emitted[(view, key)]
                else:
                    state.emitted[(view, key)] = row
                changes.append(RowChange(view=view, key=key, row=row))
        return changes
