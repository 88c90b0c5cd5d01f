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
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import structlog

from shared.consumer import ConsumerRunner, Projection
from shared.readstore import ReadStore, advisory_key
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
    """The advisory lock's key of ``name``."""
    return advisory_key(f"lk.leader:{name}")


@dataclass(eq=False)
class _Claim:
    name: str
    key: int
    granted: asyncio.Event = field(default_factory=asyncio.Event)
    revoked: asyncio.Event = field(default_factory=asyncio.Event)


class Leader:
    """This process's side of every leadership; ``dsn`` None: it always leads."""

    def __init__(
        self, dsn: str | None, retry: float = RETRY, check: float = CHECK, group: str = "lk"
    ) -> None:
        self.dsn = dsn
        self.retry = retry
        self.check = check
        # This process among the others of its group (a service's replicas): the lock
        # connection's application_name, which the others see in pg_stat_activity.
        self.group = group
        self.member = f"lk:{group}:{uuid.uuid4().hex}"
        self.members: tuple[str, ...] = (self.member,) if dsn is None else ()
        self._watchers: list[Callable[[], None]] = []
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

    def watch_members(self, changed: Callable[[], None]) -> None:
        """Keep ``members`` current (the live processes of the group, sorted), looked at every
        ``retry`` seconds from now on; ``changed`` is called whenever it changes."""
        self._watchers.append(changed)
        if self.dsn is not None:
            self._ensure_running()
            self._wake.set()

    def _set_members(self, members: tuple[str, ...]) -> None:
        if members != self.members:
            log.info("leader.members", group=self.group, members=len(members))
            self.members = members
            for changed in self._watchers:
                changed()

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
                conn = await asyncpg.connect(
                    self.dsn, timeout=TIMEOUT, server_settings={"application_name": self.member}
                )
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
                self._set_members(())  # unknown until connected again: nobody to share with
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
            if self._watchers:
                self.statements += 1
                rows = await conn.fetch(
                    "SELECT application_name FROM pg_stat_activity WHERE datname = current_database()"
                    " AND left(application_name, length($1)) = $1",
                    f"lk:{self.group}:",
                    timeout=TIMEOUT,
                )
                self._set_members(tuple(sorted(str(r["application_name"]) for r in rows)))
            waiting = any(c.name not in self._held for c in self._claims.values())
            wait = self.retry if waiting or self._watchers else self.check
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
                continue  # a new claim or a release: at once
            if not waiting and not self._watchers:
                self.statements += 1
                await conn.fetchval("SELECT 1", timeout=TIMEOUT)  # still connected: still leading

    def _revoke_all(self) -> None:
        self._release.clear()  # a new connection holds nothing to give back
        for claim in self._claims.values():
            if claim.name in self._held:
                claim.granted.clear()
                claim.revoked.set()
        self._held.clear()


FOLLOW_POLL = 0.05  # seconds between a wait's looks at the rows another replica committed


def shares(members: tuple[str, ...], member: str, partitions: int) -> frozenset[int]:
    """The partition numbers ``member`` applies among ``members`` (sorted, the same list in
    every replica): ``p`` goes to the ``p mod n``-th of the ``n`` members. Not a member (not
    connected yet, or cut off): none."""
    if member not in members:
        return frozenset()
    index, count = members.index(member), len(members)
    return frozenset(p for p in range(partitions) if p % count == index)


class PartitionedRunner(ConsumerRunner):
    """A projection's consumer whose partitions are split across the service's replicas.

    Partition ``p`` (of every topic the projection reads: the same aggregates, shared/transport)
    is applied by the replica that leads ``consumer:<name>#<p>``, so each stream still has one
    writer and its events stay in order. With ``spread`` (several replicas configured) a
    replica asks only for its share of the partitions (:func:`shares`, from the live members of
    its group, looked at every second) and gives back what is no longer its share once it has
    stopped applying it; a replica that dies loses its locks with its session, the members'
    list shrinks and the others take its partitions. Without ``spread`` every replica asks for
    every partition and one of them gets them all (the follower costs one statement a second).

    Read-your-writes: a stream of a partition this replica does not apply is waited for in
    ``lk_consumer_applied``, as the other replica commits it."""

    def __init__(
        self,
        projection: Projection,
        transport: Transport,
        store: ReadStore,
        leader: Leader,
        on_applied: Callable[[], None] | None = None,
        spread: bool = False,
        **options: Any,
    ) -> None:
        super().__init__(projection, transport, store, on_applied, **options)
        self.leader = leader
        self.lead = f"consumer:{projection.name}"
        self.partitions = max(1, transport.partition_count)
        self.spread = spread and leader.dsn is not None
        self.owned: frozenset[int] = frozenset()  # partitions whose lock is held and that are applied
        self._kick = asyncio.Event()
        self._consumer: asyncio.Task[None] | None = None
        self._consuming: frozenset[int] = frozenset()

    @property
    def leading(self) -> bool:
        """Whether it applies some partition (its lag and dead letters are reported here)."""
        return bool(self.owned)

    def owns(self, partition: int) -> bool:
        return partition % self.partitions in self.owned

    def _wanted(self) -> frozenset[int]:
        if not self.spread:
            return frozenset(range(self.partitions))
        return shares(self.leader.members, self.leader.member, self.partitions)

    async def run(self) -> None:
        await self.setup()
        claims: dict[int, asyncio.Task[None]] = {}
        if self.spread:
            self.leader.watch_members(self._kick.set)
        try:
            while True:
                self._kick.clear()
                wanted = self._wanted()
                for p in sorted(claims.keys() - wanted):  # no longer its share: stopped, then given back
                    await _stop(claims.pop(p))
                for p in sorted(wanted - claims.keys()):
                    claims[p] = asyncio.create_task(self._claim(p), name=f"{self.lead}#{p}")
                for p, task in list(claims.items()):
                    if task.done():  # the work ended: its error is the runner's (the workers restart it)
                        claims.pop(p)
                        task.result()
                if self._consuming != self.owned:
                    await self._restart()
                kick = asyncio.create_task(self._kick.wait())
                waits: set[asyncio.Future[Any]] = {kick, *claims.values()}
                if self._consumer is not None:
                    waits.add(self._consumer)
                done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                kick.cancel()
                if self._consumer is not None and self._consumer in done:
                    self._consumer.result()  # it consumes forever: it ended only by failing
        finally:
            for task in claims.values():
                await _stop(task)
            await self._halt()

    async def _claim(self, partition: int) -> None:
        await self.leader.hold(f"{self.lead}#{partition}", lambda: self._own(partition))

    async def _own(self, partition: int) -> None:
        """Led: the partition is this replica's until cancelled (the lead lost or given back);
        it is not given back before its events stopped being applied here."""
        self.owned = self.owned | {partition}
        self._kick.set()
        try:
            await asyncio.Event().wait()
        finally:
            self.owned = self.owned - {partition}
            if partition in self._consuming:
                await self._halt()
            self._kick.set()

    async def _halt(self) -> None:
        task, self._consumer, self._consuming = self._consumer, None, frozenset()
        if task is not None:
            await _stop(task)

    async def _restart(self) -> None:
        """Consume exactly the partitions owned (none: nothing runs)."""
        await self._halt()
        if self.owned:
            self._consuming = self.owned
            self._consumer = asyncio.create_task(self.consume_all(self.owned), name=self.lead)

    async def wait_for_subject(self, source: str, subject: str, sequence: int, timeout: float = 5.0) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.leader.dsn is not None and len(self.owned) < self.partitions:
            if self.has_seen(source, subject, sequence):
                return True
            applied = await self.store.fetchval(
                "SELECT sequence FROM lk_consumer_applied WHERE consumer = $1 AND source = $2 AND subject = $3",
                self.projection.name,
                source,
                subject,
            )
            if applied is not None and int(applied) >= sequence:
                return True
            left = deadline - loop.time()
            if left <= 0 or self.stalled():
                return False
            await self._until(lambda: self.has_seen(source, subject, sequence), min(FOLLOW_POLL, left))
        return await super().wait_for_subject(source, subject, sequence, max(0.0, deadline - loop.time()))
