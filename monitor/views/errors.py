"""The views' exceptions: each names what was asked for and what exists."""

from __future__ import annotations

from monitor.errors import MonitorError


class ViewError(MonitorError):
    """Base of every error the views raise."""


class UnknownViewError(ViewError):
    """A view name that the negotiation projection does not build."""
