"""«Взять в работу»: a staff member takes an application as its assignee (issue 12, point 7),
mixed into :class:`services.applications.domain.Application` (which declares the event).

Only staff take applications; taking what one already holds records nothing, so the button
may be pressed twice. A colleague's application may be taken over (the page asks first); a
closed one (completed or annulled) is not taken.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from services.applications.actor import Actor
from services.applications.workflow import STAFF
from shared.errors import Conflict, Forbidden
from shared.statuses import FINAL, TITLES


class Assignment:
    assignee_id: str = ""  # nobody until someone takes it (applications filed before: too)
    assignee_name: str = ""

    if TYPE_CHECKING:  # the aggregate's state and event methods (domain.Application)
        status: str

        def _assigned(self, assignee_id: str, assignee_name: str, actor_id: str) -> None: ...

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
        self._assigned(assignee_id=actor.account_id, assignee_name=actor.name, actor_id=actor.account_id)
        return True
