"""`parley extract` run as a user runs it: a real subprocess, real files, exit codes and messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def _parley(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "from monitor.cli import main; main()",
            "--log-format",
            "json",
            *args,
        ],
        capture_output=True,
        text=True,
        input=stdin,
        check=False,
        timeout=120,
    )


@pytest.fixture(scope="module")
def seed_claims(
    shared_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> list[dict[str, object]]:
    """The claims `parley extract` writes for the seed page (to --out)."""
    out = tmp_path_factory.mktemp("extract") / "claims.jsonl"
    proc = _parley(
        "extract", str(shared_dir / "seed" / "istanbul-talks-2025-06-02.json"), "--out", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_extract_writes_one_spec_shaped_json_object_a_line(
    seed_claims: list[dict[str, object]],
) -> None:
    """Each line has the spec's keys in the spec's order, and the spec's example claim is there."""
    assert seed_claims
    for claim in seed_claims:
        assert list(claim) == [
            "post_id",
            "kind",
            "actor",
            "parties",
            "topic",
            "attrs",
            "quote",
            "span",
            "rule",
        ]
    bodies = [c for c in seed_claims if c["post_id"] == "post-07"]
    assert bodies[0]["kind"] == "agreement"
    assert bodies[0]["actor"] == "RUS"
    assert bodies[0]["parties"] == ["RUS", "UKR"]
    assert bodies[0]["topic"] == "bodies_return"
    assert bodies[0]["attrs"]["count"] == 6000
    assert bodies[0]["quote"] == "Russia to hand remains of 6,000 soldiers to Ukraine"


def test_extract_reads_json_lines_from_stdin_with_alt_captions() -> None:
    """JSON lines of posts on stdin work too; an image's alt text is a caption."""
    line = json.dumps(
        {
            "id": "x1",
            "title": "",
            "paragraphs": [],
            "images": [{"alt": "Qatar offered to host talks."}],
        }
    )
    proc = _parley("extract", "-", stdin=line + "\n")
    assert proc.returncode == 0, proc.stderr
    [claim] = [json.loads(x) for x in proc.stdout.splitlines()]
    assert (claim["kind"], claim["actor"], claim["topic"]) == ("proposal", "QAT", "mediation")


def test_extra_actors_file_is_used(tmp_path: Path) -> None:
    """--actors adds people to a known actor."""
    actors = tmp_path / "actors.yaml"
    actors.write_text("ARM:\n  people: [Kopyrkin]\n", encoding="utf-8")
    doc = tmp_path / "doc.jsonl"
    doc.write_text(
        json.dumps({"id": "x", "title": "Kopyrkin called for a ceasefire."}) + "\n",
        encoding="utf-8",
    )
    proc = _parley("extract", str(doc), "--actors", str(actors))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["actor"] == "ARM"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ('{"posts": [{"id": "a"}, ]}', "line 1: not valid JSON"),
        ('{"id": "a"}\n{"id": "b",\n', "line 2: not valid JSON"),
        ('{"posts": [{"title": "no id"}]}', "post 1: post has no id"),
        ('{"posts": [{"id": "a", "published": "yesterday"}]}', "is not an ISO 8601 time"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_1(
    tmp_path: Path, content: str | None, message: str
) -> None:
    """A missing file, bad JSON (with its line) or a post without id: one line on stderr, exit 1."""
    doc = tmp_path / "doc.json"
    if content is not None:
        doc.write_text(content, encoding="utf-8")
    proc = _parley("extract", str(doc))
    assert proc.returncode == 1
    assert proc.stderr.startswith("parley: error: ")
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_rules_dir_is_reported_with_file_and_line(tmp_path: Path) -> None:
    """A mistake in a --rules directory names the file and line."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "topics.yaml").write_text("grain:\n  cues: [grain]\n  colour: red\n", encoding="utf-8")
    doc = tmp_path / "doc.jsonl"
    doc.write_text('{"id": "a"}\n', encoding="utf-8")
    proc = _parley("extract", str(doc), "--rules", str(rules))
    assert proc.returncode == 1
    assert "topics.yaml line 3: unknown key 'colour'" in proc.stderr
