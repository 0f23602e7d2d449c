"""Commands: simulate (registered on the shared app)."""

from __future__ import annotations

from monitor.cli._app import app  # noqa: F401
