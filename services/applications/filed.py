"""The application as filed, read from its own events: the structured request and the term of
the activities that applies (the detail's ``request`` and ``activity_term``), and what the
generated application form is made of. The request stays in the applications service: the
public event carries only its registry part (shared/events.py, decision 22)."""

from __future__ import annotations

import uuid
from typing import Any

from services.applications.activity_terms import activity_term
from services.applications.app import ApplicationsApp
from services.applications.application_form import Filed
from services.applications.calendar import local_day
from services.applications.domain import Application
from services.applications.rules import ARCHIVE_SLOT, ARCHIVE_TITLE


def as_filed(app: ApplicationsApp, claim: Application) -> dict[str, Any]:
    """``request`` (None for an application filed before issue 13) and ``activity_term``."""
    request = getattr(claim, "request", None) or {}
    kind = app.types.get(claim.type_code, {})
    return {"request": request or None, "activity_term": activity_term(kind, request, claim.power_kw)}


def filed_request(app: ApplicationsApp, application_id: uuid.UUID) -> dict[str, Any]:
    """:func:`as_filed` of an application the caller was already let see (queries.detail)."""
    claim = app.find(application_id, Application)
    return as_filed(app, claim) if claim else {"request": None, "activity_term": None}


def filed_form(app: ApplicationsApp, claim: Application) -> Filed:
    kind = app.types.get(claim.type_code, {})
    titles = {d["code"]: d["title"] for d in kind.get("documents", [])} | {ARCHIVE_SLOT: ARCHIVE_TITLE}
    request = getattr(claim, "request", None) or {}
    return Filed(
        number=claim.number,
        filed_on=local_day(claim.created_on, app.settings.time_zone),
        type_title=claim.type_title,
        applicant_name=claim.applicant_name,
        applicant_email=claim.contact_email or claim.applicant_email,
        contact_phone=claim.contact_phone,
        power_kw=claim.power_kw,
        object_address=claim.object_address,
        request=request,
        documents=[
            {"title": titles.get(d["slot"], d["slot"]), "name": d.get("name", "")} for d in claim.documents
        ],
        paper_signature=bool(kind.get("paper_signature")),
        activity_term=activity_term(kind, request, claim.power_kw),
        company_name=app.settings.company_name,
    )
