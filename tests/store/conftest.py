"""Fixtures for the store tests: a store opened on the parametrised backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from store import open_store
from store._projections import ProjectionStore


@pytest.fixture
def store(db_url: str) -> Iterator[ProjectionStore]:
    """An opened, migrated store on the backend under test."""
    opened = open_store(db_url)
    yield opened
    opened.close()
