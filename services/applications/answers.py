"""How the API shows an application: a listed row, its deadline, its history."""

from __future__ import annotations

from datetime import date
from typing import Any

from services.applications.app import today
from services.applications.calendar import WorkCalendar
from services.applications.domain import Application
from services.applications.workflow import CONSUMER, next_steps
from shared.statuses import FINAL, TITLES

DOCUMENTS_ADDED = "Заявитель добавил документы"


def deadline(calendar: WorkCalendar, status: str, due: str | None) -> dict[str, Any] | None:
    if not due or status in FINAL:
        return None
    due_date = date.fromisoformat(due)
    now = today()
    return {
        "due": due,
        "working_days_left": calendar.working_days_between(now, due_date),
        "overdue": now > due_date,
    }


def row_out(calendar: WorkCalendar, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["application_id"],
        "number": row["number"],
        "type_code": row["type_code"],
        "type_title": row["type_title"],
        "status": row["status"],
        "status_title": TITLES[row["status"]],
        "power_kw": row["power_kw"],
        "object_address": row["object_address"],
        "applicant_name": row["applicant_name"],
        "submitted_at": row["submitted_at"],
        "updated_at": row["updated_at"],
        "status_since": row["status_since"],
        "version": row["version"],
        "deadline": deadline(calendar, row["status"], row["due"]),
        "unread_messages": int(row.get("unread_messages") or 0),
        # Returned to «В работе» by the applicant's upload of the requested documents, and not
        # moved by staff since.
        "documents_received": row["status"] == "in_work" and row.get("last_actor_role") == CONSUMER,
    }


def _entry(kind: str, version: int, title: str, **rest: Any) -> dict[str, Any]:
    empty = {"from_status": None, "to_status": None, "actor_role": CONSUMER, "actor_name": "", "comment": ""}
    return {"kind": kind, "version": version, "to_title": title, **empty, "documents": [], **rest}


def history(timeline: list[dict[str, Any]], documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Status changes and the documents the applicant added later (versions after the
    submission), in the order they happened."""
    added: dict[int, list[dict[str, Any]]] = {}
    for doc in documents:
        if doc["version"] > 1:
            added.setdefault(doc["version"], []).append(doc)
    steps = ("from_status", "to_status", "actor_role", "actor_name", "comment", "at")
    entries = [
        _entry("status", t["version"], TITLES[t["to_status"]], **{k: t[k] for k in steps}) for t in timeline
    ]
    entries += [
        _entry("documents", v, DOCUMENTS_ADDED, at=d[0]["added_at"], documents=d) for v, d in added.items()
    ]
    return sorted(entries, key=lambda e: int(e["version"]))


def as_committed(body: dict[str, Any], claim: Application, role: str) -> dict[str, Any]:
    """The detail answer with the command's own result where the views are behind."""
    return {
        **body,
        "status": claim.status,
        "status_title": TITLES[claim.status],
        "version": claim.version,
        "allowed_transitions": next_steps(role, claim.status),
    }
