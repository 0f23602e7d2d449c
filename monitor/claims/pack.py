"""The rules pack (stub: replaced by the YAML-backed pack)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, kw_only=True, slots=True)
class RulesPack:
    """Compiled rules: actors, topics and patterns."""


def load_pack(actor_files: Iterable[Path | str] = (), rules_dirs: Iterable[Path | str] = ()) -> RulesPack:
    """Load the packaged rules plus the user's files; raises ConfigError naming file and line."""
    return RulesPack()
