"""One replica at a time: leadership by PostgreSQL session advisory locks.

Work that must have a single writer (a service's outbox relay, a projection's consumer, the
notifier's chat-mail scheduler) runs only while its replica holds ``pg_try_advisory_lock(key)``,
the key derived from the work's name. One :class:`Leader` per process keeps one connection for
all of its locks. While some of them are someone else's, it asks for those every ``retry``
seconds, in one statement (a follower's whole cost: one statement a second); while it holds
everything it wants, it only looks at its connection every ``check`` seconds (and is told at
once when the connection closes). When a leader dies its session ends, the server releases
its locks, and the next replica to ask takes over. When the leader's own connection is lost
it stops every work it led (the locks may be someone else's by then) and asks again.

Work that ends (or fails, to be restarted by the service's workers) gives its lock back, so a
replica whose work keeps failing lets another one try. Without a database (SQLite, the
embedded mode: one process) there is nothing to share and the work simply runs. Advisory locks
belong to a database, so systems in databases of their own never meet.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import structlog

from shared.consumer import ConsumerRunner, Projection
from shared.readstore import ReadStore
from shared.transport import Transport

log = structlog.get_logger(__name__)

RETRY = 1.0  # seconds between a follower's attempts to take the locks it wants
CHECK = 10.0  # seconds between looks at the connection while every wanted lock is held (as LK_FALLBACK_POLL)
TIMEOUT = 5.0
_FAILURES = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


async def _stop(task: asyncio.Task[None]) -> None:
    """Cancel until it is done: on Python 3.11 a cancellation can be swallowed inside library
    code (asyncpg's own timeouts), as the workers' stop knows (shared/runtime.py)."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=1.0)
    if not task.cancelled():
        with contextlib.suppress(Exception):
            task.exception()  # retrieved: the caller has its own answer


def lock_key(name: str) -> int:
    """The advisory lock's key of ``name``: 64 bits of a hash, as PostgreSQL's signed bigint."""
    digest = hashlib.blake2b(f"lk.leader:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass(eq=False)
class _Claim:
    name: str
    key: int
    granted: asyncio.Event = field(default_factory=asyncio.Event)
    revoked: asyncio.Event = field(default_factory=asyncio.Event)


class Leader:
    """This process's side of every leadership; ``dsn`` None: it always leads."""

    def __init__(self, dsn: str | None, retry: float = RETRY, check: float = CHECK) -> None:
        self.dsn = dsn
        self.retry = retry
        self.check = check
        self.statements = 0  # statements sent on the lock connection (the idle cost)
        self.terms: dict[str, int] = {}  # name -> how many times this replica became its leader
        self._claims: dict[str, _Claim] = {}
        self._held: set[str] = set()
        self._release: set[int] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def leads(self, name: str) -> bool:
        return name in self._held

    @property
    def leading(self) -> list[str]:
        return sorted(self._held)

    async def hold(self, name: str, work: Callable[[], Awaitable[None]]) -> None:
        """Wait to lead ``name``, run ``work`` while leading it (stopped when the lead is lost,
        then waited for again); returns when ``work`` returns, raises what it raises."""
        if self.dsn is None:
            self._held.add(name)
            self.terms[name] = self.terms.get(name, 0) + 1
            try:
                await work()
            finally:
                self._held.discard(name)
            return
        if name in self._claims:
            raise RuntimeError(f"{name} is already held in this process")
        claim = _Claim(name, lock_key(name))
        self._claims[name] = claim
        self._ensure_running()
        self._wake.set()
        try:
            while True:
                await claim.granted.wait()
                if await self._lead(claim, work):
                    return
                log.warning("leader.lost", name=name)
        finally:
            self._claims.pop(name, None)
            if name in self._held:
                self._held.discard(name)
                self._release.add(claim.key)
                self._wake.set()

    async def _lead(self, claim: _Claim, work: Callable[[], Awaitable[None]]) -> bool:
        """Run ``work`` until it ends (True) or the lead is revoked (False)."""
        self.terms[claim.name] = self.terms.get(claim.name, 0) + 1
        log.info("leader.elected", name=claim.name)

        async def run() -> None:
            await work()

        task = asyncio.create_task(run(), name=f"led:{claim.name}")
        revoked = asyncio.create_task(claim.revoked.wait())
        try:
            await asyncio.wait({task, revoked}, return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                task.result()  # the work's own exception, if any
                return True
            return False
        finally:
            revoked.cancel()
            await _stop(task)

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="leader")

    async def close(self) -> None:
        """Stop asking; the connection's close gives back every lock held."""
        self._closing = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            await _stop(task)

    async def _run(self) -> None:
        assert self.dsn is not None
        while not self._closing:
            try:
                conn = await asyncpg.connect(self.dsn, timeout=TIMEOUT)
            except _FAILURES as exc:
                log.warning("leader.unavailable", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(self.retry)
                continue
            conn.add_termination_listener(lambda _: self._wake.set())
            try:
                await self._serve(conn)
            except _FAILURES as exc:
                log.warning("leader.connection_lost", error=f"{type(exc).__name__}: {exc}")
            finally:
                self._revoke_all()
                try:
                    await conn.close(timeout=TIMEOUT)
                except _FAILURES:
                    conn.terminate()
            await asyncio.sleep(self.retry)

    async def _serve(self, conn: asyncpg.Connection) -> None:
        """Ask for the locks wanted, give back the ones released, until the connection fails."""
        while not self._closing:
            self._wake.clear()
            if conn.is_closed():
                raise asyncpg.InterfaceError("the lock connection is closed")
            if self._release:
                keys, self._release = list(self._release), set()
                self.statements += 1
                await conn.execute(
                    "SELECT pg_advisory_unlock(k) FROM unnest($1::bigint[]) AS k", keys, timeout=TIMEOUT
                )
            wanted = {c.key: c for c in self._claims.values() if c.name not in self._held}
            if wanted:
                self.statements += 1
                rows = await conn.fetch(
                    "SELECT k, pg_try_advisory_lock(k) AS got FROM unnest($1::bigint[]) AS k",
                    list(wanted),
                    timeout=TIMEOUT,
                )
                for row in rows:
                    if not row["got"]:
                        continue
                    claim = wanted[row["k"]]
                    if self._claims.get(claim.name) is not claim:  # given up while asked for
                        self._release.add(claim.key)
                        self._wake.set()
                        continue
                    claim.revoked.clear()
                    self._held.add(claim.name)
                    claim.granted.set()
            wait = self.retry if any(c.name not in self._held for c in self._claims.values()) else self.check
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
                continue  # a new claim or a release: at once
            if not any(c.name not in self._held for c in self._claims.values()):
                self.statements += 1
                await conn.fetchval("SELECT 1", timeout=TIMEOUT)  # still connected: still leading

    def _revoke_all(self) -> None:
        self._release.clear()  # a new connection holds nothing to give back
        for claim in self._claims.values():
            if claim.name in self._held:
                claim.granted.clear()
                claim.revoked.set()
        self._held.clear()


FOLLOW_POLL = 0.05  # seconds between a follower's looks at the rows its leader committed


class LedRunner(ConsumerRunner):
    """A projection's consumer run by one replica at a time (the read model has one writer).
    The other replicas answer read-your-writes from what the leader committed: the stream's
    applied sequence in ``lk_consumer_applied``, read until it is there."""

    def __init__(
        self,
        projection: Projection,
        transport: Transport,
        store: ReadStore,
        leader: Leader,
        on_applied: Callable[[], None] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(projection, transport, store, on_applied, **options)
        self.leader = leader
        self.lead = f"consumer:{projection.name}"

    @property
    def leading(self) -> bool:
        return self.leader.leads(self.lead)

    async def run(self) -> None:
        await self.leader.hold(self.lead, super().run)

    async def wait_for_subject(self, source: str, subject: str, sequence: int, timeout: float = 5.0) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.leader.dsn is not None and not self.leading:  # embedded: the one process leads
            applied = await self.store.fetchval(
                "SELECT sequence FROM lk_consumer_applied WHERE consumer = $1 AND source = $2 AND subject = $3",
                self.projection.name,
                source,
                subject,
            )
            if applied is not None and int(applied) >= sequence:
                return True
            if loop.time() >= deadline or self.stalled():
                return False
            await asyncio.sleep(FOLLOW_POLL)
        return await super().wait_for_subject(source, subject, sequence, max(0.0, deadline - loop.time()))
