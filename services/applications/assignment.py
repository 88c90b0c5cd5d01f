"""«Взять в работу»: a staff member takes an application as its assignee (issue 12, point 7),
mixed into :class:`services.applications.domain.Application` .

Only staff take applications; taking what one already holds records nothing, so the button
may be pressed twice. A colleague's application may be taken over (the page asks first); a
closed one (completed or annulled) is not taken.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventsourcing.domain import Aggregate

from services.applications.actor import Actor
from services.applications.workflow import STAFF
from shared.errors import Conflict, Forbidden
from shared.statuses import FINAL, TITLES


class Assignment:
    assignee_id: str = ""  # nobody until someone takes it (applications filed before: too)
    assignee_name: str = ""

    class Assigned(Aggregate.Event):  # made the aggregate's own (Application.Assigned) by its class
        assignee_id: str
        assignee_name: str
        actor_id: str

        def apply(self, aggregate: Any) -> None:
            aggregate.assignee_id, aggregate.assignee_name = self.assignee_id, self.assignee_name

    if TYPE_CHECKING:  # the aggregate's state and event machinery (domain.Application)
        status: str

        def trigger_event(self, event_class: Any, **kwargs: Any) -> None: ...

    def take(self, actor: Actor) -> bool:
        """``actor`` (staff) becomes the assignee; False when they already are (nothing recorded)."""
        if actor.role != STAFF:
            raise Forbidden("forbidden", "Взять заявку в работу может только сотрудник сетевой организации.")
        if self.assignee_id == actor.account_id:
            return False
        if self.status in FINAL:
            raise Conflict(
                "application_closed", f"Заявка в статусе «{TITLES[self.status]}»: исполнитель не назначается."
            )
        self.trigger_event(
            self.Assigned, assignee_id=actor.account_id, assignee_name=actor.name, actor_id=actor.account_id
        )
        return True
