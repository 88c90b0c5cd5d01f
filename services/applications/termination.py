"""«Расторгнуть договор» (issue 12): once the contract is concluded the applicant no longer
withdraws the application; they ask for the contract's termination (the reason, the details
for the refund of what was paid, the signed statement as files) and staff decide: accepted,
the application is annulled with the settlement in the comment; refused, with the reason, the
application goes on. One request is open at a time. Mixed into
:class:`services.applications.domain.Application`, whose class makes these events its own."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from services.applications.actor import Actor
from services.applications.rules import Document
from services.applications.workflow import STAFF
from shared.errors import Conflict, Forbidden, Invalid
from shared.statuses import FINAL, TITLES

TERMINATION_STATEMENT = "termination_statement"  # the slot of the applicant's files
TERMINATED = "Договор ТП расторгнут по заявлению заявителя."


class TerminationSteps:
    termination: dict[str, Any] | None = None  # the latest request: reason, refund, documents, decision

    class TerminationRequested(Aggregate.Event):
        reason: str
        refund_details: str
        documents: list[Document]
        actor_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.termination = {
                "reason": self.reason,
                "refund_details": self.refund_details,
                "documents": self.documents,
                "decided": False,
            }

    class TerminationDecided(Aggregate.Event):
        accepted: bool
        comment: str
        actor_id: str
        actor_name: str

        def apply(self, aggregate: Any) -> None:
            aggregate.termination = {
                **(aggregate.termination or {}),
                "decided": True,
                "accepted": self.accepted,
            }

    if TYPE_CHECKING:  # the aggregate's state and event machinery (domain.Application)
        applicant_id: str
        status: str
        concluded: bool

        def trigger_event(self, event_class: Any, **kwargs: Any) -> None: ...
        def _changed(self, actor: Actor, to_status: str, comment: str, due: str | None) -> None: ...

    def termination_open(self) -> bool:
        return self.termination is not None and not self.termination["decided"]

    def request_termination(
        self, actor: Actor, reason: str, refund_details: str, documents: list[Document], owned: set[str]
    ) -> None:
        """The applicant's statement on the termination of a concluded contract."""
        if actor.account_id != self.applicant_id:
            raise Forbidden("forbidden", "Расторгнуть договор может только заявитель.")
        if not self.concluded or self.status in FINAL:
            raise Conflict(
                "termination_not_available",
                "Расторгнуть можно заключённый договор по заявке в работе; сейчас заявка — "
                f"«{TITLES[self.status]}»."
                + ("" if self.concluded else " До заключения договора заявку отзывают."),
            )
        if self.termination_open():
            raise Conflict(
                "termination_pending", "Заявление о расторжении договора уже направлено и ждёт решения."
            )
        if not reason.strip():
            raise Invalid("reason_required", "Укажите причину расторжения договора.")
        if not refund_details.strip():
            raise Invalid("refund_details_required", "Укажите реквизиты для возврата денежных средств.")
        for doc in documents:
            if doc["file_id"] not in owned:
                raise Invalid("file_not_found", "Файл не найден среди ваших загруженных файлов.")
        self.trigger_event(
            self.TerminationRequested,
            reason=reason.strip(),
            refund_details=refund_details.strip(),
            documents=documents,
            actor_id=actor.account_id,
        )

    def decide_termination(self, actor: Actor, accept: bool, comment: str) -> None:
        """Staff accept the request (the application is annulled: the contract is terminated) or
        refuse it with the reason (the application goes on)."""
        if actor.role != STAFF:
            raise Forbidden("forbidden", "Решение о расторжении договора принимает сетевая организация.")
        if not self.termination_open():
            raise Conflict(
                "termination_not_requested", "Заявления о расторжении договора нет или оно уже решено."
            )
        text = comment.strip()
        if not text:
            raise Invalid(
                "comment_required",
                "Укажите расчёт фактических расходов и сумму возврата"
                if accept
                else "Укажите причину отказа в расторжении договора.",
            )
        self.trigger_event(
            self.TerminationDecided,
            accepted=accept,
            comment=text,
            actor_id=actor.account_id,
            actor_name=actor.name,
        )
        if accept:
            self._changed(actor, "annulled", f"{TERMINATED} {text}", None)
