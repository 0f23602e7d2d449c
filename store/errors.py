"""The store's exceptions: each names what failed and where, so the CLI can print one clear line."""

from __future__ import annotations


class StoreError(Exception):
    """Base of every error the store raises."""


class ConfigurationError(StoreError):
    """A database URL that is malformed or names an unsupported backend."""


class UnavailableError(StoreError):
    """The database cannot be reached, opened or written (down, corrupt file, disk full)."""


class ConcurrencyError(StoreError):
    """A stream or checkpoint was not at the version the writer expected."""


class SerializationError(StoreError):
    """An event payload that cannot be written as canonical JSON."""


class UnknownEventTypeError(StoreError):
    """A stored event whose type no registered class knows."""


class IntegrityError(StoreError):
    """The hash chain, the positions or the tamper guards do not hold."""


class NotFoundError(StoreError):
    """A named thing (an outbox message, a projection) that the store does not hold."""
