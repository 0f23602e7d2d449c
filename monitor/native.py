"""Claim extraction and the views' fold compiled with mypyc, when a build of exactly the current
sources exists.

The modules in `GROUPS` are plain Python and stay the definition. `make setup` (and `python -m
monitor.native build`) compiles a copy of each group with mypyc into
`<sys.prefix>/parley-native/<key>/`, where `key` is a hash of every source file the group
depends on (`SOURCES`: for the claims all of `monitor/claims/*.py`, `monitor/posts.py` and this
file) and of the interpreter's extension suffix. The package (`monitor.claims`, `monitor.views`)
calls `install()` first thing: it loads the compiled modules only from the directory named by
the hash of the sources as they are now, so an edited source (another developer's, in a shared
tree) is never shadowed by a stale build: the edit makes a new key, no build has it, and the
pure Python modules are imported as before. Nothing is ever written beside the sources, and the
two groups are built and checked apart (an edit of a rule leaves the compiled fold in use).

Fallbacks, each to the pure Python modules: no build for the current sources (run `make setup`
again), no C compiler or no mypyc when building (the build says so and stops, exit 0), a build
that fails to load (the modules it loaded are dropped again), `PARLEY_NATIVE=0` in the
environment (`PARLEY_NATIVE=monitor.claims`: that package's build only). The compiled modules
give the same claims and views byte for byte (tests/claims/test_native.py and
tests/views/test_native_views.py compare them with the pure modules' in a subprocess).
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
GROUPS: dict[str, tuple[str, ...]] = {
    # the per-post reading (not the pack loading)
    "monitor.claims": (
        "keywords", "mentions", "segment", "reading", "holders", "topics", "attrs", "extract",
    ),
    # the fold (not the service, the worker pool or the change log)
    "monitor.views": (
        "aggregate", "mentions", "firmness", "exchange_index", "exchanges", "demands",
        "proposals", "responses", "state", "projection",
    ),
}  # fmt: skip
"""The compiled modules of each package."""
SOURCES: dict[str, tuple[str, ...]] = {
    "monitor.claims": ("monitor/claims/*.py", "monitor/posts.py", "monitor/native.py"),
    "monitor.views": (
        "monitor/views/*.py",
        "monitor/claims/model.py",
        "monitor/posts.py",
        "monitor/events.py",
        "store/records.py",
        "monitor/native.py",
    ),
}
"""What a group's build depends on (repository-relative globs): any change, another build."""
MODULES = GROUPS[PACKAGE]
ENV = "PARLEY_NATIVE"
_ROOT = Path(__file__).resolve().parent.parent  # the directory holding monitor/ and store/
_KEEP = 8  # builds kept (other source versions, e.g. of other branches); older ones are removed

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


def source_key(package: str = PACKAGE, base: Path = _ROOT) -> str:
    """The hash naming the build of `package` from the sources under `base` for this interpreter."""
    digest = hashlib.sha256()
    digest.update(importlib.machinery.EXTENSION_SUFFIXES[0].encode())
    digest.update(f"{package}: {' '.join(GROUPS[package])}".encode())
    for pattern in SOURCES[package]:
        for path in sorted(base.glob(pattern)):
            digest.update(f"\0{path.relative_to(base)}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def root() -> Path:
    """Where builds are kept: inside the virtual environment (never beside the sources)."""
    return Path(sys.prefix) / "parley-native"


def active(package: str = PACKAGE) -> bool:
    """True when the modules of `package` in use are the compiled ones."""
    return package in ACTIVE


def enabled(package: str) -> bool:
    """`PARLEY_NATIVE`: unset, empty or 1 uses every build, 0 none, else a comma-separated list
    of the packages whose builds to use (e.g. `monitor.claims`)."""
    value = os.environ.get(ENV, "").strip()
    if value in ("", "1"):
        return True
    return package in {name.strip() for name in value.split(",")}


def install(package: str, path: MutableSequence[str]) -> bool:
    """Load the compiled modules of `package` (whose `__path__` is `path`) when a build of the
    current sources exists; False (and nothing changed) otherwise."""
    if package not in GROUPS or not enabled(package):
        return False
    try:
        target = root() / source_key(package)
        manifest = json.loads((target / "manifest.json").read_text())
        lib_name, lib_file = str(manifest["lib"]), str(manifest["lib_file"])
    except (OSError, ValueError, KeyError, TypeError):  # no build (or no usable manifest)
        return False
    where = str(target / "modules")
    before = set(sys.modules)
    try:
        spec = importlib.util.spec_from_file_location(lib_name, target / lib_file)
        if spec is None or spec.loader is None:
            return False
        lib = importlib.util.module_from_spec(spec)
        sys.modules[lib_name] = lib
        spec.loader.exec_module(lib)
        path.insert(0, where)
        for name in GROUPS[package]:
            module = importlib.import_module(f"{package}.{name}")
            # (mypyc may name a module's file after its own path inside the build)
            if not str(getattr(module, "__file__", "")).startswith(str(target)):
                raise ImportError(f"{module.__name__} was not loaded from the build")
    except Exception:  # any failure: back to the pure modules, as if there were no build
        if where in path:
            path.remove(where)
        # the package's modules loaded meanwhile (compiled, or pure ones holding compiled
        # classes) and the library go; what else was imported (the standard library, another
        # package's own build) stays, as a plain import would have left it
        for name in set(sys.modules) - before:
            if name == lib_name or name.startswith(f"{package}."):
                del sys.modules[name]
        return False
    ACTIVE[package] = target.name
    return True


def build(*, quiet: bool = False) -> int:
    """Compile every group whose current sources have no build yet (nothing to do otherwise).

    Returns 0 when the builds are in place or cannot be made here (pure Python then), 1 when
    mypyc itself failed for a group (its output is printed; that group stays pure Python)."""
    say: Callable[[str], None] = (lambda _: None) if quiet else _say
    if shutil.which(os.environ.get("CC", "cc")) is None and shutil.which("gcc") is None:
        say("native: no C compiler: claims and views stay pure Python")
        return 0
    if importlib.util.find_spec("mypyc") is None:
        say("native: mypyc is not installed (the dev extra): claims and views stay pure Python")
        return 0
    base = root()
    base.mkdir(parents=True, exist_ok=True)
    failed = 0
    for package in GROUPS:
        if (base / source_key(package) / "manifest.json").exists():
            say(f"native: {package} up to date ({source_key(package)})")
            continue
        failed |= _build_group(package, base, say)
    _prune(base)
    return failed


def _build_group(package: str, base: Path, say: Callable[[str], None]) -> int:
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="build-", dir=base))
    try:
        src = work / "src"
        for top in ("monitor", "store"):
            shutil.copytree(
                _ROOT / top, src / top, ignore=shutil.ignore_patterns("__pycache__", "*.so")
            )
        key = source_key(package, src)  # of the copy compiled, even if the tree moved meanwhile
        (src / "mypy.ini").write_text("[mypy]\nignore_missing_imports = True\n")
        folder = package.replace(".", "/")
        files = [f"{folder}/{name}.py" for name in GROUPS[package]]
        done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "mypyc", *files],
            cwd=src,
            capture_output=True,
            text=True,
            check=False,
            timeout=900,
        )
        if done.returncode != 0:
            _say(f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
            _say(f"native: mypyc failed: {package} stays pure Python")
            return 1
        libs = list(src.glob("*__mypyc*.so"))
        if len(libs) != 1:
            _say(f"native: expected one mypyc library, found {libs}: {package} stays pure Python")
            return 1
        stage = work / "out"
        (stage / "modules").mkdir(parents=True)
        shutil.move(libs[0], stage / libs[0].name)
        for name in GROUPS[package]:
            (shim,) = (src / folder).glob(f"{name}.*.so")
            shutil.move(shim, stage / "modules" / shim.name)
        manifest = {
            "package": package,
            "lib": libs[0].name.split(".", 1)[0],
            "lib_file": libs[0].name,
            "modules": list(GROUPS[package]),
            "python": sys.version,
        }
        (stage / "manifest.json").write_text(json.dumps(manifest, indent=1))
        with contextlib.suppress(OSError):  # built meanwhile by another make: keep that one
            stage.rename(base / key)
        say(f"native: built {package} ({key}) in {time.perf_counter() - started:.1f} s")
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
        import monitor.claims  # installs the builds when there are
        import monitor.views  # noqa: F401

        imported = sys.modules[__spec__.name if __spec__ else __name__]  # not __main__
        for package in GROUPS:
            key = source_key(package)
            built = (root() / key / "manifest.json").exists()
            state = "built" if built else "not built"
            _say(f"{package}: sources {key} {state}; in use: {imported.active(package)}")
        return 0
    _say("usage: python -m monitor.native build|status")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
