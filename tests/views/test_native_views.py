"""The compiled fold (monitor/native.py) gives the same views and saved state as the pure one."""

from __future__ import annotations

from pathlib import Path

import monitor.views  # noqa: F401 - installs the compiled fold when built
from tests.native_runner import require_build, run_snippet

ROOT = Path(__file__).resolve().parents[2]

# Fold generated posts (with revisions and withdrawals) into the views, twice: with the default
# options and with small windows (posts settle, exchanges retire); print which code ran, and a
# hash of every view row and of the saved state of each.
_FOLD = """
import hashlib, json, sys
from pathlib import Path
from bench.views_bench import _append_all
import monitor.views  # noqa: F401 - installs the compiled fold when built
from monitor import native
from monitor.claims import load_pack
from monitor.log_setup import configure_logging
from monitor.views import build_projection, make_runner, read_views
from store import open_store

configure_logging("console", "WARNING")
pack = load_pack()
with open_store(f"sqlite:///{Path(sys.argv[1]) / 'log.db'}") as store:
    _append_all(store, int(sys.argv[2]))
    print(native.active("monitor.views"))
    options = {"small": {"revision_window": 50, "fulfil_window_days": 1, "agree_window_days": 1}}
    for name, kwargs in {"default": {}, **options}.items():
        projection = build_projection(pack, extract_workers=0, **kwargs)
        projection.name = name
        make_runner(store, projection, batch_size=997).catch_up()
        views = json.dumps(read_views(store, projection=name), sort_keys=True)
        state = json.dumps(store.checkpoint(name), sort_keys=True)
        print(name, hashlib.sha256(views.encode()).hexdigest(), len(views))
        print(name, hashlib.sha256(state.encode()).hexdigest(), len(state))
"""


def _fold(folder: Path, posts: int, *, pure: bool) -> list[str]:
    folder.mkdir()
    return run_snippet(_FOLD, str(folder), str(posts), pure=pure)


def test_compiled_fold_gives_the_same_views_and_state(tmp_path: Path) -> None:
    require_build("monitor.views")
    compiled = _fold(tmp_path / "compiled", 3_000, pure=False)
    pure = _fold(tmp_path / "pure", 3_000, pure=True)
    assert compiled[0] == "True"
    assert pure[0] == "False"
    assert len(compiled) == 5
    assert compiled[1:] == pure[1:]
