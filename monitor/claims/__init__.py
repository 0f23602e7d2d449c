"""Reading posts into claims with a rules pack that is data (YAML), not code. See spec/claims.md.

Public surface:
- `load_pack(actor_files=(), rules_dirs=()) -> RulesPack`: the packaged rules plus the user's.
- `extract(post, pack) -> list[Claim]`: pure and deterministic; deadlines use `post.published`.
"""

from __future__ import annotations

from monitor.claims.extract import extract
from monitor.claims.model import KINDS, Claim, ClaimKind
from monitor.claims.pack import RulesPack, load_pack

__all__ = ["KINDS", "Claim", "ClaimKind", "RulesPack", "extract", "load_pack"]
