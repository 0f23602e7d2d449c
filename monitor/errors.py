"""The monitor's exceptions: each carries what a user needs to act (source, file, line)."""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error the monitor raises."""


class ConfigError(MonitorError):
    """A configuration or rules file that is missing, malformed or inconsistent."""


class SourceError(MonitorError):
    """A source that could not be fetched or parsed; the message names the source and the reason."""


class InputError(MonitorError):
    """A document given on the command line that cannot be read."""


class EndpointError(MonitorError):
    """The service endpoints (/healthz, /readyz, /metrics) cannot listen on the address asked for."""
