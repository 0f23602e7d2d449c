"""The stream-version cache of appends (trusted only while provably current), and lookup chunking."""

from __future__ import annotations

import threading
from collections.abc import Iterator

_LOOKUP_CHUNK = 500


class VersionCache:
    """Stream versions this process learned, valid only while the head is the one it last saw.

    Saves the per-stream lookups of an append when no other writer appended in between: if the
    log's head is exactly (position, hash) of our last append, no stream can have moved.
    """

    _LIMIT = 100_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._head: tuple[int, str] | None = None
        self._head_time: str | None = None
        self._versions: dict[str, int] = {}

    def known(self, streams: list[str]) -> set[str]:
        with self._lock:
            return {s for s in streams if s in self._versions}

    def valid_at(self, head: tuple[int, str], streams: set[str]) -> dict[str, int] | None:
        """The cached versions of `streams` if the cache holds at `head`, else None."""
        with self._lock:
            if self._head != head or any(s not in self._versions for s in streams):
                return None
            return {s: self._versions[s] for s in streams}

    def snapshot(
        self, streams: list[str]
    ) -> tuple[tuple[int, str], str | None, dict[str, int]] | None:
        """(head, head's recorded_at, versions of `streams`) as last seen, if all are cached.

        Only a guess: the caller must check under the append lock that the head is unchanged.
        """
        with self._lock:
            head, cached = self._head, self._versions
            if head is None:
                return None
            try:  # on the hot path of every append: no generator, one lookup per stream
                versions = {s: cached[s] for s in streams}
            except KeyError:
                return None
            return head, self._head_time, versions

    def remember(
        self,
        before: tuple[int, str],
        after: tuple[int, str],
        versions: dict[str, int],
        *,
        head_time: str | None,
    ) -> None:
        """After a commit that moved the head from `before` to `after`, record `versions`."""
        with self._lock:
            if self._head is not None and self._head[0] > after[0]:
                return  # a later append (another thread) already updated the cache
            if self._head != before or len(self._versions) > self._LIMIT:
                self._versions = {}  # what we held was not known to be current: start afresh
            self._versions.update(versions)
            self._head, self._head_time = after, head_time


def chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _LOOKUP_CHUNK):
        yield items[start : start + _LOOKUP_CHUNK]
