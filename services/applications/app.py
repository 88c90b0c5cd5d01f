"""Applications' command side: the catalog and the applications, one eventsourcing
Application per process (called from worker threads by the API).

Every rule is checked here before an event is triggered. File ownership is resolved by
the caller from the files projection and passed in (``owned``: file id → content type).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from services.applications.calendar import WorkCalendar
from services.applications.domain import Application as Claim
from services.applications.domain import ApplicationType, Catalog
from services.applications.workflow import CONSUMER, STAFF, STATUS_TITLES, Verdict, judge
from shared.http import ApiError
from shared.idempotency import IdempotencyRecord, Keyed, recorded
from shared.settings import Settings

CATALOG_FILE = Path(__file__).with_name("catalog.json")
ARCHIVE_SLOT = "archive"
ZIP_TYPES = {"application/zip"}
DOCUMENTS_RECEIVED = "Заявитель добавил документы: заявка снова в работе, срок этапа — с даты их получения."


def not_found() -> ApiError:
    return ApiError(404, "not_found", "Заявка не найдена.")


@dataclass(frozen=True)
class Actor:
    account_id: str
    role: str  # consumer | staff
    name: str
    email: str = ""


def today() -> date:
    return datetime.now(UTC).date()


def iso(day: date | None) -> str | None:
    """Dates travel in events as ISO strings."""
    return day.isoformat() if day else None


class ApplicationsApp(Application[uuid.UUID]):
    name = "applications"

    def __init__(self, settings: Settings, env: dict[str, str] | None = None) -> None:
        super().__init__(
            {**settings.eventstore_env("applications"), "AGGREGATE_CACHE_MAXSIZE": "5000", **(env or {})}
        )
        self.settings = settings
        self.calendar = WorkCalendar()
        self.on_saved: Callable[[], None] = lambda: None
        self.types: dict[str, dict[str, Any]] = {}

    def _commit(self, *aggregates: Any) -> int:
        recordings = self.save(*aggregates)
        self.on_saved()
        return max((r.notification.id for r in recordings), default=0)

    # catalog ----------------------------------------------------------------------------
    def seed_catalog(self) -> None:
        """Define the seed types once; load the whole catalog into memory."""
        seed = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
        try:
            catalog: Any = self.repository.get(Catalog.create_id())
        except AggregateNotFoundError:
            catalog = Catalog()
        fresh = []
        for item in seed["types"]:
            if item["code"] not in catalog.codes:
                data = {
                    **item,
                    "documents": [{**d, "title": seed["documents"][d["code"]]} for d in item["documents"]],
                }
                catalog.add(code=item["code"])
                fresh.append(ApplicationType(code=item["code"], data=data))
        if fresh:
            self._commit(catalog, *fresh)
        for code in catalog.codes:
            kind: Any = self.repository.get(ApplicationType.create_id(code))
            self.types[code] = kind.data

    def put_type(self, code: str, data: dict[str, Any], actor_id: str) -> dict[str, Any]:
        """Create or replace a catalog entry (admins)."""
        data = {**data, "code": code}
        catalog: Any = self.repository.get(Catalog.create_id())
        if code in catalog.codes:
            kind: Any = self.repository.get(ApplicationType.create_id(code))
            kind.update(data=data, actor_id=actor_id)
            self._commit(kind)
        else:
            catalog.add(code=code)
            self._commit(catalog, ApplicationType(code=code, data=data))
        self.types[code] = data
        return data

    def due_for(self, type_code: str, status: str, start: date) -> date | None:
        rules = self.types.get(type_code, {}).get("deadlines", {})
        return self.calendar.due(start, rules.get(status))

    # applications -------------------------------------------------------------------------
    def _documents(
        self, kind: dict[str, Any], documents: list[dict[str, str]], owned: dict[str, str]
    ) -> None:
        slots = {d["code"] for d in kind["documents"]} | {ARCHIVE_SLOT}
        for doc in documents:
            if doc["slot"] not in slots:
                raise ApiError(422, "unknown_slot", f"Неизвестный вид документа: {doc['slot']}.")
            if doc["file_id"] not in owned:
                raise ApiError(422, "file_not_found", "Файл не найден среди ваших загруженных файлов.")
            if doc["slot"] == ARCHIVE_SLOT and owned[doc["file_id"]] not in ZIP_TYPES:
                raise ApiError(422, "archive_expected", "В поле «Архив документов» нужен ZIP-архив.")

    def check_submission(
        self,
        *,
        actor: Actor,
        type_code: str,
        power_kw: float,
        documents: list[dict[str, str]],
        owned: dict[str, str],
    ) -> dict[str, Any]:
        """Every rule of a submission, before a number is taken; returns the type."""
        if actor.role != CONSUMER:
            raise ApiError(403, "forbidden", "Заявку на ТП подаёт потребитель.")
        kind = self.types.get(type_code)
        if kind is None:
            raise ApiError(422, "unknown_type", "Такого вида заявки нет в каталоге.")
        if power_kw > float(kind["max_power_kw"]):
            raise ApiError(
                422,
                "power_exceeds_limit",
                f"Для этого вида заявки максимальная мощность — {kind['max_power_kw']} кВт.",
            )
        self._documents(kind, documents, owned)
        given = {d["slot"] for d in documents}
        missing = [d["title"] for d in kind["documents"] if d["required"] and d["code"] not in given]
        if missing and ARCHIVE_SLOT not in given:
            raise ApiError(
                422,
                "documents_missing",
                "Не приложены обязательные документы: "
                + "; ".join(missing)
                + ". Можно приложить их одним ZIP-архивом.",
            )
        return kind

    def submit(
        self,
        *,
        actor: Actor,
        number: str,
        type_code: str,
        power_kw: float,
        object_address: str,
        contact_phone: str,
        contact_email: str,
        comment: str,
        documents: list[dict[str, str]],
        owned: dict[str, str],
        request: Keyed | None = None,
    ) -> tuple[Claim, int]:
        """File an application; under an idempotency key (``request``) the record of it is
        saved in the same save, so a repeat finds it (shared/idempotency.py)."""
        kind = self.check_submission(
            actor=actor, type_code=type_code, power_kw=power_kw, documents=documents, owned=owned
        )
        claim = Claim(
            number=number,
            applicant_id=actor.account_id,
            applicant_email=actor.email,
            applicant_name=actor.name,
            type_code=type_code,
            type_title=kind["title"],
            power_kw=power_kw,
            object_address=object_address,
            contact_phone=contact_phone,
            contact_email=contact_email,
            comment=comment,
            documents=documents,
            due=iso(self.due_for(type_code, "submitted", today())),
        )
        records = (
            [IdempotencyRecord(record_id=request[0], fingerprint=request[1], result_id=str(claim.id))]
            if request
            else []
        )
        return claim, self._commit(claim, *records)

    def submitted_before(self, request: Keyed | None) -> Claim | None:
        """The application an identical earlier request filed (422 for a reused key)."""
        found = recorded(self, *request) if request else None
        if found is None:
            return None
        claim: Any = self.repository.get(uuid.UUID(found))
        return claim if isinstance(claim, Claim) else None

    def _load(self, application_id: uuid.UUID, actor: Actor) -> Claim:
        try:
            claim: Any = self.repository.get(application_id)
        except AggregateNotFoundError:
            raise not_found() from None
        if not isinstance(claim, Claim):
            raise not_found()
        if actor.role != STAFF and claim.applicant_id != actor.account_id:
            raise not_found()  # someone else's application does not exist for you
        return claim

    def transition(
        self,
        application_id: uuid.UUID,
        actor: Actor,
        to_status: str,
        comment: str,
        expected_version: int | None = None,
    ) -> tuple[Claim, int]:
        claim = self._load(application_id, actor)
        if expected_version is not None and expected_version != claim.version:
            raise ApiError(409, "version_conflict", "Заявку уже изменил другой сотрудник. Обновите страницу.")
        if to_status not in STATUS_TITLES:
            raise ApiError(422, "unknown_status", "Неизвестный статус.")
        verdict = judge(actor.role, claim.status, to_status)
        if verdict is Verdict.NOT_YOUR_ROLE:
            raise ApiError(
                403, "forbidden", "Менять статус заявки может только сотрудник сетевой организации."
            )
        if verdict is Verdict.NOT_FROM_HERE:
            raise ApiError(
                409,
                "transition_not_allowed",
                f"Из статуса «{STATUS_TITLES[claim.status]}» нельзя перейти в «{STATUS_TITLES[to_status]}».",
            )
        comment = comment.strip()
        if to_status == "annulled" and not comment:
            if actor.role == STAFF:
                raise ApiError(422, "reason_required", "Укажите причину аннулирования заявки.")
            comment = "Заявка отозвана заявителем."
        if to_status == "needs_documents" and not comment:
            raise ApiError(422, "reason_required", "Укажите, какие документы нужны.")
        claim.change_status(
            from_status=claim.status,
            to_status=to_status,
            comment=comment,
            actor_id=actor.account_id,
            actor_role=actor.role,
            actor_name=actor.name,
            due=iso(self.due_for(claim.type_code, to_status, today())),
        )
        try:
            position = self._commit(claim)
        except IntegrityError:
            raise ApiError(
                409, "version_conflict", "Заявку уже изменил другой сотрудник. Обновите страницу."
            ) from None
        return claim, position

    def add_documents(
        self, application_id: uuid.UUID, actor: Actor, documents: list[dict[str, str]], owned: dict[str, str]
    ) -> tuple[Claim, int]:
        """The applicant sends the documents staff asked for. The application is complete
        again at that moment, so it returns to «В работе» in the same save: the grid company's
        term runs from the upload (../shared/DOMAIN.md), not from a later click."""
        claim = self._load(application_id, actor)
        if actor.account_id != claim.applicant_id:
            raise ApiError(403, "forbidden", "Документы к заявке добавляет заявитель.")
        if claim.status != "needs_documents":
            raise ApiError(
                409, "documents_not_requested", "Сетевая организация не запрашивала документы по заявке."
            )
        self._documents(self.types[claim.type_code], documents, owned)
        claim.add_documents(documents=documents, actor_id=actor.account_id)
        claim.change_status(
            from_status=claim.status,
            to_status="in_work",
            comment=DOCUMENTS_RECEIVED,
            actor_id=actor.account_id,
            actor_role=actor.role,
            actor_name=actor.name,
            due=iso(self.due_for(claim.type_code, "in_work", today())),
        )
        try:
            position = self._commit(claim)
        except IntegrityError:
            raise ApiError(409, "version_conflict", "Заявка изменилась. Обновите страницу.") from None
        return claim, position
