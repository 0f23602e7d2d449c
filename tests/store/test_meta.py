"""The meta table: small operational state beside the log, on both backends."""

from __future__ import annotations

import pytest

from store import SerializationError, open_store


def test_put_meta_then_get_meta_returns_the_namespace(db_url: str) -> None:
    """Values are stored per namespace and key, read back as JSON, and overwritten in place."""
    with open_store(db_url) as store:
        assert store.get_meta("source_health") == {}
        store.put_meta("source_health", "bbc", {"failures": 0, "last_error": None})
        store.put_meta("source_health", "rss", {"failures": 2, "last_error": "HTTP 503"})
        store.put_meta("http_validators", "https://x.org/feed", {"etag": '"abc"'})
        store.put_meta("source_health", "bbc", {"failures": 1, "last_error": "timed out"})
        assert store.get_meta("source_health") == {
            "bbc": {"failures": 1, "last_error": "timed out"},
            "rss": {"failures": 2, "last_error": "HTTP 503"},
        }
        assert store.get_meta("http_validators") == {"https://x.org/feed": {"etag": '"abc"'}}


def test_meta_survives_reopening_and_is_not_in_the_log(db_url: str) -> None:
    """Meta persists across processes' opens and appends nothing to the event log."""
    with open_store(db_url) as store:
        store.put_meta("n", "k", [1, "two", 3.5, True])
    with open_store(db_url) as store:
        assert store.get_meta("n") == {"k": [1, "two", 3.5, True]}
        assert store.head().position == 0


def test_put_meta_rejects_values_that_are_not_json(db_url: str) -> None:
    """A value JSON cannot hold is a SerializationError naming the key."""
    with open_store(db_url) as store, pytest.raises(SerializationError, match="n/k"):
        store.put_meta("n", "k", {"when": object()})
