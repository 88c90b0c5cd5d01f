"""The bodies identity's API takes and gives (the published contract names them)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from services.identity.domain import Account
from services.identity.values import ACCOUNT_TYPES

LOGIN_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


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

    @classmethod
    def of(cls, account: Account) -> MeOut:
        return cls(
            id=str(account.id),
            login=account.login,
            email=account.email,
            account_type=account.account_type,
            account_type_title=ACCOUNT_TYPES[account.account_type],
            roles=list(account.roles),
            first_name=account.first_name,
            last_name=account.last_name,
            display_name=account.display_name,
            email_confirmed=account.email_confirmed,
        )


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
