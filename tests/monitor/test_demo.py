"""`parley demo --until-done`, end to end in a subprocess: every seed post through every source kind."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from monitor.simulator import bundled_page_path, load_page
from store import open_store
from store.verify import verify

PARLEY = str(Path(sys.executable).parent / "parley")
KINDS = {"demo-liveblog", "demo-rss", "demo-atom", "demo-jsonfeed", "demo-html"}


@pytest.mark.slow
def test_demo_until_done_records_every_seed_post_through_every_kind(sqlite_url: str) -> None:
    """The demo exits 0 with each seed post published once per source, one edit and one withdrawal each."""
    proc = subprocess.run(
        [PARLEY, "--db", sqlite_url, "demo", "--until-done", "--speed", "4000"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "What the log recorded" in proc.stdout
    assert "publish-to-log latency: median" in proc.stdout
    seed_titles = {p["title"] for p in load_page(bundled_page_path())["posts"]}
    with open_store(sqlite_url) as store:
        recorded = list(store.read())
        assert verify(store).ok
    per_source: dict[str, set[str]] = {}
    counts: Counter[tuple[str, str]] = Counter()
    for r in recorded:
        if r.event_type.startswith("Post"):
            counts[(str(r.data["source"]), r.event_type)] += 1
        if r.event_type == "PostPublished":
            per_source.setdefault(str(r.data["source"]), set()).add(r.data["post"]["title"])
    assert set(per_source) == KINDS
    for source, titles in per_source.items():
        assert titles == seed_titles, source
        assert counts[(source, "PostPublished")] == len(seed_titles)
        assert counts[(source, "PostRevised")] == 1
        assert counts[(source, "PostWithdrawn")] == 1
    assert Counter(r.event_type for r in recorded)["SourceAdded"] == len(KINDS)


def test_demo_rejects_a_page_that_is_not_a_live_blog(tmp_path: Path) -> None:
    """A --page file that is not a live-blog document is one clear error line and exit 1."""
    bad = tmp_path / "page.json"
    bad.write_text('{"posts": "none"}')
    proc = subprocess.run(
        [PARLEY, "--db", f"sqlite:///{tmp_path / 'x.db'}", "demo", "--page", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"parley: error: {bad}")


@pytest.mark.slow
def test_demo_without_until_done_stops_on_ctrl_c_with_a_summary(
    tmp_path: Path, sqlite_url: str
) -> None:
    """SIGINT ends a running demo with exit 0 and the summary, not a traceback."""
    import signal
    import time

    out = tmp_path / "demo.out"
    with out.open("w") as sink:
        proc = subprocess.Popen(
            [PARLEY, "--db", sqlite_url, "demo", "--speed", "4000"], stdout=sink, stderr=sink
        )
    try:
        deadline = time.monotonic() + 60  # a hang guard
        while "posts published" not in out.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, out.read_text()
            time.sleep(0.2)
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = out.read_text()
    assert code == 0, text
    assert "What the log recorded" in text
    # (a simulator thread may print a traceback for a connection closed mid-response; Parley's
    # own shutdown must not)
    assert "KeyboardInterrupt" not in text
    assert "Error running job" not in text
