"""One more process of the chat service next to a running system (a replica on a port of its
own, started as ``lk serve chat`` is), for the chat's cross-replica test and benchmark."""

from __future__ import annotations

import subprocess
import sys
import time

import httpx

from tests.harness import ROOT, System, free_port


def start_chat_replica(system: System, name: str = "chat-2") -> tuple[subprocess.Popen[bytes], str]:
    """(the process, its base URL) once it answers ``/health``; its log is ``<name>.log``."""
    port = free_port()
    env = {**system.env, "LK_CHAT_PORT": str(port)}
    log = open(system.root / f"{name}.log", "ab")  # noqa: SIM115 - kept open for the child
    proc = subprocess.Popen(
        [sys.executable, "-m", "shared.cli", "serve", "chat"], env=env, cwd=ROOT, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the chat replica exited: {system.log_tail(name)}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"the chat replica never became healthy: {system.log_tail(name)}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
