"""Who publishes what and who reads it: the one declared table of the platform's flows.

Each service publishes its public events on its own topic (``<service>.events``); each
projection reads the topics of the services named here — the runtime takes a projection's
topics from this table, so the wiring cannot drift from it, and ``lk ops topology`` prints
it. A test checks that each service's event map publishes exactly what is declared.
"""

from __future__ import annotations

from shared import events as ev
from shared import process_events as pe
from shared.events import PublicEvent
from shared.settings import Settings

PUBLISHES: dict[str, tuple[type[PublicEvent], ...]] = {
    "identity": (
        ev.AccountRegisteredV1,
        ev.EmailConfirmationRequestedV1,
        ev.EmailConfirmedV1,
        ev.SessionStartedV1,
        ev.SessionEndedV1,
        ev.ProfileUpdatedV1,
        ev.PasswordChangedV1,
        ev.PasswordResetRequestedV1,
    ),
    "applications": (
        ev.ApplicationSubmittedV1,
        ev.StatusChangedV1,
        ev.DocumentsAddedV1,
        pe.OfferPlacedV1,
        pe.PaymentRecordedV1,
        pe.OfferRefusedV1,
        pe.ContractConcludedV1,
        pe.NoticeReceivedV1,
        pe.ConnectionRecordedV1,
        pe.CompanyDocumentPlacedV1,
        pe.DeadlineRemindedV1,
        pe.DeadlineOverdueV1,
        pe.SignatureCodeIssuedV1,
        pe.SignatureCodeFailedV1,
        pe.ApplicationAssignedV1,
        pe.TerminationRequestedV1,
        pe.TerminationDecidedV1,
    ),
    "chat": (ev.MessagePostedV1, ev.MessageReadV1),
    "files": (ev.FileUploadedV1, ev.FilePartiesGrantedV1, ev.FormPublishedV1, ev.FileDeletedV1),
}

# Every service but identity keeps a session registry of identity.events (shared/auth.py).
SESSIONS = ("gateway", "applications", "chat", "files")

CONSUMES: dict[str, tuple[str, ...]] = {
    **{f"{service}.sessions": ("identity",) for service in SESSIONS},
    "identity.directory": ("identity",),
    "applications.view": ("applications", "identity"),
    "applications.documents": ("applications",),
    "applications.process": ("applications",),
    "applications.refs": ("identity", "files"),
    "applications.forms": ("files",),
    "applications.chat": ("chat",),
    "chat.refs": ("applications", "identity", "files"),
    "files.catalog": ("files",),
    "files.attachments": ("applications", "chat"),
    "notifier.outbox": ("identity", "applications"),
    "notifier.chat_mail": ("chat",),
    "notifier.deadline_mail": ("applications",),
    "notifier.termination_mail": ("applications",),
    "notifier.refs": ("applications", "identity"),
    "applications.file_hashes": ("files",),
    "notifier.signature_mail": ("applications",),
}


def topics(projection: str, settings: Settings) -> tuple[str, ...]:
    """The topics ``projection`` reads, as declared (KeyError for one not declared)."""
    return tuple(settings.topic(service) for service in CONSUMES[projection])


def lines() -> list[str]:
    """The table as text, for ``lk ops topology``."""
    out = ["Публикует (топик <сервис>.events):"]
    for service, published in PUBLISHES.items():
        out.append(f"  {service}: " + ", ".join(e.TYPE for e in published))
    out.append("Читает (проекция ← сервисы):")
    for projection, sources in CONSUMES.items():
        out.append(f"  {projection} ← " + ", ".join(sources))
    return out
