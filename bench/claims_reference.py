"""Byte-for-byte guard for speed work on extraction and the views.

    python -m bench.claims_reference dump DIR      # write the current outputs into DIR
    python -m bench.claims_reference compare DIR   # write them again and compare with DIR

It writes, one file each:
- `parley extract` output (JSON lines, as the command writes them) for the shared seed page and
  every document in tests/claims/data/;
- the same for the first 3,000 generated posts of the views benchmark (`views_bench.generate`,
  revisions included), so changes are checked on text the labelled documents do not hold;
- the views as `parley views --json` prints them after the seed page is in a SQLite log, and after
  the generated posts (with their revisions and withdrawals) are.

`compare` exits 1 and names the first line that differs. Speed work must keep every file equal.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
GENERATED = 3_000


def _claim_lines(posts: Iterable[Any], pack: Any) -> str:
    from monitor.claims import extract

    lines = []
    for post in posts:
        for claim in extract(post, pack):
            lines.append(json.dumps(claim.to_json(), ensure_ascii=False))
    return "".join(line + "\n" for line in lines)


def _views_json(events: list[Any], pack: Any) -> str:
    from monitor.events import PostWithdrawn, post_stream
    from monitor.views import build_projection, catch_up, read_views
    from store import open_store
    from store.mapper import to_new_event

    with (
        tempfile.TemporaryDirectory(prefix="parley-ref-") as folder,
        open_store(f"sqlite:///{Path(folder) / 'ref.db'}") as store,
    ):
        batch = []
        for i, ev in enumerate(events):
            post_id = ev.post_id if isinstance(ev, PostWithdrawn) else ev.post.post_id
            batch.append(
                to_new_event(
                    ev, stream_id=post_stream(ev.source, post_id), idempotency_key=f"ref:{i}"
                )
            )
        store.append(batch)
        catch_up(store, build_projection(pack))
        views = read_views(store)
    return json.dumps(views, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def outputs() -> dict[str, str]:
    """File name -> content, for every output guarded."""
    from bench.views_bench import generate
    from monitor.claims import load_pack
    from monitor.claims.document import read_document
    from monitor.events import PostWithdrawn
    from monitor.log_setup import configure_logging
    from tests.views._seed import published, seed_posts

    configure_logging("console", "WARNING")
    pack = load_pack()
    out: dict[str, str] = {}
    docs = sorted(SHARED.glob("seed/*.json")) + sorted((ROOT / "tests/claims/data").glob("*.json"))
    for doc in docs:
        out[f"extract-{doc.stem}.jsonl"] = _claim_lines(read_document(doc), pack)
    events = list(generate(GENERATED))
    out["extract-generated.jsonl"] = _claim_lines(
        (ev.post for ev in events if not isinstance(ev, PostWithdrawn)), pack
    )
    out["views-seed.json"] = _views_json([published(p) for p in seed_posts(SHARED)], pack)
    out["views-generated.json"] = _views_json(events, pack)
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("dump", "compare"):
        print(__doc__, file=sys.stderr)
        return 2
    folder = Path(argv[1])
    found = outputs()
    if argv[0] == "dump":
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in found.items():
            (folder / name).write_text(text, encoding="utf-8")
            digest = hashlib.sha256(text.encode()).hexdigest()[:12]
            print(f"{name}: {text.count(chr(10))} lines, sha256 {digest}")
        return 0
    bad = 0
    for name, text in found.items():
        path = folder / name
        want = path.read_text(encoding="utf-8") if path.exists() else None
        if want == text:
            continue
        bad += 1
        if want is None:
            print(f"{name}: not in {folder}")
            continue
        old, new = want.splitlines(), text.splitlines()
        line = next(
            (i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b),
            min(len(old), len(new)),
        )
        print(f"{name}: differs at line {line + 1} ({len(old)} lines before, {len(new)} now)")
        print(f"  before: {old[line] if line < len(old) else '<end>'}")
        print(f"  now:    {new[line] if line < len(new) else '<end>'}")
    print(f"{len(found) - bad} of {len(found)} outputs identical")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
