"""The simulator: timeline, conditional GETs, pagination, scripts, escaping, and `parley simulate`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.errors import InputError
from monitor.simulator import (
    ManualClock,
    RunningServer,
    Simulator,
    bundled_page_path,
    load_page,
    load_script,
    parse_script,
)

SPEED = 600.0


@pytest.fixture(scope="module")
def page() -> dict[str, Any]:
    return load_page(bundled_page_path())


def _times(page: dict[str, Any]) -> list[datetime]:
    return sorted(datetime.fromisoformat(p["published"]) for p in page["posts"])


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(500.0)


@pytest.fixture
def served(page: dict[str, Any], clock: ManualClock) -> Iterator[tuple[Simulator, RunningServer]]:
    sim = Simulator(page, speed=SPEED, clock=clock, per_page=7)
    with sim.serve("127.0.0.1", 0) as server:
        yield sim, server


def test_bundled_page_is_the_shared_seed(shared_dir: Path) -> None:
    """The copy shipped in the package (for `parley demo`) is identical to shared/seed."""
    seed = shared_dir / "seed" / "istanbul-talks-2025-06-02.json"
    assert json.loads(bundled_page_path().read_text()) == json.loads(seed.read_text())


def test_first_post_appears_at_start_and_the_rest_on_the_accelerated_timeline(
    page: dict[str, Any], served: tuple[Simulator, RunningServer], clock: ManualClock
) -> None:
    """At start only the earliest post shows; each later post shows once its page time has come at `speed`."""
    sim, _ = served
    times = _times(page)
    assert sim.status()["published"] == 1
    assert len(set(times)) == len(times)  # the seed has one post a minute at most
    for index, when in enumerate(times[1:], start=2):
        target = 500.0 + (when - times[0]).total_seconds() / SPEED
        clock.now = target - 0.01
        assert sim.status()["published"] == index - 1
        clock.now = target
        assert sim.status()["published"] == index
    assert sim.status()["done"]
    assert sim.status()["published"] == sim.status()["total"] == len(page["posts"])


def test_status_endpoint_reports_progress_as_json(served: tuple[Simulator, RunningServer]) -> None:
    """/status gives posts published so far, the total and whether the page is done."""
    status, headers, body = _get(served[1].url + "/status")
    data = json.loads(body)
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert (data["published"], data["total"], data["done"]) == (1, 20, False)
    assert data["shown"] == ["post-20"]


@pytest.mark.parametrize("fmt", ["rss", "atom", "jsonfeed", "liveblog", "html"])
def test_etag_gives_304_until_the_next_post_appears(
    fmt: str, page: dict[str, Any], served: tuple[Simulator, RunningServer], clock: ManualClock
) -> None:
    """Every format answers If-None-Match with 304 while unchanged, and 200 with a new ETag once a post appears."""
    url = served[1].urls()[fmt]
    status, headers, _ = _get(url)
    etag = headers["ETag"]
    assert status == 200
    assert _get(url, {"If-None-Match": etag})[0] == 304
    times = _times(page)
    clock.advance((times[1] - times[0]).total_seconds() / SPEED)
    status, headers, _ = _get(url, {"If-None-Match": etag})
    assert status == 200
    assert headers["ETag"] != etag


def test_last_modified_is_the_latest_change_and_answers_if_modified_since(
    page: dict[str, Any], served: tuple[Simulator, RunningServer], clock: ManualClock
) -> None:
    """Last-Modified is the newest post's time; If-Modified-Since at or after it gets 304."""
    clock.advance(10**6)
    url = served[1].urls()["rss"]
    _, headers, _ = _get(url)
    newest = _times(page)[-1]
    assert parsedate_to_datetime(headers["Last-Modified"]) == newest
    assert _get(url, {"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    earlier = format_datetime((newest - timedelta(minutes=1)).astimezone(UTC), usegmt=True)
    assert _get(url, {"If-Modified-Since": earlier})[0] == 200


def test_liveblog_is_paginated_with_rel_next(
    served: tuple[Simulator, RunningServer], clock: ManualClock
) -> None:
    """20 posts at 7 a page: pages 1-3 link to the next, page 3 does not, page 4 is 404."""
    clock.advance(10**6)
    base = served[1].urls()["liveblog"]
    bodies = [_get(f"{base}?page={n}") for n in (1, 2, 3, 4)]
    assert [b[0] for b in bodies] == [200, 200, 200, 404]
    assert b'rel="next" href="liveblog.html?page=2"' in bodies[0][2]
    assert b'rel="next" href="liveblog.html?page=3"' in bodies[1][2]
    assert b'rel="next"' not in bodies[2][2]
    counts = [b[2].count(b'"@type": "BlogPosting"') for b in bodies[:3]]
    assert counts == [7, 7, 6]


def test_unknown_path_is_404(served: tuple[Simulator, RunningServer]) -> None:
    """Only the documented routes answer."""
    assert _get(served[1].url + "/nope")[0] == 404


def test_post_text_cannot_break_out_of_the_jsonld_block(page: dict[str, Any]) -> None:
    """A post holding '</script>' stays inside the JSON-LD block (escaped as \\u003c)."""
    evil = json.loads(json.dumps(page))
    evil["posts"][0]["title"] = "</script><script>alert(1)</script>"
    sim = Simulator(evil, clock=lambda: 0.0)
    sim.start()
    sim.timeline.started = -(10**9)
    rendered = sim.render("liveblog", "http://127.0.0.1:9")
    assert rendered is not None
    assert b"<script>alert(1)" not in rendered[1]
    assert rendered[1].count(b"</script>") == 1


def test_script_revises_paragraphs_titles_and_withdraws_at_their_times(
    page: dict[str, Any],
) -> None:
    """Script steps take effect at their page time, set `modified`, and a withdrawn post disappears."""
    first = _times(page)[0]
    steps = parse_script(
        [
            {"at": "+30m", "revise": "post-20", "paragraph": 1, "text": "New second paragraph."},
            {"at": "2025-06-02T15:00:00+01:00", "revise": "post-20", "title": "New title"},
            {"at": "+1h", "withdraw": "post-19"},
            {"at": "+1h", "revise": "post-20", "paragraph": 99, "text": "Appended."},
        ],
        first=first,
    )
    clock = ManualClock()
    sim = Simulator(page, speed=SPEED, clock=clock, script=steps)
    sim.start()
    clock.advance(29 * 60 / SPEED)
    post = {p.post_id: p for p in sim.snapshot().posts}["post-20"]
    assert post.modified is None
    clock.advance(60 * 60 / SPEED)
    shown = {p.post_id: p for p in sim.snapshot().posts}
    post = shown["post-20"]
    assert post.paragraphs[1] == "New second paragraph."
    assert post.paragraphs[-1] == "Appended."
    assert post.title == "New title"
    assert post.modified == first + timedelta(hours=1)
    assert "post-19" not in shown


def test_script_file_errors_name_the_file_and_step(tmp_path: Path) -> None:
    """A bad step is reported with the file and the step number."""
    path = tmp_path / "script.json"
    path.write_text(
        json.dumps(
            {"steps": [{"at": "+1m", "withdraw": "post-1"}, {"at": "soon", "withdraw": "x"}]}
        )
    )
    first = datetime.fromisoformat("2025-06-02T14:15:00+01:00")
    with pytest.raises(InputError, match=r"script.json: step 2: 'at'"):
        load_script(path, first=first)
    path.write_text(json.dumps([{"at": "+1m", "revise": "post-1", "paragraph": 0}]))
    with pytest.raises(InputError, match="step 1: 'revise' needs"):
        load_script(path, first=first)
    with pytest.raises(InputError, match="cannot read"):
        load_script(tmp_path / "missing.json", first=first)


def test_page_errors_name_the_file_and_post(tmp_path: Path) -> None:
    """Pages without posts, with naive times or duplicate ids are refused with the file named."""
    path = tmp_path / "page.json"
    path.write_text("{not json")
    with pytest.raises(InputError, match=r"page\.json: not a JSON live-blog document"):
        load_page(path)
    path.write_text(json.dumps({"posts": [{"id": "a", "published": "2025-06-02T14:15:00"}]}))
    with pytest.raises(InputError, match="post a: 'published' needs a time zone"):
        load_page(path)
    path.write_text(json.dumps({"posts": [{"id": "a", "published": "2025-06-02T14:15:00Z"}] * 2}))
    with pytest.raises(InputError, match="duplicate id 'a'"):
        load_page(path)


def _parley() -> list[str]:
    return [sys.executable, "-c", "from monitor.cli import main; main()"]


def test_parley_simulate_prints_every_url_serves_and_stops_on_ctrl_c() -> None:
    """`parley simulate --port 0` prints each format's URL, serves them, and exits 0 on SIGINT."""
    proc = subprocess.Popen(
        [*_parley(), "simulate", "--port", "0", "--speed", "600"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(8)]
        urls = dict(
            line.split(None, 1) for line in lines if line.startswith("  ") and "://" in line
        )
        assert set(urls) == {"rss", "atom", "jsonfeed", "liveblog", "html", "status"}
        status, _, body = _get(urls["status"].strip())
        assert status == 200
        assert json.loads(body)["total"] == 20
        assert _get(urls["rss"].strip())[0] == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "Stopped after" in out


def test_parley_simulate_reports_a_bad_script_in_one_line(tmp_path: Path) -> None:
    """A broken script file ends `parley simulate` with exit 1 and one line naming the file."""
    script = tmp_path / "edits.json"
    script.write_text("[{}]")
    proc = subprocess.run(
        [*_parley(), "simulate", "--port", "0", "--script", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith(f"parley: error: {script}: step 1:")
