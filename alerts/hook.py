"""The projection runner's `outbox_for` hook: view changes in, outbox messages out.

    runner = ProjectionRunner(store, projection, outbox_for=outbox_hook(store, "negotiation", config.rules,
                                                                       channels=config.channel_names))

The runner calls the hook with a batch's changes just before it commits them, so the store still
holds the rows as they were: the hook reads them (`view_rows`) to tell a new row from a changed
one, then calls the pure `alerts.rules.alerts_for`. The messages are committed in the same
transaction as the rows.

Do not pass the hook when rebuilding views from an empty database (`reset_projection`, replays):
with no rows before, every row would look new. Replays never alert.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from alerts.rules import Link, Rule, alerts_for
from store.records import JSONValue, OutboxMessage, RowChange


class _Rows(Protocol):
    def view_rows(self, projection: str, view: str) -> list[Mapping[str, JSONValue]]: ...


def outbox_hook(
    store: _Rows,
    projection: str,
    rules: Sequence[Rule],
    *,
    channels: Sequence[str],
    link: Link | None = None,
) -> Callable[[Sequence[RowChange]], list[OutboxMessage]]:
    """A hook for `ProjectionRunner(outbox_for=...)` raising alerts under `rules` on `channels`.

    `link(source, post_id)` gives a post's URL for the alert's link (the daemon supplies it; the
    alerts package does not read posts). Raises what `store.view_rows` raises.
    """
    rules = tuple(rules)
    names = tuple(channels)

    def hook(changes: Sequence[RowChange]) -> list[OutboxMessage]:
        if not changes or not names:
            return []
        before: dict[tuple[str, str], Mapping[str, Any]] = {}
        for view in sorted({c.view for c in changes}):
            for row in store.view_rows(projection, view):
                key = row.get("key")
                if isinstance(key, str):
                    before[(view, key)] = row
        return alerts_for(changes, rules, channels=names, before=before, link=link)

    return hook
