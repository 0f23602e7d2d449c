"""Claim extraction compiled with mypyc, when a build of exactly the current sources exists.

The claims modules below are plain Python and stay the definition. `make setup` (and `python -m
monitor.native build`) compiles a copy of them with mypyc into
`<sys.prefix>/parley-native/<key>/`, where `key` is a hash of every source file it depends on
(all of `monitor/claims/*.py`, `monitor/posts.py`, this file) and of the interpreter's
extension suffix. `monitor.claims` calls `install()` first thing: it loads the compiled modules
only from the directory named by the hash of the sources as they are now, so an edited source
(another developer's, in a shared tree) is never shadowed by a stale build: the edit makes a
new key, no build has it, and the pure Python modules are imported as before. Nothing is ever
written beside the sources.

Fallbacks, each to the pure Python modules: no build for the current sources (run `make setup`
again), no C compiler or no mypyc when building (the build says so and stops, exit 0), a build
that fails to load (the modules it loaded are dropped again), `PARLEY_NATIVE=0` in the
environment. The compiled modules give the same claims byte for byte
(tests/claims/test_native.py compares them with the pure modules' in a subprocess).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.machinery
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, MutableSequence
from pathlib import Path
from typing import TypeVar

PACKAGE = "monitor.claims"
MODULES = ("keywords", "mentions", "segment", "reading", "holders", "topics", "attrs", "extract")
"""The compiled modules of `monitor.claims` (the per-post reading; not the pack loading)."""
ENV = "PARLEY_NATIVE"
_MONITOR = Path(__file__).resolve().parent
_KEEP = 4  # builds kept (other source versions, e.g. of other branches); older ones are removed

T = TypeVar("T")

ACTIVE: dict[str, str] = {}
"""Package name -> the key of the build in use (empty: pure Python)."""


def plain_class(cls: T) -> T:
    """Keep a class a plain Python class when its module is compiled (its methods still are).

    mypyc makes every other class a native class, whose `__new__` runs `__init__`: pickle could
    then not rebuild it. The rules pack holds these classes and is pickled to the extraction
    workers. (Any decorator mypyc does not know has this effect; this one does nothing else.)
    """
    return cls


def _sources(monitor: Path) -> list[Path]:
    return [*sorted((monitor / "claims").glob("*.py")), monitor / "posts.py", monitor / "native.py"]


def source_key(monitor: Path = _MONITOR) -> str:
    """The hash naming the build of the sources under `monitor` for this interpreter."""
    digest = hashlib.sha256()
    digest.update(importlib.machinery.EXTENSION_SUFFIXES[0].encode())
    digest.update(" ".join(MODULES).encode())
    for path in _sources(monitor):
        digest.update(f"\0{path.relative_to(monitor)}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def root() -> Path:
    """Where builds are kept: inside the virtual environment (never beside the sources)."""
    return Path(sys.prefix) / "parley-native"


def active() -> bool:
    """True when the claims modules in use are the compiled ones."""
    return PACKAGE in ACTIVE


def install(package: str, path: MutableSequence[str]) -> bool:
    """Load the compiled modules of `package` (whose `__path__` is `path`) when a build of the
    current sources exists; False (and nothing changed) otherwise."""
    if package != PACKAGE or os.environ.get(ENV, "").strip() == "0":
        return False
    try:
        target = root() / source_key()
        manifest = json.loads((target / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    lib_name = str(manifest["lib"])
    where = str(target / "claims")
    before = set(sys.modules)
    try:
        spec = importlib.util.spec_from_file_location(lib_name, target / manifest["lib_file"])
        if spec is None or spec.loader is None:
            return False
        lib = importlib.util.module_from_spec(spec)
        sys.modules[lib_name] = lib
        spec.loader.exec_module(lib)
        path.insert(0, where)
        for name in MODULES:
            module = importlib.import_module(f"{package}.{name}")
            if not str(getattr(module, "__file__", "")).startswith(where):
                raise ImportError(f"{module.__name__} was not loaded from the build")
    except Exception:  # any failure: back to the pure modules, as if there were no build
        if where in path:
            path.remove(where)
        for name in set(sys.modules) - before:
            del sys.modules[name]
        return False
    ACTIVE[package] = target.name
    return True


def build(*, quiet: bool = False) -> int:
    """Compile the claims modules for the current sources (nothing to do when built already).

    Returns 0 when a build is in place or cannot be made here (pure Python then), 1 when
    mypyc itself failed (its output is printed)."""
    say: Callable[[str], None] = (lambda _: None) if quiet else _say
    if shutil.which(os.environ.get("CC", "cc")) is None and shutil.which("gcc") is None:
        say("native: no C compiler: claims stay pure Python")
        return 0
    if importlib.util.find_spec("mypyc") is None:
        say("native: mypyc is not installed (the dev extra): claims stay pure Python")
        return 0
    base = root()
    base.mkdir(parents=True, exist_ok=True)
    if (base / source_key() / "manifest.json").exists():
        say(f"native: up to date ({source_key()})")
        return 0
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="build-", dir=base))
    try:
        copy = work / "src" / "monitor"
        shutil.copytree(_MONITOR, copy, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
        key = source_key(copy)  # of the copy compiled, even if the tree moved meanwhile
        (work / "src" / "mypy.ini").write_text("[mypy]\nignore_missing_imports = True\n")
        files = [f"monitor/claims/{name}.py" for name in MODULES]
        done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "mypyc", *files],
            cwd=work / "src",
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        if done.returncode != 0:
            _say(f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
            _say("native: mypyc failed: claims stay pure Python")
            return 1
        libs = list((work / "src").glob("*__mypyc*.so"))
        if len(libs) != 1:
            _say(f"native: expected one mypyc library, found {libs}: claims stay pure Python")
            return 1
        stage = work / "out"
        (stage / "claims").mkdir(parents=True)
        shutil.move(libs[0], stage / libs[0].name)
        for name in MODULES:
            (shim,) = (copy / "claims").glob(f"{name}.*.so")
            shutil.move(shim, stage / "claims" / shim.name)
        manifest = {
            "lib": libs[0].name.split(".", 1)[0],
            "lib_file": libs[0].name,
            "modules": list(MODULES),
            "python": sys.version,
        }
        (stage / "manifest.json").write_text(json.dumps(manifest, indent=1))
        with contextlib.suppress(OSError):  # built meanwhile by another make: keep that one
            stage.rename(base / key)
        say(f"native: built {key} in {time.perf_counter() - started:.1f} s")
        _prune(base)
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _say(text: str) -> None:
    sys.stdout.write(f"{text}\n")
    sys.stdout.flush()


def _prune(base: Path) -> None:
    builds = [p for p in base.iterdir() if p.is_dir() and (p / "manifest.json").exists()]
    builds.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for old in builds[_KEEP:]:
        shutil.rmtree(old, ignore_errors=True)


def main(argv: list[str]) -> int:
    """`python -m monitor.native build|status`."""
    command = argv[0] if argv else "status"
    if command == "build":
        return build()
    if command == "status":
        import monitor.claims  # noqa: F401 - installs the build when there is one

        imported = sys.modules[__spec__.name if __spec__ else __name__]  # not __main__

        key = source_key()
        built = (root() / key / "manifest.json").exists()
        _say(f"sources {key}: {'built' if built else 'not built'}; in use: {imported.active()}")
        return 0
    _say("usage: python -m monitor.native build|status")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
