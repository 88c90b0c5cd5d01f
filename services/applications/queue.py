"""The queue's query parameters (``GET /api/v1/applications``) beyond status, type and search:
whose due date passed (``overdue``), who must act (``waiting``), and the assignee."""

from __future__ import annotations

from typing import Literal

from shared.errors import Invalid

Duty = Literal["grid_company", "applicant"]
OVERDUE = (
    "true | false: the current stage's due date passed (or not); grid_company | applicant: "
    "passed, and that side must act («Просрочено сетевой организацией»)"
)
WAITING = "grid_company | applicant: the side that must act now («Ждём заявителя»)"
ASSIGNEE = "me: the applications I took («Мои заявки»); none: nobody's yet (staff only)"

_YES, _NO = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def overdue_filter(raw: str | None) -> tuple[bool | None, str | None]:
    """``overdue`` as (late or not, the duty holder whose due date passed): the boolean it
    always was, or a duty holder."""
    value = (raw or "").strip().lower()
    if not value:
        return None, None
    if value in _YES or value in _NO:
        return value in _YES, None
    if value in ("grid_company", "applicant"):
        return None, value
    raise Invalid(
        "unknown_filter", "Фильтр «overdue»: true, false, grid_company (сетевая организация) или applicant."
    )
