"""The `parley` command line. Each command group lives in its own module and registers itself on `app`."""

from __future__ import annotations

from monitor.cli import (  # noqa: F401  (imported for their @app.command registrations)
    alerts_cmd,
    audit_cmd,
    claims_cmd,
    config_cmd,
    daemon_cmd,
    simulate_cmd,
    store_cmd,
    views_cmd,
)
from monitor.cli._app import app, run

main = run

__all__ = ["app", "main"]
