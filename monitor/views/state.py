"""The negotiation projection's state: what is saved with the checkpoint, and what is rebuilt from it.

Saved (JSON): every post inside the revision window with the row buckets its current version
counted towards (`posts`), the window's order (`queue`), the buckets of each view and of the
responses, and the newest post time seen. Rebuilt on load: the indexes by topic and the rows last
emitted, so a change is only emitted when a row really changes.

The state is mutable and owned by the fold: `apply` updates it in place and returns it, which
keeps a fold over 100,000 posts linear. Callers use it linearly (never an old state after apply).
"""

from __future__ import annotations

import copy
from collections import deque
from typing import Any

from monitor.views import demands, exchanges, proposals, responses
from monitor.views.exchange_index import ExchangeIndex

VIEWS = (demands.VIEW, exchanges.VIEW, proposals.VIEW)
"""The views the projection builds, in the order `parley views` shows them."""

FORMAT = 2


class ViewState:
    """The fold's state (see the module docstring)."""

    __slots__ = (
        "by_topic",
        "data",
        "demands_of",
        "emitted",
        "exchange_index",
        "queue",
        "responders",
        "topic_sig",
    )

    def __init__(self, data: dict[str, Any], queue: deque[str]) -> None:
        self.data = data
        self.queue = queue
        self.by_topic: dict[str, set[tuple[str, str]]] = {}
        self.demands_of: dict[tuple[str, str], set[str]] = {}  # (actor, topic) -> demand row keys
        self.responders: dict[str, set[str]] = {}
        self.exchange_index = ExchangeIndex()
        self.emitted: dict[tuple[str, str], dict[str, Any]] = {}
        self.topic_sig: dict[str, responses.Signature] = {}

    @classmethod
    def empty(cls, options: dict[str, Any]) -> ViewState:
        """No post seen yet, under the projection's `options` (saved, so a mismatch is caught)."""
        data: dict[str, Any] = {
            "format": FORMAT,
            "options": dict(options),
            "seq": 0,
            "newest": None,
            "posts": {},
            "views": {view: {} for view in VIEWS},
            "responses": {},
        }
        return cls(data, deque())

    @property
    def posts(self) -> dict[str, Any]:
        return self.data["posts"]  # type: ignore[no-any-return]

    def table(self, group: str) -> dict[str, Any]:
        """The buckets of one view, or of the responses."""
        if group == responses.GROUP:
            return self.data["responses"]  # type: ignore[no-any-return]
        return self.data["views"][group]  # type: ignore[no-any-return]

    def index(self, group: str, key: str) -> None:
        """Enter a new bucket into the topic indexes."""
        if group == responses.GROUP:
            self.responders.setdefault(responses.topic_of(key), set()).add(key)
        elif group == exchanges.VIEW:
            self.index_exchange(key, ())
        else:
            self.by_topic.setdefault(key.split("|")[1], set()).add((group, key))
            if group == demands.VIEW:
                self.demands_of.setdefault(demands.actor_topic(key), set()).add(key)

    def index_exchange(self, key: str, before: tuple[str, ...]) -> None:
        """Move an exchange row in the index from its parties `before` to its parties now."""
        bucket = self.data["views"][exchanges.VIEW].get(key)
        now = tuple(bucket["agg"]["parties"]) if bucket is not None else ()
        if now != before:
            topic = key.split("|", maxsplit=1)[0]
            self.exchange_index.remove(topic, before, key)
            self.exchange_index.add(topic, now, key)

    def unindex(self, group: str, key: str) -> None:
        """Take a deleted bucket out of the topic indexes."""
        if group == responses.GROUP:
            self.responders.get(responses.topic_of(key), set()).discard(key)
        elif group == exchanges.VIEW:
            pass  # the caller moves it out of the exchange index (it knows the parties it had)
        else:
            self.by_topic.get(key.split("|")[1], set()).discard((group, key))
            if group == demands.VIEW:
                self.demands_of.get(demands.actor_topic(key), set()).discard(key)

    def responses_on(self, topic: str) -> list[tuple[str, str, Any]]:
        """(actor, kind, aggregate) of every response on `topic`, sorted."""
        return responses.listing(self.responders.get(topic, set()), self.data["responses"])

    def dump(self) -> dict[str, Any]:
        """The saved part as JSON-ready data (shares structure with the state: serialise it at once)."""
        return {**self.data, "queue": list(self.queue)}

    @classmethod
    def load(cls, saved: dict[str, Any]) -> ViewState:
        """Rebuild a state from a copy of `dump()`'s data; indexes are recomputed, rows re-rendered by the caller."""
        data = {k: copy.deepcopy(v) for k, v in saved.items() if k != "queue"}
        state = cls(data, deque(saved.get("queue", [])))
        for group in (*VIEWS, responses.GROUP):
            for key in state.table(group):
                state.index(group, key)
        for topic in state.responders:
            state.topic_sig[topic] = responses.signature(state.responses_on(topic))
        return state
