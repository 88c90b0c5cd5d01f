"""Identity's HTTP API (``/api/v1``): accounts, e-mail confirmation, sessions, ``/me``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from services.identity.app import IdentityApp
from services.identity.domain import Account, public_fields
from shared.http import ApiError
from shared.settings import Settings

router = APIRouter(prefix="/api/v1")

LOGIN_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


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


def get_identity(request: Request) -> IdentityApp:
    identity: IdentityApp = request.app.state.identity
    return identity


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


Identity = Annotated[IdentityApp, Depends(get_identity)]
Config = Annotated[Settings, Depends(get_settings)]


def bearer_token(request: Request, settings: Config) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    cookie = request.cookies.get(settings.session_cookie)
    if cookie:
        return cookie
    raise ApiError(401, "not_authenticated", "Требуется вход в личный кабинет.")


def current_session(identity: Identity, token: Annotated[str, Depends(bearer_token)]) -> tuple[Account, str]:
    return identity.authenticate(token)


CurrentSession = Annotated[tuple[Account, str], Depends(current_session)]


@router.post("/accounts", status_code=201, response_model=AccountOut)
def register(body: RegisterIn, identity: Identity) -> AccountOut:
    """Self-registration; only the «Потребитель» account type is accepted."""
    account = identity.register(
        login=body.login, email=str(body.email), password=body.password, account_type=body.account_type
    )
    return AccountOut(
        id=str(account.id),
        login=account.login,
        email=account.email,
        account_type=account.account_type,
        email_confirmed=False,
    )


@router.post("/accounts/confirm-email", response_model=StatusOut)
def confirm_email(body: TokenIn, identity: Identity) -> StatusOut:
    identity.confirm_email(body.token)
    return StatusOut(status="confirmed", message="Адрес e-mail подтверждён. Теперь можно войти.")


@router.post("/accounts/resend-confirmation", status_code=202, response_model=StatusOut)
def resend_confirmation(body: EmailIn, identity: Identity) -> StatusOut:
    identity.resend_confirmation(str(body.email))
    return StatusOut(
        status="accepted",
        message="Если адрес зарегистрирован и ещё не подтверждён, мы отправили на него новую ссылку.",
    )


@router.post("/sessions", status_code=201, response_model=SessionOut)
def log_in(body: LoginIn, identity: Identity, settings: Config, response: Response) -> SessionOut:
    """Log in: a bearer token in the body and the same token in an HttpOnly cookie."""
    token, ttl, _ = identity.log_in(body.login, body.password)
    response.set_cookie(
        settings.session_cookie,
        token,
        max_age=ttl,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    return SessionOut(access_token=token, expires_in=ttl)


@router.delete("/sessions/current", status_code=204)
def log_out(identity: Identity, session: CurrentSession, settings: Config) -> Response:
    identity.log_out(*session)
    response = Response(status_code=204)
    response.delete_cookie(settings.session_cookie, path="/", httponly=True, samesite="lax")
    return response


@router.get("/me", response_model=MeOut)
def me(session: CurrentSession) -> MeOut:
    return MeOut(**public_fields(session[0]))
