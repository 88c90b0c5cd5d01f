"""The bodies identity's API takes and gives (the published contract names them)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from services.identity.applicant import DETAILS, KINDS, Details
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


class Passport(_Strict):
    """A Russian passport: series (4 digits), number (6), who issued it and when (ГГГГ-ММ-ДД)."""

    series: str = Field(default="", max_length=20)
    number: str = Field(default="", max_length=20)
    issued_by: str = Field(default="", max_length=1000)
    issued_on: str = Field(default="", max_length=20)


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
    middle_name: str = ""
    applicant_kind: str = ""
    applicant_kind_title: str = ""
    phone: str = ""
    postal_address: str = ""
    passport: Passport | None = None  # to its owner only: /me is the owner's
    inn: str = ""
    ogrnip: str = ""
    ogrn: str = ""
    organisation_name: str = ""
    kpp: str = ""

    @classmethod
    def of(cls, account: Account) -> MeOut:
        details = account.details
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
            applicant_kind_title=KINDS.get(details.get("applicant_kind", ""), ""),
            **details,
        )


class ProfileIn(_Strict):
    """The profile. Names and details left out are kept by ``PATCH /me`` and cleared by
    ``PUT /me/profile``; a detail given as null or "" is cleared. The fields of an applicant
    kind other than ``applicant_kind`` are refused (``field_not_for_kind``)."""

    first_name: str | None = Field(default=None, max_length=1000)
    last_name: str | None = Field(default=None, max_length=1000)
    middle_name: str | None = Field(default=None, max_length=1000)
    applicant_kind: str | None = Field(
        default=None, max_length=32, description="individual | sole_trader | company"
    )
    phone: str | None = Field(default=None, max_length=64)
    postal_address: str | None = Field(default=None, max_length=1000)
    passport: Passport | None = Field(default=None, description="individual only")
    inn: str | None = Field(default=None, max_length=64, description="12 digits; company: 10")
    ogrnip: str | None = Field(default=None, max_length=64, description="sole_trader only, 15 digits")
    ogrn: str | None = Field(default=None, max_length=64, description="company only, 13 digits")
    organisation_name: str | None = Field(default=None, max_length=1000, description="company only")
    kpp: str | None = Field(default=None, max_length=64, description="company only, 9 characters")

    def details(self, *, replace: bool) -> Details:
        """The details given (``replace``: every one, those left out as None)."""
        given = self.model_dump(include=self.model_fields_set - {"first_name", "last_name"})
        return {**(dict.fromkeys(DETAILS) if replace else {}), **given}


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
