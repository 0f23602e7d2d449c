"""Reading posts into claims with a rules pack that is data (YAML), not code. See spec/claims.md.

Public surface:
- `load_pack(actor_files=(), rules_dirs=()) -> RulesPack`: the packaged rules plus the user's.
- `extract(post, pack) -> list[Claim]`: pure and deterministic; deadlines use `post.published`.
"""

from __future__ import annotations

from monitor import native as _native

_native.install(__name__, __path__)  # the compiled modules when built for these sources (native.py)

from monitor.claims.extract import extract  # noqa: E402
from monitor.claims.model import KINDS, Claim, ClaimKind  # noqa: E402
from monitor.claims.pack import RulesPack, load_pack  # noqa: E402

__all__ = ["KINDS", "Claim", "ClaimKind", "RulesPack", "extract", "load_pack"]
