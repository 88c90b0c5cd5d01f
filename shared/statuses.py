"""The vocabulary of an application's statuses, in one place: each code's Russian title, the
order of the stages, and the list the pages offer as a filter.

It is part of the public contract: ``StatusChanged.v1`` carries ``to_title``, the API gives
``status_title``, e-mails and pages show the same words (../shared/DOMAIN.md).
"""

from __future__ import annotations

# The seven stages of the user's document, in order, then the two side statuses the rules
# require (the order of the staff's buttons).
TITLES: dict[str, str] = {
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
FORWARD: tuple[str, ...] = ("submitted", "in_work", "contract", "activities", "tu_check", "acts", "completed")
FINAL = frozenset({"completed", "annulled"})

# The filter of the lists: the stages as an application passes them (documents are requested
# during the completeness check, before the work starts in earnest), annulment last.
FILTERS: tuple[tuple[str, str], ...] = tuple(
    (code, TITLES[code])
    for code in (
        "submitted",
        "in_work",
        "needs_documents",
        "contract",
        "activities",
        "tu_check",
        "acts",
        "completed",
        "annulled",
    )
)
