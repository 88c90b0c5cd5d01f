"""The plain status moves of an application (workflow.judge) and the documents staff asked
for, mixed into :class:`services.applications.domain.Application` (which declares the events).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.applications.actor import Actor
from services.applications.rules import Document, TypeData, check_documents
from services.applications.workflow import FACTS, STAFF, Verdict, judge
from shared.errors import Conflict, Forbidden, Invalid
from shared.statuses import TITLES

WITHDRAWN = "Заявка отозвана заявителем."
DOCUMENTS_RECEIVED = "Заявитель добавил документы: заявка снова в работе, срок этапа — с даты их получения."


class StatusMoves:
    if TYPE_CHECKING:  # the aggregate's state and event methods (domain.Application)
        applicant_id: str
        status: str
        concluded: bool

        def _changed(self, actor: Actor, to_status: str, comment: str, due: str | None) -> None: ...
        def _documents_added(self, documents: list[Document], actor_id: str) -> None: ...

    def visible_to(self, actor: Actor) -> bool:
        """Staff see every application, an applicant only their own."""
        return actor.role == STAFF or self.applicant_id == actor.account_id

    def move(self, actor: Actor, to_status: str, comment: str, due: str | None) -> None:
        """Change the status as the workflow allows ``actor`` (workflow.judge: only what needs no
        fact; a stage of the process is refused as ``fact_required``): staff give a
        reason to annul or to ask for documents; the applicant's annulment is a withdrawal,
        only before the contract is concluded (after it, the contract is terminated instead)."""
        if to_status not in TITLES:
            raise Invalid("unknown_status", "Неизвестный статус.")
        verdict = judge(actor.role, self.status, to_status)
        if verdict is Verdict.NOT_YOUR_ROLE:
            raise Forbidden("forbidden", "Менять статус заявки может только сотрудник сетевой организации.")
        if verdict is Verdict.FACT_REQUIRED:
            raise Conflict("fact_required", f"Этот этап наступает по факту: {FACTS[to_status]}.")
        if verdict is Verdict.NOT_FROM_HERE:
            raise Conflict(
                "transition_not_allowed",
                f"Из статуса «{TITLES[self.status]}» нельзя перейти в «{TITLES[to_status]}».",
            )
        if to_status == "annulled" and actor.role != STAFF and self.concluded:
            raise Conflict(
                "contract_concluded",
                "Договор ТП заключён: заявку нельзя отозвать. Направьте заявление о расторжении договора.",
            )
        reason = comment.strip()
        if to_status == "annulled" and not reason:
            if actor.role == STAFF:
                raise Invalid("reason_required", "Укажите причину аннулирования заявки.")
            reason = WITHDRAWN
        if to_status == "needs_documents" and not reason:
            raise Invalid("reason_required", "Укажите, какие документы нужны.")
        self._changed(actor, to_status, reason, due)

    def add_requested(
        self, actor: Actor, documents: list[Document], kind: TypeData, owned: dict[str, str], due: str | None
    ) -> None:
        """The applicant sends the documents staff asked for. The application is complete again
        at that moment, so it returns to «В работе» in the same save (``due``: that status's
        term counted from today): the term runs from the upload (../shared/DOMAIN.md)."""
        if actor.account_id != self.applicant_id:
            raise Forbidden("forbidden", "Документы к заявке добавляет заявитель.")
        if self.status != "needs_documents":
            raise Conflict(
                "documents_not_requested", "Сетевая организация не запрашивала документы по заявке."
            )
        check_documents(kind, documents, owned)
        self._documents_added(documents=documents, actor_id=actor.account_id)
        self._changed(actor, "in_work", DOCUMENTS_RECEIVED, due)
