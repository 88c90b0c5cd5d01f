"""Identity's HTTP API (``/api/v1``): accounts, e-mail confirmation, sessions, profile,
password change and reset, and the staff/admin views of accounts."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from services.identity.app import IdentityApp
from services.identity.domain import ADMIN, STAFF, Account, Audit, public_fields
from services.identity.mail_requests import MailRequest, MailRequests
from services.identity.throttle import Throttle
from shared import idempotency
from shared.auth import CSRF_COOKIE, check_csrf, forbidden, not_authenticated, token_from_request
from shared.edge import client_address, client_scheme
from shared.http import MAX_OFFSET, ApiError, IdPath, answers
from shared.runtime import blocking
from shared.settings import Settings

router = APIRouter(prefix="/api/v1")

LOGIN_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
T = TypeVar("T")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterIn(_Strict):
    login: str = Field(min_length=3, max_length=64, pattern=LOGIN_PATTERN)
    email: EmailStr = Field(max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    account_type: str = Field(max_length=32)


class AccountOut(BaseModel):
    id: str
    login: str
    email: str
    account_type: str
    email_confirmed: bool


class TokenIn(_Strict):
    token: str = Field(min_length=1, max_length=512)


class EmailIn(_Strict):
    email: EmailStr = Field(max_length=254)


class LoginIn(_Strict):
    login: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class StatusOut(BaseModel):
    status: str
    message: str


class MeOut(BaseModel):
    id: str
    login: str
    email: str
    account_type: str
    account_type_title: str
    roles: list[str]
    first_name: str
    last_name: str
    display_name: str
    email_confirmed: bool


class ProfileIn(_Strict):
    first_name: str = Field(max_length=1000)
    last_name: str = Field(max_length=1000)


class PasswordChangeIn(_Strict):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class PasswordResetIn(_Strict):
    token: str = Field(min_length=1, max_length=512)
    new_password: str = Field(min_length=1, max_length=1024)


class DirectoryRow(BaseModel):
    account_id: str
    login: str
    email: str
    account_type: str
    roles: list[str]
    display_name: str
    email_confirmed: bool
    registered_at: str
    last_login_at: str | None


class DirectoryPage(BaseModel):
    items: list[DirectoryRow]
    total: int
    limit: int
    offset: int


class HistoryItem(BaseModel):
    version: int
    type: str
    at: str
    actor: str
    ip: str
    user_agent: str


# dependencies -----------------------------------------------------------------------
async def get_identity(request: Request) -> IdentityApp:
    identity: IdentityApp = request.app.state.identity
    return identity


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_throttle(request: Request) -> Throttle:
    throttle: Throttle = request.app.state.throttle
    return throttle


async def get_mail_requests(request: Request) -> MailRequests:
    requests: MailRequests = request.app.state.mail_requests
    return requests


def get_audit(request: Request) -> Audit:
    return {"ip": client_address(request), "user_agent": request.headers.get("user-agent", "")[:300]}


Identity = Annotated[IdentityApp, Depends(get_identity)]
Config = Annotated[Settings, Depends(get_settings)]
AuditInfo = Annotated[Audit, Depends(get_audit)]
Throttling = Annotated[Throttle, Depends(get_throttle)]
Mail = Annotated[MailRequests, Depends(get_mail_requests)]


async def current_session(request: Request, identity: Identity, settings: Config) -> tuple[Account, str]:
    found = token_from_request(request, settings.session_cookie)
    if found is None:
        raise not_authenticated()
    token, from_cookie = found
    if from_cookie:
        check_csrf(request)
    return await blocking(identity.authenticate, token)


async def viewing_session(request: Request, identity: Identity, settings: Config) -> tuple[Account, str]:
    """For reads: the cached aggregate, checked on the loop (no query, no copy, no thread)."""
    found = token_from_request(request, settings.session_cookie)
    if found is None:
        raise not_authenticated()
    return identity.authenticate(found[0], readonly=True)


CurrentSession = Annotated[tuple[Account, str], Depends(current_session)]
ViewingSession = Annotated[tuple[Account, str], Depends(viewing_session)]


def needs_role(*roles: str) -> Callable[[tuple[Account, str]], Any]:
    async def checked(session: CurrentSession) -> Account:
        if not any(role in session[0].roles for role in roles):
            raise forbidden()
        return session[0]

    return checked


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a synchronous command of the eventsourcing application off the event loop."""
    return await blocking(fn, *args, **kwargs)


def secure_cookies(request: Request, settings: Settings) -> bool:
    return settings.cookie_secure or client_scheme(request) == "https"


def set_csrf_cookie(request: Request, response: Response, settings: Settings, max_age: int | None) -> None:
    """A fresh double-submit CSRF token (readable by scripts, not HttpOnly by design): a
    new one at every login and logout, so a value seen before never outlives a session."""
    response.set_cookie(
        CSRF_COOKIE,
        secrets.token_urlsafe(24),
        max_age=max_age,
        samesite="lax",
        secure=secure_cookies(request, settings),
        path="/",
    )


# accounts -----------------------------------------------------------------------------
@router.post(
    "/accounts",
    status_code=201,
    response_model=AccountOut,
    responses=answers(400, 409, 422, 429),
    openapi_extra=idempotency.OPENAPI,
)
async def register(
    body: RegisterIn,
    request: Request,
    response: Response,
    identity: Identity,
    audit: AuditInfo,
    throttle: Throttling,
) -> AccountOut:
    """Self-registration; only the «Потребитель» account type is accepted. Attempts are
    limited per client address (429). With ``Idempotency-Key`` a repeat of the same request
    answers the account made the first time (``Idempotent-Replayed: true``)."""
    keyed = idempotency.keyed(request, "registration", "", body.login.casefold(), str(body.email).casefold())
    await throttle.registration(audit["ip"])
    account, created = await call(
        identity.register_once,
        login=body.login,
        email=str(body.email),
        password=body.password,
        account_type=body.account_type,
        audit=audit,
        request=keyed,
    )
    if not created:
        response.headers[idempotency.REPLAYED] = "true"
    return AccountOut(
        id=str(account.id),
        login=account.login,
        email=account.email,
        account_type=account.account_type,
        email_confirmed=False,
    )


@router.post("/accounts/confirm-email", response_model=StatusOut, responses=answers(400, 409, 422))
async def confirm_email(body: TokenIn, identity: Identity, audit: AuditInfo) -> StatusOut:
    await call(identity.confirm_email, body.token, audit)
    return StatusOut(status="confirmed", message="Адрес e-mail подтверждён. Теперь можно войти.")


@router.post(
    "/accounts/resend-confirmation", status_code=202, response_model=StatusOut, responses=answers(422)
)
async def resend_confirmation(body: EmailIn, mail: Mail, audit: AuditInfo) -> StatusOut:
    """Queued for the background worker: the same answer, at once, for every address."""
    mail.submit(MailRequest("confirmation", str(body.email), audit))
    return StatusOut(
        status="accepted",
        message="Если адрес зарегистрирован и ещё не подтверждён, мы отправили на него новую ссылку.",
    )


# sessions -----------------------------------------------------------------------------
@router.post(
    "/sessions", status_code=201, response_model=SessionOut, responses=answers(401, 403, 409, 422, 429)
)
async def log_in(
    body: LoginIn,
    request: Request,
    identity: Identity,
    settings: Config,
    audit: AuditInfo,
    throttle: Throttling,
    response: Response,
) -> SessionOut:
    """Log in: a bearer token in the body and the same token in an HttpOnly cookie.
    Failures are throttled per (login, address) and per address (429); a login that keeps
    failing from anywhere answers more slowly (``throttle.py``)."""
    admission = await throttle.admit(body.login, audit["ip"])
    try:
        await throttle.wait(admission)
        token, ttl, _ = await call(identity.log_in, body.login, body.password, audit)
    except ApiError as exc:
        if exc.code == "invalid_credentials":
            await throttle.failed(admission)
        else:
            await throttle.abandoned(admission)
        raise
    except BaseException:
        await throttle.abandoned(admission)
        raise
    await throttle.succeeded(admission)
    secure = secure_cookies(request, settings)
    response.set_cookie(
        settings.session_cookie, token, max_age=ttl, httponly=True, samesite="lax", secure=secure, path="/"
    )
    set_csrf_cookie(request, response, settings, ttl)
    return SessionOut(access_token=token, expires_in=ttl)


@router.delete("/sessions/current", status_code=204, responses=answers(401, 403, 409))
async def log_out(
    request: Request, identity: Identity, session: CurrentSession, settings: Config, audit: AuditInfo
) -> Response:
    await call(identity.log_out, *session, audit)
    response = Response(status_code=204)
    response.delete_cookie(settings.session_cookie, path="/", httponly=True, samesite="lax")
    set_csrf_cookie(request, response, settings, None)
    return response


# me -------------------------------------------------------------------------------------
@router.get("/me", response_model=MeOut, responses=answers(401))
async def me(session: ViewingSession) -> MeOut:
    return MeOut(**public_fields(session[0]))


@router.patch("/me", response_model=MeOut, responses=answers(401, 403, 409, 422))
async def update_profile(
    body: ProfileIn, identity: Identity, session: CurrentSession, audit: AuditInfo
) -> MeOut:
    """Фамилия и Имя; once set, «Имя Фамилия» is shown instead of the login."""
    account = await call(identity.update_profile, session[0], body.first_name, body.last_name, audit)
    return MeOut(**public_fields(account))


@router.post("/me/password", response_model=StatusOut, responses=answers(400, 401, 403, 409, 422))
async def change_password(
    body: PasswordChangeIn, identity: Identity, session: CurrentSession, audit: AuditInfo
) -> StatusOut:
    await call(
        identity.change_password, session[0], session[1], body.current_password, body.new_password, audit
    )
    return StatusOut(status="changed", message="Пароль изменён. Другие сеансы входа завершены.")


# password reset ---------------------------------------------------------------------------
@router.post("/password-reset", status_code=202, response_model=StatusOut, responses=answers(422))
async def request_password_reset(body: EmailIn, mail: Mail, audit: AuditInfo) -> StatusOut:
    """Always the same answer at the same speed: it never tells whether the address is
    registered (the background worker does the work)."""
    mail.submit(MailRequest("reset", str(body.email), audit))
    return StatusOut(
        status="accepted",
        message="Если адрес зарегистрирован, на него отправлена ссылка для смены пароля."
        " Она действует 1 час.",
    )


@router.post("/password-reset/confirm", response_model=StatusOut, responses=answers(400, 409, 422))
async def confirm_password_reset(
    body: PasswordResetIn, identity: Identity, audit: AuditInfo, throttle: Throttling
) -> StatusOut:
    account = await call(identity.reset_password, body.token, body.new_password, audit)
    # The owner proved the address: whatever anyone tried against the login is forgotten.
    await throttle.forgive(account.login)
    return StatusOut(status="changed", message="Пароль изменён. Войдите с новым паролем.")


# staff and admin ---------------------------------------------------------------------------
@router.get("/admin/accounts", response_model=DirectoryPage, responses=answers(401, 403, 422))
async def list_accounts(
    request: Request,
    _: Annotated[Account, Depends(needs_role(STAFF, ADMIN))],
    q: Annotated[str, Query(max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> DirectoryPage:
    """The account directory for staff: search by login, e-mail or name; paginated."""
    store = request.app.state.store
    pattern = f"%{q.casefold()}%"
    where = "WHERE lower(login) LIKE $1 OR lower(email) LIKE $1 OR lower(display_name) LIKE $1"
    total = await store.fetchval(f"SELECT COUNT(*) FROM identity_accounts {where}", pattern)  # noqa: S608
    rows = await store.fetch(
        f"SELECT * FROM identity_accounts {where} ORDER BY registered_at DESC LIMIT $2 OFFSET $3",  # noqa: S608
        pattern,
        limit,
        offset,
    )
    items = [
        DirectoryRow(
            **{
                k: row[k]
                for k in ("account_id", "login", "email", "account_type", "display_name", "registered_at")
            },
            roles=[r for r in str(row["roles"]).split(",") if r],
            email_confirmed=bool(row["email_confirmed"]),
            last_login_at=row["last_login_at"],
        )
        for row in rows
    ]
    return DirectoryPage(items=items, total=int(total or 0), limit=limit, offset=offset)


@router.get(
    "/admin/accounts/{account_id}/history",
    response_model=list[HistoryItem],
    responses=answers(401, 403, 404),
)
async def account_history(
    account_id: IdPath, identity: Identity, _: Annotated[Account, Depends(needs_role(ADMIN))]
) -> list[HistoryItem]:
    """Who did what to an account, when and from where (admins only)."""
    try:
        key = uuid.UUID(account_id)
    except ValueError:
        raise ApiError(404, "not_found", "Учётная запись не найдена.") from None
    items = await call(identity.history, key)
    if not items:
        raise ApiError(404, "not_found", "Учётная запись не найдена.")
    return [HistoryItem(**item) for item in items]
