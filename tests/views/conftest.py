"""Fixtures of the views tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    """`parley` configures logging onto CliRunner's stream, closed after the call: undo it."""
    yield
    structlog.reset_defaults()
