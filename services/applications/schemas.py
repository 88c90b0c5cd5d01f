"""What the applications API accepts (unknown fields are refused)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Contact(_Strict):
    phone: str = Field(min_length=5, max_length=32, pattern=r"^[0-9+()\- ]+$")
    email: EmailStr = Field(max_length=254)


class DocumentIn(_Strict):
    slot: str = Field(min_length=1, max_length=64)
    file_id: str = Field(min_length=1, max_length=64)


class SubmitIn(_Strict):
    type_code: str = Field(min_length=1, max_length=64)
    power_kw: float = Field(gt=0, le=1_000_000)
    object_address: str = Field(min_length=5, max_length=500)
    contact: Contact
    documents: list[DocumentIn] = Field(min_length=1, max_length=30)
    comment: str = Field(default="", max_length=2000)


class TransitionIn(_Strict):
    to_status: str = Field(min_length=1, max_length=32)
    comment: str = Field(default="", max_length=2000)
    expected_version: int | None = Field(default=None, ge=1)


class DocumentsIn(_Strict):
    documents: list[DocumentIn] = Field(min_length=1, max_length=30)


class DocumentTypeIn(_Strict):
    code: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=300)
    required: bool


Deadline = dict[Literal["working_days", "months"], Annotated[int, Field(ge=1, le=3650)]]


class TypeIn(_Strict):
    title: str = Field(min_length=3, max_length=300)
    description: str = Field(max_length=5000)
    max_power_kw: float = Field(gt=0, le=1_000_000)
    terms: str = Field(max_length=5000)
    procedure: str = Field(max_length=5000)
    payment: str = Field(max_length=5000)
    fees: list[dict[str, Any]] = Field(default_factory=list, max_length=100)
    documents: list[DocumentTypeIn] = Field(min_length=1, max_length=30)
    deadlines: dict[str, Deadline] = Field(default_factory=dict, max_length=20)
