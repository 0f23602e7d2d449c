"""The alerts package's exceptions."""

from __future__ import annotations


class AlertError(Exception):
    """Base of every error the alerts package raises."""
