"""Applications' command side: the catalog and the applications, one eventsourcing Application
per process (synchronous: the API calls it through ``shared.runtime.blocking``).

The rules live in the aggregates (domain.py) and the submission rules (rules.py); a command
loads, asks the aggregate, and commits. File ownership is resolved by the caller from the
files' references and passed in (``owned``: file id → content type).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime

from eventsourcing.persistence import IntegrityError

from services.applications.actor import Actor
from services.applications.calendar import WorkCalendar, local_day
from services.applications.catalog import CatalogBook
from services.applications.domain import Application
from services.applications.fees.book import FeeBook
from services.applications.rules import Document, Submission, TypeData, checked_submission
from services.applications.schedule import acceptance_due, profile_of
from services.applications.steps import Offer
from shared.application import ServiceApplication
from shared.errors import Conflict, NotFound
from shared.format import today as local_today
from shared.idempotency import IdempotencyRecord, Keyed, recorded
from shared.settings import Settings

Clock = Callable[[], datetime]
"""Gives "now" (an aware datetime); the app's ``clock`` is what tests move."""


def today() -> date:
    """Today where the grid company is (``LK_TIME_ZONE``): the day deadlines start on and
    the pages print; a UTC date would be yesterday's in Moscow after 21:00 UTC."""
    return local_today()


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(day: date | None) -> str | None:
    """Dates travel in events as ISO strings."""
    return day.isoformat() if day else None


def not_found() -> NotFound:
    return NotFound("not_found", "Заявка не найдена.")


CHANGED = "Заявку уже изменил другой сотрудник. Обновите страницу."


def changed_meanwhile(message: str = CHANGED) -> Conflict:
    return Conflict("version_conflict", message)


SEED_ATTEMPTS = 3  # a lost race to define the seed: read again (another replica defined it)


class ApplicationsApp(ServiceApplication):
    name = "applications"

    def __init__(self, settings: Settings, env: dict[str, str] | None = None) -> None:
        super().__init__(settings, env)
        self.calendar = WorkCalendar()
        self.catalog = CatalogBook(self)
        self.fees = FeeBook(self)  # the fee schedules per region and year (fees/book.py)
        self.clock: Clock = utc_now  # "now" of the deadlines; a test sets another clock

    def now(self) -> datetime:
        return self.clock()

    def local_today(self) -> date:
        """Today in the company's time zone (``LK_TIME_ZONE``) by the app's clock."""
        return local_day(self.clock(), self.settings.time_zone)

    @property
    def types(self) -> dict[str, TypeData]:
        """The catalog in memory: type code → its data."""
        return self.catalog.types

    def seed_catalog(self) -> None:
        """The seed types and fee schedules defined (once per store) and loaded. Replicas that
        start together on a fresh store race to define them: the one whose save lost reads what
        the other wrote and goes on (each seed skips what is already defined)."""
        for attempt in range(SEED_ATTEMPTS):
            try:
                self.catalog.seed()
                self.fees.seed()
                return
            except IntegrityError:
                if attempt == SEED_ATTEMPTS - 1:
                    raise

    def put_type(self, code: str, data: TypeData, actor_id: str) -> TypeData:
        return self.catalog.put(code, data, actor_id)

    def due_for(self, type_code: str, status: str, start: date) -> date | None:
        """The due date of ``status`` entered on ``start``, by the type's deadline rules."""
        rules = self.types.get(type_code, {}).get("deadlines", {})
        return self.calendar.due(start, rules.get(status))

    def due_now(self, claim: Application, status: str) -> str | None:
        return iso(self.due_for(claim.type_code, status, today()))

    def offer_due(self, claim: Application, offer: Offer) -> str | None:
        """The invoice's due date of ``offer`` placed now: the payment (or signature) deadline
        the application's page shows from the offer (schedule.acceptance_due)."""
        kind = self.types.get(claim.type_code, {})
        profile = profile_of(claim.type_code, kind, claim.power_kw, offer.state_buyer)
        due = acceptance_due(
            profile,
            self.now(),
            needs_signature=offer.needs_signature,
            calendar=self.calendar,
            tz=self.settings.time_zone,
        )
        return iso(due)

    def check_submission(self, actor: Actor, form: Submission) -> TypeData:
        """Every rule of a submission, before a number is taken; returns the type."""
        return checked_submission(actor, self.types.get(form.type_code), form)[0]

    def submit(
        self, actor: Actor, number: str, form: Submission, request: Keyed | None = None
    ) -> tuple[Application, int]:
        """File an application; under an idempotency key (``request``) the record of it is
        saved in the same save, so a repeat finds it (shared/idempotency.py)."""
        kind, checked = checked_submission(actor, self.types.get(form.type_code), form)
        due = iso(self.due_for(form.type_code, "submitted", today()))
        claim = Application.file(actor, kind, number, form, due, checked)
        records = (
            [IdempotencyRecord(record_id=request[0], fingerprint=request[1], result_id=str(claim.id))]
            if request
            else []
        )
        return claim, self.commit(claim, *records)

    def submitted_before(self, request: Keyed | None) -> Application | None:
        """The application an identical earlier request filed (422 for a reused key)."""
        found = recorded(self, *request) if request else None
        return self.find(uuid.UUID(found), Application) if found else None

    def load(self, application_id: uuid.UUID, actor: Actor) -> Application:
        """The application, if ``actor`` may see it: someone else's does not exist for them."""
        claim = self.find(application_id, Application)
        if claim is None or not claim.visible_to(actor):
            raise not_found()
        return claim

    def transition(
        self,
        application_id: uuid.UUID,
        actor: Actor,
        to_status: str,
        comment: str,
        expected_version: int | None = None,
    ) -> tuple[Application, int]:
        """Move the status (Application.move); ``expected_version``: the version the caller saw."""
        claim = self.load(application_id, actor)
        if expected_version is not None and expected_version != claim.version:
            raise changed_meanwhile()
        claim.move(actor, to_status, comment, self.due_now(claim, to_status))
        return claim, self._save(claim)

    def add_documents(
        self, application_id: uuid.UUID, actor: Actor, documents: list[Document], owned: dict[str, str]
    ) -> tuple[Application, int]:
        """The applicant sends the requested documents (Application.add_requested)."""
        claim = self.load(application_id, actor)
        kind = self.types[claim.type_code]
        claim.add_requested(actor, documents, kind, owned, self.due_now(claim, "in_work"))
        return claim, self._save(claim, "Заявка изменилась. Обновите страницу.")

    def act(
        self, application_id: uuid.UUID, actor: Actor, step: Callable[[Application], object]
    ) -> tuple[Application, int]:
        """One command of the process (steps.py) on the application ``actor`` may see: the step
        checks and records; a step that recorded nothing (a repeat) saves nothing."""
        claim = self.load(application_id, actor)
        step(claim)
        if not claim.pending_events:
            return claim, 0
        return claim, self._save(claim, "Заявка изменилась. Обновите страницу.")

    def activities_due(self, claim: Application, concluded_on: date) -> str | None:
        """The end of the activities term written in the offer, counted from conclusion."""
        term = claim.offer["term"] if claim.offer else None
        return iso(self.calendar.due(concluded_on, term))

    def at_version(self, application_id: uuid.UUID, version: int) -> Application:
        """The application as it stood at ``version`` (what its public events tell)."""
        claim: Application = self.repository.get(application_id, version=version)
        return claim

    def _save(self, claim: Application, conflict: str = CHANGED) -> int:
        """Commit; a concurrent change of the same application (the same version) is refused."""
        try:
            return self.commit(claim)
        except IntegrityError:
            raise changed_meanwhile(conflict) from None
