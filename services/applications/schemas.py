"""What the applications API accepts (unknown fields are refused)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from services.applications.request_schemas import StructuredIn, TypeKeysIn


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Contact(_Strict):
    phone: str = Field(min_length=5, max_length=32, pattern=r"^[0-9+()\- ]+$")
    email: EmailStr = Field(max_length=254)


class DocumentIn(_Strict):
    slot: str = Field(min_length=1, max_length=64)
    file_id: str = Field(min_length=1, max_length=64)


class SubmitIn(StructuredIn):
    """The application: the type, power and address, contact, documents, and the structured
    fields of issue 13 (request_schemas.StructuredIn)."""

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
    required_from_kv: float | None = Field(default=None, gt=0, le=1150)  # e.g. single_line: 35
    required_when: Literal["reduced_rate", "representative"] | None = None


Deadline = dict[Literal["working_days", "months"], Annotated[int, Field(ge=1, le=3650)]]


class TypeIn(TypeKeysIn):
    """A catalog entry (the keys of issue 13 with their defaults: request_schemas.TypeKeysIn)."""

    title: str = Field(min_length=3, max_length=300)
    description: str = Field(max_length=5000)
    max_power_kw: float = Field(gt=0, le=1_000_000)
    terms: str = Field(max_length=5000)
    procedure: str = Field(max_length=5000)
    payment: str = Field(max_length=5000)
    fees: list[dict[str, Any]] = Field(default_factory=list, max_length=100)
    documents: list[DocumentTypeIn] = Field(min_length=1, max_length=30)
    deadlines: dict[str, Deadline] = Field(default_factory=dict, max_length=20)

    def data(self) -> dict[str, Any]:
        """The entry as the catalog stores it (a document's absent conditions left out)."""
        out = self.model_dump(exclude=set(TypeKeysIn.model_fields))
        out["documents"] = [{k: v for k, v in d.items() if v is not None} for d in out["documents"]]
        return {**out, **self.keys()}


# The process (issue 12) ----------------------------------------------------------------------
FileId = Annotated[str, Field(min_length=1, max_length=64)]
Day = Annotated[date, Field(ge=date(2000, 1, 1))]  # a fact's date (not after today: the aggregate)
Rubles = Annotated[Decimal, Field(gt=0, le=Decimal("10000000000"), decimal_places=2)]


# A payment's reference (the payment order's number, the bank's id): printable, no edge spaces.
REFERENCE = r"^[^\s\x00-\x1f\x7f]([^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$"

# Free text kept in the read stores: no control characters but line breaks and tabs
# (PostgreSQL refuses a NUL in text, which would stall the projection, not the request).
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


def kopecks(amount: Decimal) -> int:
    return int(amount * 100)


class InvoiceIn(_Strict):
    amount_rub: Rubles


class TermIn(_Strict):
    """The activities term written in the offer: months or working days, one of them."""

    months: int | None = Field(default=None, ge=1, le=120)
    working_days: int | None = Field(default=None, ge=1, le=3650)

    @model_validator(mode="after")
    def _one(self) -> TermIn:
        if (self.months is None) == (self.working_days is None):
            raise ValueError("укажите срок в месяцах или в рабочих днях")
        return self

    def rule(self) -> dict[str, int]:
        return (
            {"months": self.months} if self.months is not None else {"working_days": self.working_days or 0}
        )


class OfferIn(_Strict):
    contract_file_id: FileId
    technical_conditions_file_id: FileId
    invoice: InvoiceIn
    activities_term: TermIn
    needs_signature: bool = False
    state_buyer: bool = False  # a buyer under 44-ФЗ: 15 working days to pay


class PaymentIn(_Strict):
    amount_rub: Rubles
    paid_at: Day
    reference: str = Field(min_length=1, max_length=100, pattern=REFERENCE)


class AcceptanceIn(_Strict):
    decision: Literal["accept", "reject"]
    # To accept: the one-time code of the e-mail (six digits; spaces and dashes are ignored).
    code: str | None = Field(default=None, max_length=32, pattern=TEXT)
    comment: str = Field(default="", max_length=2000, pattern=TEXT)


class SignatureCodeIn(_Strict):
    """A request for a one-time signature code (no fields yet: the code is for the current
    offer's contract and goes to the applicant's e-mail)."""


class NoticeIn(_Strict):
    kind: Literal["tu_fulfilled"]
    file_ids: list[FileId] = Field(min_length=1, max_length=30)


class TerminationIn(_Strict):
    reason: str = Field(min_length=1, max_length=2000)
    refund_details: str = Field(min_length=1, max_length=1000)
    file_ids: list[FileId] = Field(default_factory=list, max_length=10)


class TerminationDecisionIn(_Strict):
    decision: Literal["accept", "refuse"]
    comment: str = Field(min_length=1, max_length=2000)


class ConnectionIn(_Strict):
    connected_at: Day
    voltage_applied_at: Day


class CompanyDocumentIn(_Strict):
    kind: str = Field(min_length=1, max_length=64)
    file_id: FileId


class TakeIn(_Strict):
    """«Взять в работу» (the body may be left out)."""

    expected_version: int | None = Field(default=None, ge=1)
