"""The compiled claims modules (monitor/native.py): loaded only for the sources they were built
from, and reading exactly what the pure Python modules read."""

from __future__ import annotations

import json
import pickle
import shutil
import sys
from pathlib import Path

import pytest

from monitor import native
from monitor.claims import RulesPack, extract
from monitor.claims.document import read_document
from monitor.posts import Post
from tests.native_runner import require_build, run_snippet

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"

# Claims of generated posts, every labelled document and the seed, as JSON lines (run here with
# the modules in use and in a subprocess with PARLEY_NATIVE=0).
_DUMP = """
import json, sys
from pathlib import Path
from bench.views_bench import generate
from monitor.claims import extract, load_pack
from monitor.claims.document import read_document
from monitor.events import PostPublished, PostRevised
from monitor import native
pack = load_pack()
posts = [e.post for e in generate(int(sys.argv[1])) if isinstance(e, (PostPublished, PostRevised))]
for path in sys.argv[2:]:
    posts.extend(read_document(Path(path)))
print(native.active())
for post in posts:
    print(json.dumps([c.to_json() for c in extract(post, pack)], sort_keys=True))
"""


def _dump(generated: int, documents: list[Path], *, pure: bool) -> list[str]:
    return run_snippet(_DUMP, str(generated), *map(str, documents), pure=pure)


def test_compiled_modules_read_the_same_claims_as_the_pure_modules(shared_dir: Path) -> None:
    require_build("monitor.claims")
    documents = [*sorted(DATA.glob("*.json")), *sorted((shared_dir / "seed").glob("*.json"))]
    compiled = _dump(1_500, documents, pure=False)
    pure = _dump(1_500, documents, pure=True)
    assert compiled[0] == "True"
    assert pure[0] == "False"
    assert len(compiled) > 1_500
    assert compiled[1:] == pure[1:]


def test_the_pack_pickles_and_reads_the_same(pack: RulesPack) -> None:
    """The pack goes to the extraction workers by pickle, compiled or not (`plain_class`)."""
    copy = pickle.loads(pickle.dumps(pack))
    posts = read_document(DATA / "black-sea-riyadh.json")
    assert [extract(p, copy) for p in posts] == [extract(p, pack) for p in posts]


def _sources_copy(tmp_path: Path) -> Path:
    for top in ("monitor", "store"):
        shutil.copytree(ROOT / top, tmp_path / top, ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


@pytest.mark.parametrize("package", list(native.GROUPS))
def test_any_edit_of_a_source_makes_another_key(tmp_path: Path, package: str) -> None:
    base = _sources_copy(tmp_path)
    key = native.source_key(package, base)
    assert key == native.source_key(package, ROOT)
    folder = package.replace(".", "/")
    for name in (
        f"{folder}/{native.GROUPS[package][0]}.py",
        "monitor/posts.py",
        "monitor/native.py",
    ):
        path = base / name
        text = path.read_text()
        path.write_text(text + "\n")
        assert native.source_key(package, base) != key, name
        path.write_text(text)
    assert native.source_key(package, base) == key
    (base / folder / "new_module.py").write_text("X = 1\n")
    assert native.source_key(package, base) != key


def test_an_edit_of_a_rule_module_leaves_the_fold_key(tmp_path: Path) -> None:
    base = _sources_copy(tmp_path)
    views = native.source_key("monitor.views", base)
    claims = native.source_key("monitor.claims", base)
    path = base / "monitor" / "claims" / "reading.py"
    path.write_text(path.read_text() + "\n")
    assert native.source_key("monitor.views", base) == views
    assert native.source_key("monitor.claims", base) != claims


def test_without_a_build_for_the_sources_nothing_is_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(native, "root", lambda: tmp_path)
    (tmp_path / "0123456789abcdef01234567").mkdir()  # a build of other sources
    path = ["/somewhere"]
    assert native.install(native.PACKAGE, path) is False
    assert path == ["/somewhere"]
    monkeypatch.setenv(native.ENV, "0")
    monkeypatch.setattr(native, "root", lambda: ROOT / "nowhere")
    assert native.install(native.PACKAGE, path) is False


def test_a_broken_build_is_dropped_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A manifest whose library does not load: the path and modules are as they were."""
    monkeypatch.setattr(native, "root", lambda: tmp_path)
    build = tmp_path / native.source_key()
    (build / "modules").mkdir(parents=True)
    (build / "broken.so").write_bytes(b"not a library")
    (build / "manifest.json").write_text(json.dumps({"lib": "broken", "lib_file": "broken.so"}))
    before = dict(sys.modules)
    path = ["/somewhere"]
    assert native.install(native.PACKAGE, path) is False
    assert path == ["/somewhere"]
    assert "broken" not in sys.modules
    assert set(sys.modules) == set(before)


def test_the_environment_chooses_the_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    for value, claims, views in [
        ("", True, True),
        ("1", True, True),
        ("0", False, False),
        ("monitor.claims", True, False),
        ("monitor.views, monitor.claims", True, True),
    ]:
        monkeypatch.setenv(native.ENV, value)
        assert native.enabled("monitor.claims") is claims, value
        assert native.enabled("monitor.views") is views, value


def test_a_build_without_a_usable_manifest_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(native, "root", lambda: tmp_path)
    build = tmp_path / native.source_key()
    build.mkdir()
    for text in ("{not json", "[]", "{}", '{"lib": "x"}'):
        (build / "manifest.json").write_text(text)
        path = ["/somewhere"]
        assert native.install(native.PACKAGE, path) is False
        assert path == ["/somewhere"]


def test_plain_class_changes_nothing() -> None:
    class A:
        pass

    assert native.plain_class(A) is A
    assert isinstance(Post(post_id="x"), Post)
