"""The deploy scripts (deploy/*.sh) against the real servers that ``make infra-up`` started.

The shared servers are only ever looked at here: every test that starts or stops a
server does it to a throwaway one (its own LK_INFRA_DIR and ports), or checks that the
shared ones are left alone. PostgreSQL is not stopped by any of them (its cluster is the
machine's, whatever LK_INFRA_DIR says).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
COMPONENTS = ("kafka", "postgres", "s3", "mailpit")


def run(script: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(DEPLOY / script), *args],
        cwd=ROOT,
        env=env if env is not None else dict(os.environ),
        capture_output=True,
        text=True,
        timeout=180,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def alive(pid: int) -> bool:
    """The process runs (a zombie, waiting for its parent to reap it, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def status_lines(out: str) -> dict[str, str]:
    return {c: line for line in out.splitlines() for c in COMPONENTS if line.startswith(f"{c}: ")}


def shared_mailpit_pid() -> str:
    answer = run("mailpit.sh", "status")
    assert answer.returncode == 0, answer.stdout + answer.stderr
    found = re.search(r"\(pid (\d+)\)", answer.stdout)
    assert found, answer.stdout
    return found.group(1)


def test_status_reports_every_component_healthy() -> None:
    answer = run("infra.sh", "status")
    lines = status_lines(answer.stdout)
    assert answer.returncode == 0, answer.stdout + answer.stderr
    assert set(lines) == set(COMPONENTS), answer.stdout
    for component, line in lines.items():
        assert "check ok:" in line, f"{component}: {line}"


def test_status_fails_when_mailpit_api_does_not_answer() -> None:
    env = {**os.environ, "LK_MAILPIT_CHECK_URL": f"http://127.0.0.1:{free_port()}"}
    answer = run("infra.sh", "status", env=env)
    lines = status_lines(answer.stdout)
    assert answer.returncode != 0, answer.stdout
    assert "fails the check" in lines["mailpit"] and "/api/v1/info" in lines["mailpit"], answer.stdout
    assert all("check ok:" in lines[c] for c in ("kafka", "postgres", "s3")), answer.stdout


@pytest.fixture
def elsewhere(tmp_path: Path) -> dict[str, str]:
    """The scripts' environment for a checkout whose servers live in tmp_path: the shared
    servers are not theirs."""
    return {
        **os.environ,
        "LK_INFRA_DIR": str(tmp_path / "infra"),
        "LK_VAR_DIR": str(tmp_path / "var"),
    }


def test_servers_that_are_not_ours_are_left_alone(elsewhere: dict[str, str]) -> None:
    before = shared_mailpit_pid()
    for script in ("mailpit.sh", "s3.sh", "kafka.sh"):
        answer = run(script, "stop", env=elsewhere)
        assert answer.returncode == 0, answer.stdout + answer.stderr
        assert "not ours, left alone" in answer.stdout, answer.stdout
    # a foreign server that fails the check is not taken over, nor killed
    broken = {**elsewhere, "LK_MAILPIT_CHECK_URL": f"http://127.0.0.1:{free_port()}"}
    answer = run("mailpit.sh", "start", env=broken)
    assert answer.returncode != 0
    assert "not ours" in answer.stderr and "left alone" in answer.stderr, answer.stderr
    assert shared_mailpit_pid() == before
    assert run("infra.sh", "status").returncode == 0


@pytest.fixture
def throwaway_mailpit(elsewhere: dict[str, str]) -> Iterator[dict[str, str]]:
    """A Mailpit of its own (own directory and ports), stopped afterwards."""
    tools = Path(os.environ.get("LK_TOOLS_DIR", Path.home() / ".cache" / "lk-tools"))
    if not any(tools.glob("mailpit/*/bin/mailpit")):
        pytest.skip("Mailpit is not installed (bash deploy/infra.sh up)")
    env = {
        **elsewhere,
        "LK_MAILPIT_SMTP_PORT": str(free_port()),
        "LK_MAILPIT_HTTP_PORT": str(free_port()),
        "LK_MAILPIT_POP3_PORT": str(free_port()),
    }
    try:
        yield env
    finally:
        run("mailpit.sh", "stop", env=env)


def started_pid(answer: subprocess.CompletedProcess[str]) -> int:
    assert answer.returncode == 0, answer.stdout + answer.stderr
    found = re.search(r"(?:started|already running) \(pid (\d+)\)", answer.stdout)
    assert found, answer.stdout
    return int(found.group(1))


def test_a_broken_server_of_ours_is_restarted(throwaway_mailpit: dict[str, str]) -> None:
    env = throwaway_mailpit
    data = Path(env["LK_INFRA_DIR"]) / "mailpit"
    first = started_pid(run("mailpit.sh", "start", env=env))
    assert started_pid(run("mailpit.sh", "start", env=env)) == first  # healthy: reused

    # its database deleted under it: status says so, start restarts it (data is not made up)
    for f in data.glob("mailpit.db*"):
        f.unlink()
    answer = run("mailpit.sh", "status", env=env)
    assert answer.returncode == 1 and "mailpit.db is gone" in answer.stdout, answer.stdout
    answer = run("mailpit.sh", "start", env=env)
    second = started_pid(answer)
    assert second != first and "fails the check" in answer.stderr, answer.stderr
    assert not alive(first)
    assert run("mailpit.sh", "status", env=env).returncode == 0


def test_stop_finds_our_server_without_its_pid_file(throwaway_mailpit: dict[str, str]) -> None:
    env = throwaway_mailpit
    pid = started_pid(run("mailpit.sh", "start", env=env))
    (Path(env["LK_INFRA_DIR"]) / "mailpit" / "mailpit.pid").unlink()
    answer = run("mailpit.sh", "stop", env=env)
    assert answer.returncode == 0 and f"stopping (pid {pid})" in answer.stdout, answer.stdout
    assert not alive(pid)


@pytest.mark.skipif(
    shutil.which("shellcheck") is None, reason="shellcheck missing (make infra-lint installs it)"
)
def test_shellcheck_deploy_scripts() -> None:
    scripts = sorted(str(p) for p in DEPLOY.glob("*.sh"))
    answer = subprocess.run(["shellcheck", "-x", *scripts], capture_output=True, text=True, timeout=120)
    assert answer.returncode == 0, answer.stdout


def test_env_keeps_a_configured_database() -> None:
    """``make run-stack`` evaluates ``infra.sh env``: a deployment's own database must stay."""
    script = 'eval "$(bash deploy/infra.sh env)"; printf "%s|%s" "$LK_POSTGRES_DSN" "$LK_KAFKA_BOOTSTRAP"'
    mine = "postgresql://lk:lk@127.0.0.1:5432/lk_mine"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LK_")}
    done = subprocess.run(
        ["bash", "-c", script], env={**env, "LK_POSTGRES_DSN": mine}, cwd=ROOT, capture_output=True, text=True
    )
    assert done.stdout == f"{mine}|127.0.0.1:9092"
