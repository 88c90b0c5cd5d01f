"""Identity: login latency at a steady 20 logins/s with the chosen argon2 parameters, and
the cost of a token check on the gateway (the Authenticator every service runs)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.common import Figure, Infra, Section, out, percentile
from bench.gateway import PASSWORD, log_in
from services.identity.tokens import issue_access_token
from shared.auth import Authenticator, read_token
from shared.consumer import ConsumerRunner
from shared.readstore import SQLiteReadStore
from shared.sessions import SessionRegistry
from tests.harness import System

RATE = 20.0
SECONDS = 10.0


def _argon2() -> str:
    from services.identity.passwords import _hasher as hasher

    return f"argon2id t={hasher.time_cost} m={hasher.memory_cost // 1024} MiB p={hasher.parallelism}"


async def _paced_logins(base_url: str, login: str, failures: list[int]) -> list[float]:
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:

        async def one() -> None:
            started = time.perf_counter()
            try:
                answer = await http.post("/api/v1/sessions", json={"login": login, "password": PASSWORD})
            except httpx.HTTPError:
                failures.append(1)
                return
            if answer.status_code == 201:
                latencies.append((time.perf_counter() - started) * 1000)
            else:
                failures.append(answer.status_code)

        tasks = []
        start = time.perf_counter()
        for i in range(int(RATE * SECONDS)):
            await asyncio.sleep(max(0.0, start + i / RATE - time.perf_counter()))
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
    return latencies


def login_latency(infra: Infra, mode: str) -> dict[str, Any]:
    section = Section(
        f"identity / {mode}: POST /api/v1/sessions through the gateway at {RATE:.0f}/s, {_argon2()}"
    )
    system = System.create(mode, infra.tmpdir(f"login-{mode}"))
    if "LK_TOPIC_PREFIX" in system.env:
        infra.topic_prefixes.append(system.env["LK_TOPIC_PREFIX"])
    try:
        system.start()
        token = log_in(system)
        with system.client() as http:
            login = http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()["login"]
        failures: list[int] = []
        latencies = asyncio.run(_paced_logins(system.base_url, login, failures))
    finally:
        system.destroy()
    section.add("logins", Figure("successful logins", len(latencies), "logins"))
    section.add("failures", Figure("failed or timed-out logins", len(failures), "logins", 0, "lower"))
    section.add("p50_ms", Figure("login p50", percentile(latencies, 50), "ms"))
    section.add("p99_ms", Figure("login p99", percentile(latencies, 99), "ms", 300, "lower"))
    return section.as_json()


def token_check(infra: Infra) -> dict[str, Any]:
    section = Section("identity / token check: Authenticator.authenticate on a warm registry (in process)")

    async def measure() -> tuple[float, float]:
        store = SQLiteReadStore(infra.tmpdir("auth") / "read.sqlite")
        await store.open()
        registry = SessionRegistry("bench", "identity.events")
        runner = ConsumerRunner(registry, None, store)  # type: ignore[arg-type]  # no transport needed
        secret = "bench-" + "k" * 40
        account, session = uuid.uuid4(), uuid.uuid4().hex
        expires = datetime.now(UTC) + timedelta(hours=1)
        from shared.sessions import OpenSession

        registry.sessions[session] = OpenSession(str(account), "consumer", ("consumer",), expires)
        auth = Authenticator(secret, registry, runner)
        token = issue_access_token(secret, account, session, expires, 1, 1)
        n = 20000
        started = time.perf_counter()
        for _ in range(n):
            await auth.authenticate(token)
        warm = (time.perf_counter() - started) / n * 1e6
        fresh = [issue_access_token(secret, account, uuid.uuid4().hex, expires, 1, 1) for _ in range(2000)]
        started = time.perf_counter()
        for one in fresh:
            assert read_token(secret, one) is not None  # first sight: full HS256 verification
        cold = (time.perf_counter() - started) / len(fresh) * 1e6
        await store.close()
        return warm, cold

    warm, cold = asyncio.run(measure())
    section.add(
        "check_us", Figure("token check (signature cached, registry look-up)", warm, "µs", 200, "lower")
    )
    section.add("verify_us", Figure("first check of a token (HS256 verification)", cold, "µs", 200, "lower"))
    return section.as_json()


def run(infra: Infra) -> dict[str, Any]:
    out(f"  argon2 parameters: {_argon2()}")
    return {
        "token_check": token_check(infra),
        "login_stack": login_latency(infra, "stack"),
        "login_embedded": login_latency(infra, "embedded"),
    }
