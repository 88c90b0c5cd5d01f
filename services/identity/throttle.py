"""Throttling of identity's public entry points, on fixed-window counters in identity's
read store (``shared/ratelimit.py``; they survive restarts).

Logins. An attempt takes a place in two windows *before* the password is checked: per
(login, address) (``LK_LOGIN_MAX_FAILURES``) and per address (``LK_LOGIN_MAX_FAILURES_PER_IP``);
a wrong password keeps its places as failures, any other outcome gives them back. So no
number of concurrent attempts gets more than the limit through to the password check,
and over the limit the answer is 429 with ``Retry-After``. A login across all addresses is
never locked (that would let anyone lock its owner out): past ``LK_LOGIN_MAX_FAILURES``
failures in the window every attempt at it waits before its answer, twice as long after
each further failure, at most ``LK_LOGIN_DELAY_MAX`` seconds. A successful login clears
its (login, address) failures; a password reset clears every counter of the login.
Unknown logins are counted exactly like known ones.

Registration is limited per address (429); resend-confirmation and password-reset mails
per e-mail address and per address, silently (see ``mail_requests.py``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from services.identity.values import normalise_email, normalise_login
from shared.errors import TooMany, Unauthenticated
from shared.ratelimit import Count, FixedWindow
from shared.readstore import ReadStore
from shared.settings import Settings

TABLE = "identity_rate_limits"
# The table of the previous, non-atomic login throttle.
OLD_DDL = ("DROP TABLE IF EXISTS identity_login_failures",)
# Places held by concurrent attempts are usually given back within an argon2 check.
BUSY_WAIT = 5.0
BUSY_POLL = 0.02
FIRST_DELAY = 0.25
PURGE_EVERY = 600.0


def _too_many(code: str, what: str, wait: int) -> TooMany:
    minutes = max(1, round(wait / 60))
    return TooMany(code, f"Слишком много {what}. Повторите через {minutes} мин.", retry_after=wait)


def too_many_logins(wait: int) -> TooMany:
    return _too_many("too_many_attempts", "неудачных попыток входа", wait)


def too_many_registrations(wait: int) -> TooMany:
    return _too_many("too_many_requests", "регистраций с вашего адреса", wait)


@dataclass(frozen=True)
class Admission:
    """The places a login attempt holds, and how long it must wait before the check."""

    login: str
    pair: str
    held: tuple[Count, ...]
    delay: float


class Throttle:
    def __init__(self, store: ReadStore, settings: Settings) -> None:
        self.counters = FixedWindow(store, TABLE)
        self.store = store
        self.settings = settings

    async def setup(self) -> None:
        await self.store.migrate(OLD_DDL)
        await self.counters.setup()
        # Identity is one process: places held by a previous run can never be settled.
        await self.counters.forget_pending()

    # keys ---------------------------------------------------------------------------
    @staticmethod
    def _pair(login: str, address: str) -> str:
        return f"pair:{login}|{address}"

    # logins -------------------------------------------------------------------------
    def delay_after(self, failures: int) -> float:
        """Seconds every attempt at a login waits after ``failures`` failures in the window."""
        over = failures - self.settings.login_max_failures
        if over < 0:
            return 0.0
        return float(min(self.settings.login_delay_max, FIRST_DELAY * 2 ** min(over, 30)))

    async def admit(self, login: str, address: str) -> Admission:
        """Reserve the attempt's places, or raise 429 when a window is full."""
        s = self.settings
        name = normalise_login(login)
        pair = self._pair(name, address)
        wanted = ((pair, s.login_max_failures), (f"addr:{address}", s.login_max_failures_per_ip))
        held: list[Count] = []
        deadline = time.monotonic() + BUSY_WAIT
        try:
            for key, limit in wanted:
                while True:
                    count = await self.counters.reserve(key, limit, s.login_window)
                    if count.granted:
                        held.append(count)
                        break
                    if count.hits >= limit:
                        raise too_many_logins(count.retry_after())
                    if time.monotonic() > deadline:
                        raise too_many_logins(1)
                    # Full of attempts still being checked: wait for their outcome.
                    await asyncio.sleep(BUSY_POLL)
        except BaseException:
            await self._give_back(held)
            raise
        failures = (await self.counters.peek(f"user:{name}", s.login_window)).hits
        return Admission(name, pair, tuple(held), self.delay_after(failures))

    async def wait(self, admission: Admission) -> None:
        if admission.delay:
            await asyncio.sleep(admission.delay)

    @asynccontextmanager
    async def login(self, login: str, address: str) -> AsyncIterator[None]:
        """One login attempt, the password checked inside: admitted (or 429), delayed when the
        login is under attack; wrong credentials (``invalid_credentials``) count as a failure,
        any other error gives the places back."""
        admission = await self.admit(login, address)
        try:
            await self.wait(admission)
            yield
        except Unauthenticated as exc:
            if exc.code == "invalid_credentials":
                await self.failed(admission)
            else:
                await self.abandoned(admission)
            raise
        except BaseException:
            await self.abandoned(admission)
            raise
        await self.succeeded(admission)

    async def failed(self, admission: Admission) -> None:
        """A wrong password (or an unknown login): the places become failures."""
        for count in admission.held:
            await self.counters.settle(count, hit=True)
        await self.counters.hit(f"user:{admission.login}", self.settings.login_window)

    async def succeeded(self, admission: Admission) -> None:
        """The right password: the places go back, the (login, address) failures are forgotten."""
        await self._give_back(admission.held)
        await self.counters.clear(admission.pair)

    async def abandoned(self, admission: Admission) -> None:
        """Neither outcome (an error): the places go back."""
        await self._give_back(admission.held)

    async def _give_back(self, held: list[Count] | tuple[Count, ...]) -> None:
        for count in held:
            await self.counters.settle(count, hit=False)

    async def forgive(self, login: str) -> None:
        """After a password reset: every counter of the login, from every address."""
        name = normalise_login(login)
        await self.counters.clear(f"user:{name}", prefix=self._pair(name, ""))

    async def purge_loop(self) -> None:
        """Now and then, drop the rows of windows long over (every key's window is shorter)."""
        longest = max(self.settings.login_window, self.settings.mail_window)
        while True:
            await self.counters.purge(older_than=2 * longest)
            await asyncio.sleep(PURGE_EVERY)

    # registration and mail -------------------------------------------------------------
    async def registration(self, address: str) -> None:
        """Count a registration attempt from ``address``; 429 past the limit."""
        count = await self.counters.hit(f"register:{address}", self.settings.mail_window)
        if count.hits > self.settings.register_per_client_max:
            raise too_many_registrations(count.retry_after())

    async def mail_allowed(self, email: str, address: str) -> bool:
        """Count a requested e-mail per client address and per e-mail address."""
        s = self.settings
        client = await self.counters.hit(f"mail-client:{address}", s.mail_window)
        if client.hits > s.mail_per_client_max:
            return False
        to = await self.counters.hit(f"mail-to:{normalise_email(email)}", s.mail_window)
        return to.hits <= s.mail_per_address_max
