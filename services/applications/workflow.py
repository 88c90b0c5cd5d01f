"""Who may move a grid-connection application from which status to which by a plain move
(../shared/DOMAIN.md); the statuses themselves are the platform's vocabulary
(shared/statuses.py).

A plain move is only what needs no fact (issue 12): staff request documents during the
completeness check («Подана» → «Требуются документы»), find the application complete
(«Подана» → «В работе»), return it to work once the documents came («Требуются документы» →
«В работе»), annul it with a reason; the applicant withdraws it (before conclusion, moves.py).
The stages of the process follow their facts (steps.py): a plain move there is refused as
``fact_required``, naming the action that enters the stage (:data:`FACTS`).
"""

from __future__ import annotations

from enum import Enum

from shared.statuses import FINAL, TITLES

REQUEST_DOCUMENTS_FROM = {"submitted"}
TO_WORK_FROM = {"submitted", "needs_documents"}

STAFF = "staff"
CONSUMER = "consumer"

# The stages entered by a fact, and the action that records it (the 409's message).
FACTS: dict[str, str] = {
    "contract": "сотрудник размещает договор (оферту), технические условия и счёт",
    "activities": "договор заключается полной оплатой счёта или подписью заявителя",
    "tu_check": "заявитель направляет уведомление о выполнении технических условий",
    "acts": "сотрудник фиксирует фактическое присоединение и подачу напряжения",
    "completed": "сотрудник размещает закрывающие документы",
}


class Verdict(Enum):
    ALLOWED = "allowed"
    NOT_YOUR_ROLE = "forbidden"  # 403
    NOT_FROM_HERE = "conflict"  # 409
    FACT_REQUIRED = "fact_required"  # 409: the stage follows a recorded fact


def judge(role: str, current: str, target: str) -> Verdict:
    """May ``role`` move an application from ``current`` to ``target`` by a plain move?"""
    if current in FINAL:
        return Verdict.NOT_FROM_HERE
    if target == "annulled":
        return Verdict.ALLOWED  # staff with a reason; the applicant as a withdrawal
    if role != STAFF:
        return Verdict.NOT_YOUR_ROLE  # only staff move statuses forward
    if target in FACTS:
        return Verdict.FACT_REQUIRED
    if target == "needs_documents" and current in REQUEST_DOCUMENTS_FROM:
        return Verdict.ALLOWED
    if target == "in_work" and current in TO_WORK_FROM:
        return Verdict.ALLOWED
    return Verdict.NOT_FROM_HERE


def next_steps(role: str, current: str) -> list[str]:
    """The statuses ``role`` may move to from ``current`` by a plain move (the pages' buttons)."""
    return [s for s in TITLES if judge(role, current, s) is Verdict.ALLOWED]
