"""Public events: the versioned contract between services.

Internal domain events of a service never leave it; its relay maps them to these
models. Consumers parse only these. The envelope follows CloudEvents attribute names.
"""

from __future__ import annotations

import functools
import threading
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

_EVENT_NS = uuid.UUID("6f1f8f3e-2f4c-4b7e-9a57-1c0e4d1c2a10")


class Envelope(BaseModel):
    """One public event as it travels on a topic."""

    model_config = ConfigDict(frozen=True)

    specversion: str = "1.0"
    id: str
    type: str
    source: str
    subject: str
    time: datetime
    sequence: int
    position: int
    actor: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    @staticmethod
    def event_id(source: str, subject: str, sequence: int) -> str:
        """Deterministic id: a republished event keeps its id, so consumers can dedupe."""
        return str(uuid.uuid5(_EVENT_NS, f"{source}/{subject}/{sequence}"))

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        """The envelope of a record. In one process every consumer of a topic reads the same
        record (the embedded transport's tail hands them the same bytes): it is decoded once,
        and its payload parsed once (both read-only to whoever gets them)."""
        if cls is not Envelope:
            return cls.model_validate_json(raw)
        return _decoded(raw)

    def parse(self) -> PublicEvent | None:
        """The typed payload, or None for a type this build does not know (parsed once per
        envelope of the last few thousand)."""
        key = id(self)
        held = _PARSED.get(key)
        if held is not None and held[0] is self:
            return held[1]
        model = EVENT_TYPES.get(self.type)
        payload = model.model_validate(self.data) if model else None
        with _PARSED_LOCK:  # a worker thread may parse too
            _PARSED[key] = (self, payload)  # the envelope is held: its id is not reused meanwhile
            if len(_PARSED) > _CACHED:
                del _PARSED[next(iter(_PARSED))]
        return payload


_CACHED = 1024  # envelopes decoded, and payloads parsed, kept for the other consumers
_PARSED: dict[int, tuple[Envelope, PublicEvent | None]] = {}  # oldest first
_PARSED_LOCK = threading.Lock()


@functools.lru_cache(maxsize=_CACHED)
def _decoded(raw: bytes) -> Envelope:
    return Envelope.model_validate_json(raw)


EVENT_TYPES: dict[str, type[PublicEvent]] = {}
"""Every public event class by its versioned name; each registers itself when defined."""


class PublicEvent(BaseModel):
    """Base of every public event payload; ``TYPE`` is its versioned name."""

    TYPE: ClassVar[str]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "TYPE" not in cls.__dict__:
            return  # an abstract base of its own
        if cls.TYPE in EVENT_TYPES:
            raise TypeError(f"two public events are named {cls.TYPE}")
        EVENT_TYPES[cls.TYPE] = cls

    def envelope(
        self,
        *,
        source: str,
        subject: str,
        sequence: int,
        position: int,
        time: datetime | None = None,
        actor: str | None = None,
    ) -> Envelope:
        return Envelope(
            id=Envelope.event_id(source, subject, sequence),
            type=self.TYPE,
            source=source,
            subject=subject,
            time=time or datetime.now(UTC),
            sequence=sequence,
            position=position,
            actor=actor,
            data=self.model_dump(mode="json"),
        )


# identity.events ---------------------------------------------------------------
class AccountRegisteredV1(PublicEvent):
    TYPE = "lk.identity.AccountRegistered.v1"
    account_id: str
    login: str
    email: str
    account_type: str
    roles: list[str] = Field(default_factory=list)
    # Single-use, short-lived link secret for the notifier (see docs/decisions.md);
    # empty for accounts created already confirmed (staff).
    confirmation_token: str = ""
    confirmation_expires_at: datetime | None = None


class EmailConfirmationRequestedV1(PublicEvent):
    TYPE = "lk.identity.EmailConfirmationRequested.v1"
    account_id: str
    email: str
    confirmation_token: str
    confirmation_expires_at: datetime


class EmailConfirmedV1(PublicEvent):
    TYPE = "lk.identity.EmailConfirmed.v1"
    account_id: str
    email: str


class SessionStartedV1(PublicEvent):
    TYPE = "lk.identity.SessionStarted.v1"
    account_id: str
    session_id: str
    expires_at: datetime
    account_type: str = "consumer"
    roles: list[str] = Field(default_factory=list)


class SessionEndedV1(PublicEvent):
    TYPE = "lk.identity.SessionEnded.v1"
    account_id: str
    session_id: str


class ProfileUpdatedV1(PublicEvent):
    """The names, and who the applicant is by the registries; the passport, phone and postal
    address stay in identity (docs/decisions.md, «The applicant's profile»)."""

    TYPE = "lk.identity.ProfileUpdated.v1"
    account_id: str
    first_name: str
    last_name: str
    display_name: str
    middle_name: str = ""
    applicant_kind: str = ""  # individual | sole_trader | company; "" before it is chosen
    organisation_name: str = ""
    inn: str = ""
    ogrn: str = ""
    ogrnip: str = ""
    kpp: str = ""


class PasswordChangedV1(PublicEvent):
    """The password was changed by its owner or reset by e-mail."""

    TYPE = "lk.identity.PasswordChanged.v1"
    account_id: str
    email: str
    display_name: str
    by_reset: bool


class PasswordResetRequestedV1(PublicEvent):
    TYPE = "lk.identity.PasswordResetRequested.v1"
    account_id: str
    email: str
    display_name: str
    # Single-use link secret, valid for an hour (see docs/decisions.md).
    reset_token: str
    reset_expires_at: datetime


# files.events ------------------------------------------------------------------------
class FileUploadedV1(PublicEvent):
    TYPE = "lk.files.FileUploaded.v1"
    file_id: str
    owner_id: str
    name: str
    size: int
    content_type: str
    sha256: str
    # For a ZIP: the names and sizes inside, checked safe; None for other files.
    archive_entries: list[dict[str, Any]] | None = None


class FilePartiesGrantedV1(PublicEvent):
    """More accounts may read a file (it was attached to an application or a chat)."""

    TYPE = "lk.files.FilePartiesGranted.v1"
    file_id: str
    account_ids: list[str]


class FileDeletedV1(PublicEvent):
    """Its owner deleted a file attached to nothing; its bytes are removed after this event."""

    TYPE = "lk.files.FileDeleted.v1"
    file_id: str
    owner_id: str


class FormPublishedV1(PublicEvent):
    TYPE = "lk.files.FormPublished.v1"
    form_id: str
    code: str
    title: str
    kind: str  # application | act | contract
    application_type_code: str | None
    version: int
    format: str
    file_id: str


# applications.events ---------------------------------------------------------------------
class DocumentRef(BaseModel):
    slot: str
    file_id: str
    name: str = ""  # the file's name as uploaded (absent from events published before it was added)


class ApplicationSubmittedV1(PublicEvent):
    TYPE = "lk.applications.ApplicationSubmitted.v1"
    application_id: str
    number: str
    applicant_id: str
    applicant_email: str
    applicant_name: str
    type_code: str
    type_title: str
    power_kw: float
    object_address: str
    documents: list[DocumentRef]
    due: str | None = None  # ISO date the current status is due by (deadline rule of the type)
    # What the applicant gave for staff to reach them (empty in events published before).
    contact_phone: str = ""
    contact_email: str = ""
    comment: str = ""
    # The structured application (issue 13; defaults in events published before). Who the
    # applicant is by the registry numbers documents name them by, as ProfileUpdated.v1 does:
    # no passport, postal address or phone of theirs, no reduced-rate category (decision 22).
    object_name: str = ""
    cadastral_number: str | None = None
    connection_kind: str = "new"
    previous_power_kw: float = 0
    voltage_kv: float | None = None
    reliability_category: int | None = None
    payment_option: str = "lump_sum"
    applicant_kind: str = ""
    applicant_inn: str = ""
    applicant_ogrn: str = ""  # ОГРН of a company, ОГРНИП of a sole trader
    organisation_name: str = ""
    by_representative: bool = False  # filed by a representative under a power of attorney


class StatusChangedV1(PublicEvent):
    TYPE = "lk.applications.StatusChanged.v1"
    application_id: str
    number: str
    applicant_id: str
    applicant_email: str
    from_status: str
    to_status: str
    to_title: str
    comment: str
    actor_id: str
    actor_role: str
    actor_name: str = ""
    due: str | None = None


class DocumentsAddedV1(PublicEvent):
    TYPE = "lk.applications.DocumentsAdded.v1"
    application_id: str
    number: str
    applicant_id: str
    documents: list[DocumentRef]
    actor_id: str


# chat.events -----------------------------------------------------------------------------
class MessagePostedV1(PublicEvent):
    TYPE = "lk.chat.MessagePosted.v1"
    message_id: str
    thread_id: str  # = the application id
    seq: int  # position of the message in its thread, from 1
    applicant_id: str
    author_id: str
    author_role: str  # consumer | staff
    author_name: str
    text: str
    attachments: list[str]


class MessageReadV1(PublicEvent):
    TYPE = "lk.chat.MessageRead.v1"
    thread_id: str
    reader_id: str
    reader_role: str
    up_to_seq: int


# The process's facts live in shared/process_events.py; imported here so that they register
# with every reader of this module.
import shared.process_events  # noqa: E402, F401
