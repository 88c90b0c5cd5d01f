"""One pass of the deadline watcher on demand (staff): what the background loop does every
``deadline_watch_interval`` seconds, now. A pass at another moment (``at``) is for tests and
drills only: it is refused unless ``LK_DEADLINE_WATCH_MOVABLE`` is on."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from services.applications.deps import State
from services.applications.watcher import Watcher, open_applications
from services.applications.workflow import STAFF
from shared.auth import CurrentPrincipal
from shared.errors import Conflict, Forbidden
from shared.format import zone
from shared.http import answers

router = APIRouter(prefix="/api/v1")


class WatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: datetime | None = None  # a moment without a zone is the grid company's local time


@router.post("/deadline-watch", responses=answers(401, 403, 409, 422))
async def deadline_watch(body: WatchIn, state: State, principal: CurrentPrincipal) -> dict[str, object]:
    """Run one pass of the deadline watcher (reminders, overdue notices, automatic annulment)
    and say what it recorded."""
    settings = state.app.settings
    if not principal.has(STAFF):
        raise Forbidden("forbidden", "Проверку сроков запускает сотрудник сетевой организации.")
    if not settings.deadline_watcher:
        raise Conflict("deadline_watcher_off", "Контроль сроков отключён в настройках.")
    at = body.at
    if at is not None and not settings.deadline_watch_movable:
        raise Forbidden("clock_fixed", "Проверка сроков на другой момент времени отключена в настройках.")
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=zone(settings.time_zone))
    watcher = Watcher(state.app, open_applications(state.store))
    outcome = await watcher.run_once(at)
    return {"at": (at or watcher.clock()).isoformat(), **outcome.as_dict()}
