"""deploy/parley.service: systemd accepts it, it is hardened, and Parley runs under its rules.

`systemd-analyze verify` needs the ExecStart binary to exist, so the unit is checked with its
`/opt/parley/bin/parley` rewritten to this virtual environment's `parley`. Those tests are
skipped only where systemd-analyze is not installed (a machine without systemd), and say so.

MemoryDenyWriteExecute= is the one hardening line that can break a Python program (a JIT, or
ctypes callbacks on an old libffi). Linux 6.3+ enforces the same rule for a process and its
children with prctl(PR_SET_MDWE): the last tests run the whole pipeline under it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.unitfile import read_unit, single, values

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "parley.service"
INSTALLED_PARLEY = "/opt/parley/bin/parley"
PARLEY = str(Path(sys.executable).parent / "parley")
ANALYZE = shutil.which("systemd-analyze")
MAX_EXPOSURE = 2.0  # `systemd-analyze security` scale: 0 (locked down) to 10 (exposed)

needs_analyze = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze is not installed on this machine (no systemd)"
)


def _local_unit(tmp_path: Path, text: str | None = None) -> Path:
    """The unit, named parley.service, with its parley commands pointing at this venv."""
    text = UNIT.read_text(encoding="utf-8") if text is None else text
    assert INSTALLED_PARLEY in text
    unit = tmp_path / "parley.service"
    unit.write_text(text.replace(INSTALLED_PARLEY, PARLEY), encoding="utf-8")
    return unit


def _verify(unit: Path) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run(
        [ANALYZE, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )


def _complaints(proc: subprocess.CompletedProcess[str], unit: Path) -> list[str]:
    """Lines of verify's output about our unit (it may also mention the host's own units)."""
    return [line for line in (proc.stdout + proc.stderr).splitlines() if unit.name in line]


@needs_analyze
def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    """systemd parses every line of the unit without a warning, and finds its executables."""
    unit = _local_unit(tmp_path)
    proc = _verify(unit)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _complaints(proc, unit) == []


@needs_analyze
def test_verify_catches_a_misspelt_key_and_a_missing_binary(tmp_path: Path) -> None:
    """The check above can fail: a typo in a key is reported, a missing binary fails verify."""
    text = UNIT.read_text(encoding="utf-8")
    typo = _local_unit(tmp_path, text.replace("ProtectSystem=strict", "ProtectSytem=strict"))
    assert any("ProtectSytem" in line for line in _complaints(_verify(typo), typo))
    missing = tmp_path / "missing"
    missing.mkdir()
    unit = missing / "parley.service"
    unit.write_text(text.replace(INSTALLED_PARLEY, str(tmp_path / "no-such-parley")))
    proc = _verify(unit)
    assert proc.returncode != 0
    assert "no-such-parley" in proc.stdout + proc.stderr


@needs_analyze
def test_security_exposure_stays_low(tmp_path: Path) -> None:
    """`systemd-analyze security --offline` rates the unit at most MAX_EXPOSURE (docs/operations.md)."""
    assert ANALYZE is not None
    unit = _local_unit(tmp_path)
    proc = subprocess.run(
        [ANALYZE, "security", "--offline=yes", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    match = re.search(r"Overall exposure level for parley\.service: ([0-9.]+)", proc.stdout)
    assert match, proc.stdout + proc.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE, proc.stdout


def test_unit_has_the_hardening_the_issue_asks_for() -> None:
    """The settings issue #7 names, with the values that make them effective."""
    unit = read_unit(UNIT)
    expected = {
        "DynamicUser": "yes",
        "ProtectSystem": "strict",
        "StateDirectory": "parley",
        "NoNewPrivileges": "yes",
        "Restart": "on-failure",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes",
        "ProtectKernelLogs": "yes",
        "ProtectControlGroups": "yes",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
        "CapabilityBoundingSet": "",
        "MemoryDenyWriteExecute": "yes",
        "LockPersonality": "yes",
        "KillSignal": "SIGTERM",
    }
    for key, value in expected.items():
        assert single(unit, "Service", key) == value, key
    assert "@system-service" in values(unit, "Service", "SystemCallFilter")
    stop = single(unit, "Service", "TimeoutStopSec")
    # parley run stops within ~15 s at worst (docs/monitor.md); give it that and more.
    assert int(stop.removesuffix("s")) >= 15


def test_unit_checks_the_etc_config_then_runs_parley_on_it() -> None:
    """ExecStartPre checks /etc/parley/parley.toml; ExecStart runs the daemon on it (JSON logs)."""
    unit = read_unit(UNIT)
    start = single(unit, "Service", "ExecStart").split()
    assert start[0] == INSTALLED_PARLEY
    assert start[-3:] == ["run", "--config", "/etc/parley/parley.toml"]
    assert start[1:3] == ["--log-format", "json"]
    pre = single(unit, "Service", "ExecStartPre").split()
    assert pre == [INSTALLED_PARLEY, "config", "check", "/etc/parley/parley.toml"]


@pytest.mark.parametrize("key", ["ExecStartPre", "ExecStart"])
def test_unit_commands_name_real_parley_options(key: str) -> None:
    """Each command line parses with this Parley (`--help` appended): no renamed option or
    command breaks the service unnoticed (systemd-analyze checks only that the binary exists)."""
    argv = single(read_unit(UNIT), "Service", key).split()
    proc = subprocess.run(
        [PARLEY, *argv[1:], "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_unit_writes_no_secret_and_reads_secrets_from_root_only_places() -> None:
    """Secrets come from an EnvironmentFile or credentials, never from Environment= lines."""
    unit = read_unit(UNIT)
    for value in values(unit, "Service", "Environment"):
        name = value.partition("=")[0]
        assert name in {"HOME", "XDG_DATA_HOME", "PYTHONDONTWRITEBYTECODE"}, value
    assert values(unit, "Service", "EnvironmentFile") == ["-/etc/parley/parley.env"]
    commented = [
        line for line in UNIT.read_text().splitlines() if line.startswith("#LoadCredential=")
    ]
    assert commented, "the unit shows how to hand over secret files"
    # Each example credential sits where the config's *_file keys are told to look.
    assert "/run/credentials/parley.service/" in UNIT.read_text()


# --- MemoryDenyWriteExecute: the whole pipeline under the kernel's equivalent rule ----------

_PR_SET_MDWE = 65
_PR_MDWE_REFUSE_EXEC_GAIN = 1
_LAUNCH = f"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl({_PR_SET_MDWE}, {_PR_MDWE_REFUSE_EXEC_GAIN}, 0, 0, 0) != 0:
    sys.exit("PR_SET_MDWE: " + os.strerror(ctypes.get_errno()))
os.execv(sys.argv[1], sys.argv[1:])
"""


def _mdwe_supported() -> str:
    """'' when this kernel enforces PR_SET_MDWE (checked in a child), else why not."""
    probe = f"import ctypes; print(ctypes.CDLL(None).prctl({_PR_SET_MDWE}, 1, 0, 0, 0))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    ).stdout.strip()
    return (
        "" if out == "0" else f"this kernel has no PR_SET_MDWE (Linux 6.3+): {os.uname().release}"
    )


_MDWE_REASON = _mdwe_supported()
needs_mdwe = pytest.mark.skipif(bool(_MDWE_REASON), reason=_MDWE_REASON or "-")


def _under_mdwe(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _LAUNCH, *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@needs_mdwe
def test_mdwe_launcher_really_forbids_writable_executable_memory() -> None:
    """The rule is in force in the launched process: a W+X mapping is refused."""
    code = (
        "import mmap\n"
        "try:\n"
        "    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)\n"
        "    print('allowed')\n"
        "except PermissionError:\n"
        "    print('refused')\n"
    )
    proc = _under_mdwe(sys.executable, "-c", code)
    assert proc.stdout.strip() == "refused", proc.stdout + proc.stderr


@pytest.mark.slow
@pytest.mark.postgres
@needs_mdwe
def test_whole_pipeline_runs_without_writable_executable_memory(
    pg_url: str, tmp_path: Path
) -> None:
    """demo (fetch, parse every kind, claims, views, alerts), verify and a signed checkpoint on
    PostgreSQL, all under MemoryDenyWriteExecute's rule: every compiled dependency is loaded."""
    demo = _under_mdwe(PARLEY, "--db", pg_url, "demo", "--until-done", "--speed", "3000")
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "20/20 posts published" in demo.stdout
    key = tmp_path / "auditor.key"
    keygen = _under_mdwe(PARLEY, "audit", "keygen", "--out", str(key))
    assert keygen.returncode == 0, keygen.stdout + keygen.stderr
    cp = tmp_path / "cp.json"
    sign = _under_mdwe(PARLEY, "--db", pg_url, "checkpoint", "--sign", str(key), "--out", str(cp))
    assert sign.returncode == 0, sign.stdout + sign.stderr
    verify = _under_mdwe(PARLEY, "--db", pg_url, "verify", "--checkpoint", str(cp))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "ok: the log extends the checkpoint" in verify.stdout
