"""Shared fixtures: a real SQLite file per test and a real PostgreSQL database per test.

PostgreSQL comes from PARLEY_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres).
When nothing answers there, the set-up tries to start Debian's cluster with pg_ctlcluster. If that
fails too, PostgreSQL tests are skipped with the reason, except under CI (CI=true), where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(autouse=True)
def _structlog_defaults_after_each_test() -> Iterator[None]:
    """A test that runs the CLI in-process (typer's CliRunner) configures structlog to write to
    the runner's stderr, which is closed afterwards: every later log line in this process would
    raise. Each test therefore ends with structlog back at its defaults."""
    yield
    import structlog

    structlog.reset_defaults()


def _pg_admin_url() -> str:
    return os.environ.get("PARLEY_TEST_PG_URL", DEFAULT_PG_URL)


def _pg_connect(url: str):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(url, autocommit=True, connect_timeout=3)


def _try_start_cluster() -> str:
    """Start Debian's PostgreSQL cluster; return why not, or '' when it was started."""
    if shutil.which("pg_ctlcluster") is None:
        return "pg_ctlcluster not found (install Debian's postgresql package)"
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions:
        return "no cluster under /etc/postgresql"
    proc = subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode not in (0, 2):  # 2: already running
        return f"pg_ctlcluster failed: {proc.stderr.strip() or proc.stdout.strip()}"
    return ""


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """A URL to a live PostgreSQL server where tests may create and drop databases."""
    url = _pg_admin_url()
    try:
        _pg_connect(url).close()
        return url
    except Exception as first:
        reason = _try_start_cluster()
        if not reason:
            try:
                _pg_connect(url).close()
                return url
            except Exception as second:
                reason = f"started the cluster but still cannot connect: {second}"
        message = f"PostgreSQL tests need a server at {url}: {first}; {reason}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = f"parley_test_{uuid.uuid4().hex[:12]}"
    with _pg_connect(pg_admin_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(pg_admin_url)
    params["dbname"] = name
    user = params.get("user", "postgres")
    host = params.get("host", "127.0.0.1")
    port = params.get("port", "5432")
    yield f"postgresql://{user}@{host}:{port}/{name}"
    with _pg_connect(make_conninfo(pg_admin_url)) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database file in the test's temporary folder."""
    return f"sqlite:///{tmp_path / 'parley.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Every store test runs on both backends: a SQLite file and a real PostgreSQL database."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The project's shared folder (seed pages, gold labels, scorer), beside the checkout."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here.parent / "shared", here / "shared"):
        if (candidate / "seed").is_dir():
            return candidate
    pytest.fail(f"shared/ not found beside {here}")
