"""What the deadline watcher (watcher.py) records on an application, mixed into
:class:`services.applications.domain.Application`: a reminder to
the applicant, a notice that the grid company's deadline is overdue (each held once per
(code, due): a repeat records nothing), and the automatic annulment, which checks on the
aggregate that its cause still holds (the documents still missing, the invoice still unpaid).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from eventsourcing.domain import Aggregate

from services.applications.actor import Actor
from shared.format import day
from shared.statuses import FINAL

SYSTEM = Actor("system", "system", "Личный кабинет ТП")
"""Who acts when the watcher annuls: the system, not a person."""

Cause = Literal["documents", "payment"]
REASONS: dict[str, str] = {
    "documents": "Заявка аннулирована автоматически: недостающие документы не представлены в срок (до {due}).",
    "payment": "Заявка аннулирована автоматически: счёт не оплачен в срок (до {due}).",
}


class DeadlineSteps:
    # The watcher's notices, each held once per (code, due), made the aggregate's own events
    # (Application.DeadlineReminded …) by its class.
    class DeadlineReminded(Aggregate.Event):
        code: str
        due: str  # the deadline's local date (ISO)

        def apply(self, aggregate: Any) -> None:
            aggregate.watched.add(f"reminded:{self.code}:{self.due}")

    class DeadlineOverdue(Aggregate.Event):
        code: str
        due: str

        def apply(self, aggregate: Any) -> None:
            aggregate.watched.add(f"overdue:{self.code}:{self.due}")

    if TYPE_CHECKING:  # the aggregate's state and event methods (domain.Application)
        status: str
        offer: dict[str, Any] | None
        concluded: bool
        watched: set[str]

        @property
        def paid_kopecks(self) -> int: ...
        def _changed(self, actor: Actor, to_status: str, comment: str, due: str | None) -> None: ...
        def trigger_event(self, event_class: Any, **kwargs: Any) -> None: ...

    def remind(self, code: str, due: date) -> bool:
        """Remind the applicant of the deadline ``code`` ending on ``due``, once (False: held
        already, or the application is final)."""
        if self.status in FINAL or f"reminded:{code}:{due.isoformat()}" in self.watched:
            return False
        self.trigger_event(self.DeadlineReminded, code=code, due=due.isoformat())
        return True

    def flag_overdue(self, code: str, due: date) -> bool:
        """Note that the grid company's deadline ``code`` (due on ``due``) passed, once."""
        if self.status in FINAL or f"overdue:{code}:{due.isoformat()}" in self.watched:
            return False
        self.trigger_event(self.DeadlineOverdue, code=code, due=due.isoformat())
        return True

    def unpaid(self) -> bool:
        """An offer accepted by payment waits for it: not concluded, not fully paid."""
        return (
            self.status == "contract"
            and self.offer is not None
            and not self.offer["needs_signature"]
            and not self.concluded
            and self.paid_kopecks < int(self.offer["amount_kopecks"])
        )

    def annul_late(self, cause: Cause, due: date, today: date) -> bool:
        """Annul by the system when the applicant's deadline ``due`` passed (``today`` after it)
        and its cause still holds on the aggregate: the documents are still requested
        («Требуются документы»), or the invoice is still unpaid. False: nothing recorded."""
        if today <= due:
            return False
        holds = self.status == "needs_documents" if cause == "documents" else self.unpaid()
        if not holds:
            return False
        self._changed(SYSTEM, "annulled", REASONS[cause].format(due=day(due)), None)
        return True
