"""deploy/Dockerfile, deploy/compose.yaml, deploy/parley.compose.toml and .dockerignore agree.

No image is built here (that needs the base images from a registry; docs/operations.md says how
it was checked). These tests read the files and check what matters: a non-root user, a health
check on the port Parley really serves, the config path, ports published on 127.0.0.1 only, a
config that Parley and the alerts accept and whose hosts are the compose services.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from alerts.config import build_channels, parse_alerts
from monitor.config import load_settings, parse_settings
from monitor.simulator import FORMATS, PAGE_SELECTORS

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CONFIG_IN_CONTAINER = "/etc/parley/parley.toml"
STATE_DIR = "/var/lib/parley"
PARLEY = str(Path(sys.executable).parent / "parley")


def _instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    assert not pending, "the Dockerfile ends inside a continued line"
    return out


def _stages(path: Path) -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for word, rest in _instructions(path):
        if word == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((word, rest))
    return stages


def _exec_form(rest: str) -> list[str]:
    value = yaml.safe_load(rest)  # a JSON array is YAML too
    assert isinstance(value, list), f"not the exec (JSON) form: {rest}"
    return [str(v) for v in value]


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _compose_settings():  # type: ignore[no-untyped-def]
    return load_settings(DEPLOY / "parley.compose.toml", env={})


def test_dockerfile_is_multi_stage_and_runs_as_a_fixed_non_root_user() -> None:
    """The runtime stage copies the venv from the build stage and switches to uid 10001."""
    stages = _stages(DEPLOY / "Dockerfile")
    assert len(stages) >= 2
    runtime = stages[-1]
    assert any(w == "COPY" and r.startswith("--from=build ") for w, r in runtime)
    users = [r for w, r in runtime if w == "USER"]
    assert users, "the runtime stage sets a USER"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    assert user.isdigit(), "a numeric uid: Kubernetes' runAsNonRoot can check it"
    # Nothing after USER runs as root again, and nothing installs a compiler into the runtime.
    after = runtime[[w for w, _ in runtime].index("USER") :]
    assert not any(w == "USER" and r.split(":")[0] in ("root", "0") for w, r in after)
    assert not any("gcc" in r or "build-essential" in r for _, r in runtime)


def test_the_build_stage_compiles_the_native_modules_and_fails_unless_they_are_in_use() -> None:
    """The build stage runs `monitor.native build` in the venv the runtime copies, then requires
    `status` to report both groups in use (so a failed compile fails the image, not its speed)."""
    from monitor.native import GROUPS

    build = _stages(DEPLOY / "Dockerfile")[0]
    runs = [r for w, r in build if w == "RUN" and "monitor.native build" in r]
    assert len(runs) == 1
    run = runs[0]
    assert "/opt/parley/bin/python -m monitor.native build" in run
    assert "gcc" in run
    check = run[run.index("monitor.native build") :]
    assert "monitor.native status" in check
    assert f"grep -c 'in use: True')\" = {len(GROUPS)}" in check
    assert ("ARG", "NATIVE=1") in build


def test_dockerfile_runs_parley_on_the_etc_config_with_the_state_dir_as_a_volume() -> None:
    """ENTRYPOINT + CMD is `parley ... run --config /etc/parley/parley.toml`; the state is a volume."""
    runtime = _stages(DEPLOY / "Dockerfile")[-1]
    entry = _exec_form(next(r for w, r in runtime if w == "ENTRYPOINT"))
    cmd = _exec_form(next(r for w, r in runtime if w == "CMD"))
    argv = entry + cmd
    assert Path(argv[0]).name == "parley"
    assert argv[-3:] == ["run", "--config", CONFIG_IN_CONTAINER]
    volumes = [_exec_form(r) for w, r in runtime if w == "VOLUME"]
    assert [STATE_DIR] in volumes
    assert ("WORKDIR", STATE_DIR) in runtime
    assert ("STOPSIGNAL", "SIGTERM") in runtime


def test_healthcheck_asks_healthz_on_the_port_parley_serves_without_curl() -> None:
    """HEALTHCHECK calls /healthz with Python's urllib on Parley's default port (no curl in the image)."""
    runtime = _stages(DEPLOY / "Dockerfile")[-1]
    checks = [r for w, r in runtime if w == "HEALTHCHECK"]
    assert len(checks) == 1
    check = checks[0]
    assert "curl" not in check
    assert "wget" not in check
    assert "urllib.request" in check
    default = parse_settings("", path="empty.toml", env={}).service.listen  # a file's default
    assert default is not None
    assert f"http://127.0.0.1:{default[1]}/healthz" in check
    exposed = [r for w, r in runtime if w == "EXPOSE"]
    assert str(default[1]) in " ".join(exposed)


def test_dockerignore_lets_in_exactly_what_the_dockerfile_copies() -> None:
    """.dockerignore excludes everything, then allows back each path the Dockerfile COPYs."""
    lines = [
        ln.strip()
        for ln in (ROOT / ".dockerignore").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {ln[1:].rstrip("/") for ln in lines if ln.startswith("!")}
    copied: set[str] = set()
    for word, rest in _instructions(DEPLOY / "Dockerfile"):
        if word == "COPY" and not rest.startswith("--from"):
            copied.update(p.rstrip("/") for p in rest.split()[:-1])
    assert copied, "the Dockerfile copies files from the context"
    assert copied <= allowed, f"COPY needs {sorted(copied - allowed)} let back in"
    for path in copied:
        assert (ROOT / path).exists(), path
    for secret_like in (".env", "parley.db", "auditor.key", ".venv", ".git", "tests"):
        assert not any(fnmatch.fnmatch(secret_like, a) for a in allowed), secret_like


def test_compose_publishes_every_port_on_loopback_only() -> None:
    """Each published port is bound to 127.0.0.1; PostgreSQL publishes none."""
    services = _compose()["services"]
    published = 0
    for name, service in services.items():
        for port in service.get("ports", []):
            assert isinstance(port, str), f"{name}: write ports as 'IP:HOST:CONTAINER' strings"
            assert port.startswith("127.0.0.1:"), f"{name}: {port} is reachable from other machines"
            published += 1
    assert published >= 2
    assert "ports" not in services["postgres"]


def test_compose_runs_parley_with_postgres_a_mail_catcher_and_its_config() -> None:
    """parley waits for a healthy PostgreSQL, mounts parley.compose.toml read-only at the config
    path, keeps its state in a named volume, and publishes the endpoints' port."""
    compose = _compose()
    services = compose["services"]
    assert {"parley", "postgres", "mail"} <= set(services)
    parley = services["parley"]
    assert parley["build"]["dockerfile"] == "deploy/Dockerfile"
    assert (DEPLOY / parley["build"]["context"] / parley["build"]["dockerfile"]).is_file()
    assert parley["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" in services["postgres"]
    volumes = parley["volumes"]
    assert f"./parley.compose.toml:{CONFIG_IN_CONTAINER}:ro" in volumes
    state = [v for v in volumes if v.split(":")[1] == STATE_DIR]
    assert len(state) == 1
    assert state[0].split(":")[0] in compose["volumes"]
    listen = _compose_settings().service.listen
    assert listen == ("0.0.0.0", 9107)  # inside the container, so the published port reaches it
    assert f"127.0.0.1:{listen[1]}:{listen[1]}" in parley["ports"]
    url = urlsplit(parley["environment"]["PARLEY_DATABASE_URL"])
    assert url.hostname == "postgres"
    assert url.username == services["postgres"]["environment"]["POSTGRES_USER"]
    assert url.path == "/" + services["postgres"]["environment"]["POSTGRES_DB"]


def test_compose_config_is_accepted_by_parley_and_points_at_the_compose_services() -> None:
    """parley.compose.toml loads; its sources are the simulator service's formats; its mail
    channel builds (no secret needed) and sends to the mail service's SMTP port."""
    services = _compose()["services"]
    settings = _compose_settings()
    sim = services["simulator"]["command"]
    assert sim[0] == "simulate"
    sim_port = int(sim[sim.index("--port") + 1])
    paths = {path for path, _ in FORMATS.values()}
    assert len(settings.sources) == len(FORMATS)
    for source in settings.sources:
        url = urlsplit(source.url)
        assert (url.hostname, url.port) == ("simulator", sim_port), source.name
        assert url.path in paths, source.name
    html = next(s for s in settings.sources if s.kind == "html")
    assert dict(html.settings["selectors"]) == dict(PAGE_SELECTORS)
    alerts = parse_alerts(settings.alerts)
    channels = build_channels(alerts, environ={})
    assert list(channels) == ["newsroom-mail"]
    mail = alerts.channels["newsroom-mail"]
    assert mail["host"] == "mail"
    assert mail["host"] in services
    assert settings.database_url is not None
    assert urlsplit(settings.database_url).hostname == "postgres"


def test_parley_config_check_accepts_the_compose_config() -> None:
    """`parley config check` (what the unit runs before starting) passes on parley.compose.toml."""
    proc = subprocess.run(
        [PARLEY, "config", "check", str(DEPLOY / "parley.compose.toml")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "newsroom-mail" in proc.stdout


def test_image_and_compose_commands_name_real_parley_options() -> None:
    """The image's ENTRYPOINT + CMD and the simulator's command parse with this Parley."""
    runtime = _stages(DEPLOY / "Dockerfile")[-1]
    image_cmd = _exec_form(next(r for w, r in runtime if w == "CMD"))
    simulator = [str(a) for a in _compose()["services"]["simulator"]["command"]]
    for argv in (image_cmd, simulator):
        proc = subprocess.run(
            [PARLEY, *argv, "--help"], capture_output=True, text=True, timeout=120, check=False
        )
        assert proc.returncode == 0, f"{argv}: {proc.stdout}{proc.stderr}"


def _compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


COMPOSE = _compose_cli()


@pytest.mark.skipif(
    COMPOSE is None, reason="neither `docker compose` nor docker-compose is installed here"
)
def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    """`docker compose config` (no daemon needed) resolves the file without an error.

    docker-compose 1.x (Debian 12's) predates the top-level `name:`; it checks a copy without it.
    """
    assert COMPOSE is not None
    compose = DEPLOY / "compose.yaml"
    if Path(COMPOSE[0]).name == "docker-compose":
        text = compose.read_text().replace("name: parley\n", "")
        compose = DEPLOY / f".compose-check-{tmp_path.name}.yaml"
        compose.write_text(text)
    try:
        proc = subprocess.run(
            [*COMPOSE, "-p", "parley", "-f", str(compose), "config"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        if compose.name.startswith(".compose-check-"):
            compose.unlink()
    assert proc.returncode == 0, proc.stderr
    resolved = yaml.safe_load(proc.stdout)
    assert set(resolved["services"]) == {"parley", "postgres", "mail", "simulator"}
