"""Public events of ``applications.events`` that record the facts of the grid-connection
process (issue 12): the offer, payments, the applicant's decision, the notice of fulfilled
technical conditions, the connection and the company's documents. Part of the public contract
like shared/events.py (versioned, additive changes only); they register themselves there."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from shared.events import DocumentRef, PublicEvent


# applications.events: the facts of the grid-connection process (issue 12) -----------------
# Each fact that attaches files carries them as ``documents`` with the acting account
# (``actor_id``, the files' owner) and the applicant, as DocumentsAdded.v1 does: the files
# service lets the applicant read the company's files and staff the applicant's.
class OfferPlacedV1(PublicEvent):
    """Staff placed the contract (offer), the technical conditions and the invoice."""

    TYPE = "lk.applications.OfferPlaced.v1"
    application_id: str
    number: str
    applicant_id: str
    applicant_email: str
    documents: list[DocumentRef]  # slots offer_contract and technical_conditions
    amount_kopecks: int
    invoice_due: str | None = None  # ISO date the invoice is to be paid by
    activities_months: int | None = None  # the activities term written in the offer
    activities_working_days: int | None = None
    needs_signature: bool
    actor_id: str
    actor_name: str = ""
    state_buyer: bool = False  # a buyer under 44-ФЗ: 15 working days to pay


class PaymentRecordedV1(PublicEvent):
    TYPE = "lk.applications.PaymentRecorded.v1"
    application_id: str
    number: str
    applicant_id: str
    amount_kopecks: int
    paid_at: str  # ISO date of the payment
    reference: str  # the payment's reference (unique per application)
    paid_kopecks: int  # all payments so far
    invoice_kopecks: int
    actor_id: str
    source: str = "api"  # api | statement: the payment port's adapter that brought it


class OfferRefusedV1(PublicEvent):
    """The applicant refused to sign the offer, with reasons."""

    TYPE = "lk.applications.OfferRefused.v1"
    application_id: str
    number: str
    applicant_id: str
    comment: str
    actor_id: str


class SignatureV1(BaseModel):
    """A simple electronic signature (ПЭП) by a one-time e-mail code: what was signed (the
    file and its SHA-256), when, from which address (the edge's record), by which challenge."""

    method: str = "email_code"
    challenge_id: str
    file_id: str
    name: str = ""
    document_sha256: str
    signed_at: datetime
    client_address: str


class ContractConcludedV1(PublicEvent):
    TYPE = "lk.applications.ContractConcluded.v1"
    application_id: str
    number: str
    applicant_id: str
    applicant_email: str
    by: str  # payment | signature
    concluded_on: str  # ISO date
    actor_id: str
    signature: SignatureV1 | None = None  # by signature (absent from events published before)


class NoticeReceivedV1(PublicEvent):
    """The applicant's notice of fulfilled technical conditions, with files."""

    TYPE = "lk.applications.NoticeReceived.v1"
    application_id: str
    number: str
    applicant_id: str
    kind: str  # tu_fulfilled
    documents: list[DocumentRef]
    actor_id: str


class ConnectionRecordedV1(PublicEvent):
    TYPE = "lk.applications.ConnectionRecorded.v1"
    application_id: str
    number: str
    applicant_id: str
    connected_at: str  # ISO dates
    voltage_applied_at: str
    actor_id: str


class CompanyDocumentPlacedV1(PublicEvent):
    """Staff placed a typed document of the grid company (a contract, an act, …)."""

    TYPE = "lk.applications.CompanyDocumentPlaced.v1"
    application_id: str
    number: str
    applicant_id: str
    applicant_email: str
    document_id: str
    kind: str
    title: str
    documents: list[DocumentRef]  # the one file, slot = kind
    actor_id: str
    actor_name: str = ""


# applications.events: the deadline watcher's notices (issue 12, services/applications/watcher.py)
class DeadlineRemindedV1(PublicEvent):
    """The applicant's deadline is near: the notifier reminds the applicant (once per event)."""

    TYPE = "lk.applications.DeadlineReminded.v1"
    application_id: str
    number: str
    applicant_id: str
    applicant_email: str
    code: str  # documents | payment | signature (services/applications/deadlines.py)
    title: str  # an infinitive read after «вам нужно до …»
    due: str  # ISO local date, the last day
    duty: str = "applicant"


class DeadlineOverdueV1(PublicEvent):
    """The grid company's deadline passed: the notifier tells the staff desk (once per event)."""

    TYPE = "lk.applications.DeadlineOverdue.v1"
    application_id: str
    number: str
    applicant_id: str
    applicant_email: str
    code: str  # completeness_check | offer | activities | tu_check | closing_documents
    title: str  # an infinitive read after «сетевая организация обязана до …»
    due: str
    duty: str = "grid_company"


class SignatureCodeIssuedV1(PublicEvent):
    """The applicant asked for a one-time code to sign the contract: the challenge, never the
    code (the notifier derives it from the challenge with the platform's key and mails it)."""

    TYPE = "lk.applications.SignatureCodeIssued.v1"
    application_id: str
    number: str
    applicant_id: str
    applicant_email: str
    challenge_id: str
    document: DocumentRef  # the contract (offer), slot offer_contract
    document_sha256: str
    expires_at: datetime
    actor_id: str


class SignatureCodeFailedV1(PublicEvent):
    """A wrong code was typed for the challenge (no code in it); ``attempts_left`` may be 0."""

    TYPE = "lk.applications.SignatureCodeFailed.v1"
    application_id: str
    number: str
    applicant_id: str
    challenge_id: str
    attempts_left: int
    actor_id: str


class ApplicationAssignedV1(PublicEvent):
    """A staff member took the application («Взять в работу»): its assignee in the queue."""

    TYPE = "lk.applications.ApplicationAssigned.v1"
    application_id: str
    number: str
    applicant_id: str
    assignee_id: str
    assignee_name: str
    actor_id: str


class TerminationRequestedV1(PublicEvent):
    """The applicant asks to terminate the concluded contract («Расторгнуть договор»)."""

    TYPE = "lk.applications.TerminationRequested.v1"
    application_id: str
    number: str
    applicant_id: str
    applicant_email: str
    reason: str
    refund_details: str
    documents: list[DocumentRef]  # slot termination_statement
    actor_id: str


class TerminationDecidedV1(PublicEvent):
    """Staff accepted the termination (a status change to annulled follows) or refused it."""

    TYPE = "lk.applications.TerminationDecided.v1"
    application_id: str
    number: str
    applicant_id: str
    applicant_email: str
    accepted: bool
    comment: str
    actor_id: str
    actor_name: str = ""
