"""The status model of a grid-connection application and who may move it where.

The seven statuses of the user's document, in order, plus the two side statuses the
rules require (../shared/DOMAIN.md).
"""

from __future__ import annotations

from enum import Enum

STATUS_TITLES: dict[str, str] = {
    "submitted": "Подана",
    "in_work": "В работе",
    "contract": "Заключение договора ТП",
    "activities": "Выполнение мероприятий по ТП",
    "tu_check": "Проверка выполнения ТУ",
    "acts": "Подготовка актов ТП",
    "completed": "Заявка выполнена",
    "needs_documents": "Требуются документы (исправления)",
    "annulled": "Аннулирована",
}
FORWARD = ["submitted", "in_work", "contract", "activities", "tu_check", "acts", "completed"]
FINAL = {"completed", "annulled"}
REQUEST_DOCUMENTS_FROM = {"submitted", "in_work"}

STAFF = "staff"
CONSUMER = "consumer"


class Verdict(Enum):
    ALLOWED = "allowed"
    NOT_YOUR_ROLE = "forbidden"  # 403
    NOT_FROM_HERE = "conflict"  # 409


def judge(role: str, current: str, target: str) -> Verdict:
    """May ``role`` move an application from ``current`` to ``target``?"""
    if current in FINAL:
        return Verdict.NOT_FROM_HERE
    if target == "annulled":
        return Verdict.ALLOWED  # staff with a reason; the applicant as a withdrawal
    if role != STAFF:
        return Verdict.NOT_YOUR_ROLE  # only staff move statuses forward
    if current in FORWARD and current != "completed" and target == FORWARD[FORWARD.index(current) + 1]:
        return Verdict.ALLOWED
    if target == "needs_documents" and current in REQUEST_DOCUMENTS_FROM:
        return Verdict.ALLOWED
    if current == "needs_documents" and target == "in_work":
        return Verdict.ALLOWED
    return Verdict.NOT_FROM_HERE


def next_steps(role: str, current: str) -> list[str]:
    """The statuses ``role`` may move to from ``current`` (for the pages' buttons)."""
    return [s for s in STATUS_TITLES if judge(role, current, s) is Verdict.ALLOWED]
