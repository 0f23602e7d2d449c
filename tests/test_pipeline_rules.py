"""`parley run` reads posts with the rules its config names: `[rules] actors` and `[daemon]
extract_workers`, end to end through a real simulator and a real SQLite file.

A group no packaged actor file knows ("the Zorvan Liberation Front") makes a demand. Without the
desk's actor file the sentence has no actor and no row comes of it; with the file named in the
config (by a path relative to the config file), the daemon's views hold the group's open demand.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from monitor.simulator import Simulator
from monitor.simulator.timeline import check_page
from monitor.views import PROJECTION, read_views
from store import open_store
from tests.test_pipeline_run import Run, wait_until

ACTORS = """\
ZLF:
  name: Zorvan Liberation Front
  aliases: [Zorvan Liberation Front, Zorvan rebels]
"""

PARLEY = str(Path(sys.executable).parent / "parley")

SENTENCE = (
    "The Zorvan Liberation Front demanded an unconditional ceasefire from Mali before any "
    "further talks."
)


def _page() -> dict[str, object]:
    post = {
        "id": "post-z1",
        "position": 1,
        "published": "2025-06-02T10:00:00+00:00",
        "kind": "post",
        "breaking": False,
        "title": "Rebels set out their terms",
        "byline": [],
        "paragraphs": [SENTENCE],
        "images": [],
    }
    page = {
        "title": "Talks on the Zorvan front: live",
        "url": "https://example.org/live/zorvan",
        "publisher": "Example News",
    }
    return {"page": page, "posts": [post]}


def _run_daemon(tmp_path: Path, *, rules: str) -> list[dict[str, object]]:
    """Serve the page, run the daemon until its one post is in the log and the views have read
    it, and return the open-demand rows."""
    page = _page()
    check_page(page, "the test page")
    sim = Simulator(page, speed=1000.0)
    server = sim.serve("127.0.0.1", 0)
    db = tmp_path / "parley.db"
    config = tmp_path / "conf" / "parley.toml"
    config.parent.mkdir(exist_ok=True)
    config.write_text(
        f'[database]\nurl = "sqlite:///{db}"\n\n'
        "[daemon]\nextract_workers = 0\n\n"
        f"{rules}"
        "[defaults]\ninterval = 0.2\njitter = 0.05\n\n"
        f'[[sources]]\nname = "zorvan"\nkind = "liveblog"\nurl = "{server.urls()["liveblog"]}"\n'
    )
    run = Run(config, tmp_path / "run.log")
    try:

        def read_up() -> bool:
            if not db.exists():
                return False
            with open_store(f"sqlite:///{db}") as store:
                posts = [e.position for e in store.read(event_types=["PostPublished"])]
                return bool(posts) and store.checkpoint(PROJECTION)[0] >= posts[-1]

        wait_until(read_up, "the views to read the post", run)
        assert run.terminate() == 0, run.output()
    finally:
        run.close()
        server.stop()
    with open_store(f"sqlite:///{db}") as store:
        return read_views(store, views=["open_demands"])["open_demands"]["rows"]


def test_daemon_reads_posts_with_the_actor_files_its_config_names(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "desk-actors.yaml").write_text(ACTORS)
    rows = _run_daemon(tmp_path, rules='[rules]\nactors = ["desk-actors.yaml"]\n\n')
    assert [(r["actor"], r["topic"], r["status"]) for r in rows] == [("ZLF", "ceasefire", "open")]
    assert json.dumps(rows[0]["provenance"]).count("post-z1") >= 1


def test_without_the_actor_file_the_group_is_not_an_actor(tmp_path: Path) -> None:
    rows = _run_daemon(tmp_path, rules="")
    assert rows == []


def test_a_broken_rules_file_stops_parley_run_at_start_naming_its_line(tmp_path: Path) -> None:
    (tmp_path / "desk-actors.yaml").write_text("ZLF:\n  name: Zorvan\n  alias: [Zorvan]\n")
    config = tmp_path / "parley.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "parley.db"}"\n\n'
        '[rules]\nactors = ["desk-actors.yaml"]\n'
    )
    done = subprocess.run(
        [PARLEY, "run", "--config", str(config), "--listen", "off"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert f"{tmp_path / 'desk-actors.yaml'} line 3: unknown key 'alias'" in done.stderr
