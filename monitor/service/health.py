"""Readiness, decided from what the probes saw: a pure function, so every verdict is testable.

`/readyz` is ready only when all three hold:

- `database`: the log's head was read within the check timeout;
- `scheduler`: the polling scheduler is running (not before start, not while stopping);
- `projectors`: every projector (the views) is at most `max_lag` events behind the head.

The body is small JSON naming each check and, when not ready, which failed and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, kw_only=True, slots=True)
class LogState:
    """What one probe of the database saw: the head position and each projector's checkpoint."""

    head: int
    checkpoints: Mapping[str, int] = field(default_factory=dict)

    def lags(self) -> dict[str, int]:
        """Events each projector is behind the head."""
        return {name: max(0, self.head - at) for name, at in self.checkpoints.items()}


@dataclass(frozen=True, kw_only=True, slots=True)
class Verdict:
    """Ready or not, and the JSON body that says why."""

    ready: bool
    body: dict[str, Any]


def judge(
    state: LogState | None,
    *,
    database_error: str = "",
    scheduler_running: bool,
    max_lag: int,
) -> Verdict:
    """The readiness verdict. `state` is None when the database probe failed (`database_error`)."""
    checks: dict[str, dict[str, Any]] = {}
    if state is None:
        checks["database"] = {"ok": False, "error": database_error or "no answer"}
    else:
        checks["database"] = {"ok": True, "head": state.head}
    checks["scheduler"] = {"ok": scheduler_running}
    if not scheduler_running:
        checks["scheduler"]["error"] = "the polling scheduler is not running"
    if state is None:
        checks["projectors"] = {"ok": False, "error": "unknown: the database did not answer"}
    else:
        lags = state.lags()
        behind = {name: lag for name, lag in sorted(lags.items()) if lag > max_lag}
        checks["projectors"] = {"ok": not behind, "lag": lags, "max_lag": max_lag}
        if behind:
            checks["projectors"]["error"] = ", ".join(
                f"{name} is {lag} events behind the head (more than {max_lag})"
                for name, lag in behind.items()
            )
    failed = [name for name, check in checks.items() if not check["ok"]]
    body: dict[str, Any] = {"status": "ready" if not failed else "not ready"}
    if failed:
        body["failed"] = failed
    body["checks"] = checks
    return Verdict(ready=not failed, body=body)
