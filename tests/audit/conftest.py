"""Fixtures for the audit tests: structlog back to its defaults after each test.

The command-line tests configure structlog to print to the stream CliRunner lends them and then
closes; a later test logging through that configuration would write to a closed file.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog


@pytest.fixture(autouse=True)
def _reset_logging() -> Iterator[None]:
    yield
    structlog.reset_defaults()
