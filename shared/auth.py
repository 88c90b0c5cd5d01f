"""Authentication for every service except identity: verify the bearer token locally.

A token is a JWT signed by identity (HS256, shared secret) that names the account, the
session and the position of its ``SessionStarted`` event. Each service keeps a
:class:`~shared.sessions.SessionRegistry` (a projection of ``identity.events``): a token is accepted only
while its session is open there, so a logout or a password change reaches every service
as fast as the events do (milliseconds), and a check costs one signature verification
and one dictionary look-up. A token minted a moment ago may be ahead of the registry; the
check then waits (up to ``catch_up``) for the registry to reach the token's position:
read-your-writes across services.
"""

from __future__ import annotations

import hmac
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

import httpx
import jwt
from fastapi import Depends, Request

from shared.consumer import ConsumerRunner
from shared.http import ApiError
from shared.readstore import ReadStore
from shared.runtime import Workers
from shared.sessions import SessionRegistry
from shared.settings import Settings
from shared.transport import Transport

ALGORITHM = "HS256"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_COOKIE = "lk_csrf"
CSRF_HEADER = "x-csrf-token"


# Fresh errors every time: re-raising one shared instance appends each raise's frames
# (and their locals: tokens) to its __traceback__, forever and across requests.
def not_authenticated() -> ApiError:
    return ApiError(401, "not_authenticated", "Требуется вход в личный кабинет.")


def forbidden() -> ApiError:
    return ApiError(403, "forbidden", "Недостаточно прав для этого действия.")


def csrf_failed() -> ApiError:
    return ApiError(403, "csrf_failed", "Запрос отклонён: обновите страницу и повторите действие.")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the account, its session and roles."""

    account_id: str
    session_id: str
    account_type: str
    roles: tuple[str, ...]

    def has(self, role: str) -> bool:
        return role in self.roles


@dataclass(frozen=True)
class TokenClaims:
    account_id: str
    session_id: str
    position: int
    sequence: int = 0  # the account's version after the login (0 in older tokens)


_verified: dict[tuple[str, str], tuple[TokenClaims, float]] = {}
_VERIFIED_MAX = 10_000


def read_token(secret: str, token: str) -> TokenClaims | None:
    """Claims of a genuine, unexpired token; None otherwise. A token is a fixed string, so
    its signature is checked once and the claims remembered until it expires."""
    hit = _verified.get((secret, token))
    if hit is not None and hit[1] > time.time():
        return hit[0]
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["sub", "sid", "exp"]})
        found = TokenClaims(
            str(uuid.UUID(str(claims["sub"]))),
            str(claims["sid"]),
            int(claims.get("pos", 0)),
            int(claims.get("seq", 0)),
        )
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    if len(_verified) >= _VERIFIED_MAX:
        _verified.clear()
    _verified[(secret, token)] = (found, float(claims["exp"]))
    return found


AskIdentity = Callable[[str], Awaitable["Principal | None"]]
"""Asks identity who a token belongs to: the Principal, None if identity refuses it."""
ASKED_TTL = 5.0  # identity is asked again after this: a logout meanwhile counts within seconds


def identity_asker(settings: Settings) -> AskIdentity:
    """``GET /api/v1/me`` at identity with the token (bounded to 2 s); 503 if identity is down."""
    client = httpx.AsyncClient(timeout=2.0)

    async def ask(token: str) -> Principal | None:
        claims = read_token(settings.secret(), token)
        if claims is None:
            return None
        try:
            answer = await client.get(
                settings.url_of("identity") + "/api/v1/me", headers={"authorization": f"Bearer {token}"}
            )
        except httpx.TransportError:
            raise ApiError(
                503, "service_unavailable", "Сервис временно недоступен, попробуйте через минуту."
            ) from None
        if answer.status_code != 200:
            return None
        me = answer.json()
        return Principal(str(me["id"]), claims.session_id, str(me["account_type"]), tuple(me["roles"]))

    return ask


class Authenticator:
    """Turns a bearer token into a :class:`Principal` using the local registry."""

    def __init__(
        self,
        secret: str,
        registry: SessionRegistry,
        runner: ConsumerRunner,
        identity_source: str = "identity",
        catch_up: float = 1.0,
        ask_identity: AskIdentity | None = None,
    ) -> None:
        self.secret = secret
        self.registry = registry
        self.runner = runner
        self.identity_source = identity_source
        self.catch_up = catch_up
        self.ask_identity = ask_identity
        # Answers of identity for logins the registry has not seen yet (while the transport
        # is down, say); used only until the registry has the login, and for seconds at most.
        self._asked: dict[str, tuple[Principal, float]] = {}

    def _lookup(self, claims: TokenClaims) -> Principal | None:
        session = self.registry.sessions.get(claims.session_id)
        if session is None or session.account_id != claims.account_id:
            return None
        if session.expires_at <= datetime.now(UTC):
            return None
        return Principal(claims.account_id, claims.session_id, session.account_type, session.roles)

    async def authenticate(self, token: str) -> Principal:
        claims = read_token(self.secret, token)
        if claims is None:
            raise not_authenticated()
        principal = self._lookup(claims)
        if principal is not None:
            return principal
        if claims.sequence and self.runner.has_seen(self.identity_source, claims.account_id, claims.sequence):
            raise not_authenticated()  # the registry knows this login: it has ended or expired
        # A login the registry has not seen yet: a fresh token, or the transport lags. Wait a
        # moment for it; then ask identity itself (a fresh login must not be refused).
        if claims.sequence:
            # Per account, not per log position: partitions of a topic advance unevenly.
            await self.runner.wait_for_subject(
                self.identity_source, claims.account_id, claims.sequence, self.catch_up
            )
        elif self.runner.applied.get(self.identity_source, 0) < claims.position:
            await self.runner.wait_for(self.identity_source, claims.position, self.catch_up)
        principal = self._lookup(claims)
        unseen = not self.runner.has_seen(self.identity_source, claims.account_id, claims.sequence)
        if principal is None and claims.sequence and unseen and self.ask_identity is not None:
            principal = await self._asked_identity(token, claims)
        if principal is None:
            raise not_authenticated()
        return principal

    async def _asked_identity(self, token: str, claims: TokenClaims) -> Principal | None:
        now = time.monotonic()
        known = self._asked.get(token)
        if known is not None and known[1] > now:
            return known[0]
        assert self.ask_identity is not None
        found = await self.ask_identity(token)
        if found is None or found.account_id != claims.account_id:
            self._asked.pop(token, None)
            return None
        if len(self._asked) >= _VERIFIED_MAX:
            self._asked.clear()
        self._asked[token] = (found, now + ASKED_TTL)
        return found


def token_from_request(request: Request, cookie_name: str) -> tuple[str, bool] | None:
    """(token, came_from_cookie) from ``Authorization: Bearer`` or the session cookie."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), False
    cookie = request.cookies.get(cookie_name)
    return (cookie, True) if cookie else None


def check_csrf(request: Request) -> None:
    """Cookie-authenticated writes must echo the ``lk_csrf`` cookie in ``X-CSRF-Token``."""
    if request.method not in UNSAFE_METHODS:
        return
    cookie = request.cookies.get(CSRF_COOKIE, "")
    header = request.headers.get(CSRF_HEADER, "")
    if not cookie or not header or not hmac.compare_digest(cookie.encode(), header.encode()):
        raise csrf_failed()


async def current_principal(request: Request) -> Principal:
    """FastAPI dependency: the caller, authenticated by ``request.app.state.auth``."""
    found = token_from_request(request, request.app.state.settings.session_cookie)
    if found is None:
        raise not_authenticated()
    token, from_cookie = found
    if from_cookie:
        check_csrf(request)
    auth: Authenticator = request.app.state.auth
    return await auth.authenticate(token)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that also demands one of ``roles`` (403 otherwise)."""

    async def checked(principal: CurrentPrincipal) -> Principal:
        if not any(principal.has(role) for role in roles):
            raise forbidden()
        return principal

    return checked


def start_auth(
    settings: Settings, service: str, store: ReadStore, transport: Transport, workers: Workers
) -> Authenticator:
    """Wire a session registry fed by ``identity.events`` and return its authenticator."""
    registry = SessionRegistry(service, settings.topic("identity"))
    runner = ConsumerRunner(
        registry,
        transport,
        store,
        attempts=settings.dead_letter_attempts,
        retry_first=settings.dead_letter_retry,
    )
    workers.start(f"{service}.sessions", runner.run)
    return Authenticator(settings.secret(), registry, runner, ask_identity=identity_asker(settings))
