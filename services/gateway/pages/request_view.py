"""The application as filed, on its page: the structured request of
``GET /api/v1/applications/{id}`` (``request``) as a definition list in words, the term of
the activities that applies (``activity_term``), and for staff the representative with the
power of attorney. The generated application form is linked as DOCX and PDF
(``GET /api/v1/applications/{id}/form``, through the gateway like the invoice)."""

from __future__ import annotations

from typing import Any

from services.gateway.format import day, kw
from services.gateway.pages.account import KINDS
from services.gateway.pages.apply_form import REDUCED_RATE, SETTLEMENTS
from services.gateway.pages.catalog_words import (
    CONNECTION_KINDS,
    PAYMENT_OPTIONS,
    ROMAN,
    conditions_text,
    term_text,
    voltage_text,
)

POWER_OF_ATTORNEY = "power_of_attorney"


def _date(value: Any) -> str:
    try:
        return day(value) if value else ""
    except ValueError:
        return str(value)


def applicant_rows(applicant: dict[str, Any]) -> list[tuple[str, str]]:
    kind = str(applicant.get("kind") or "")
    person = " ".join(str(applicant.get(n) or "") for n in ("last_name", "first_name", "middle_name")).strip()
    name = str(applicant.get("organisation_name") or "") if kind == "company" else person
    rows = [("Заявитель", ", ".join(p for p in (KINDS.get(kind, ""), name) if p))]
    if kind == "company" and person:
        rows.append(("Представитель организации", person))
    for key, title in (("inn", "ИНН"), ("ogrn", "ОГРН"), ("ogrnip", "ОГРНИП"), ("kpp", "КПП")):
        rows.append((title, str(applicant.get(key) or "")))
    passport = applicant.get("passport") or {}
    if any(passport.values()):
        issued = ", ".join(
            p for p in (str(passport.get("issued_by") or ""), _date(passport.get("issued_on"))) if p
        )
        text = f"серия {passport.get('series', '')} № {passport.get('number', '')}"
        rows.append(("Паспорт", f"{text}, выдан {issued}" if issued else text))
    rows += [
        ("Почтовый адрес", str(applicant.get("postal_address") or "")),
        ("Телефон заявителя", str(applicant.get("phone") or "")),
    ]
    return rows


def _stage(stage: dict[str, Any]) -> str:
    parts = [str(stage.get("title") or "этап"), kw(stage.get("power_kw") or 0)]
    if stage.get("planned_on"):
        parts.append(f"до {_date(stage['planned_on'])}")
    return ", ".join(parts)


def request_rows(request: dict[str, Any]) -> list[tuple[str, str]]:
    """(term, value) of the request as filed; a value not given is left out."""
    rows = applicant_rows(request.get("applicant") or {}) if request.get("applicant") else []
    category = request.get("reliability_category")
    distance = request.get("distance_m")
    settlement = SETTLEMENTS.get(str(request.get("settlement") or ""), "")
    rows += [
        ("Наименование объекта", str(request.get("object_name") or "")),
        ("Адрес объекта", str(request.get("object_address") or "")),
        ("Кадастровый номер", str(request.get("cadastral_number") or "")),
        ("Вид присоединения", CONNECTION_KINDS.get(str(request.get("connection_kind") or ""), "")),
        ("Максимальная мощность", kw(request["power_kw"]) if request.get("power_kw") is not None else ""),
        ("Ранее присоединённая мощность", kw(request.get("previous_power_kw") or 0)),
        ("Уровень напряжения", voltage_text(request["voltage_kv"]) if request.get("voltage_kv") else ""),
        ("Категория надёжности", f"{ROMAN[int(category)]} категория" if category in (1, 2, 3) else ""),
        ("Этапы", "; ".join(_stage(s) for s in request.get("stages") or [])),
        ("Гарантирующий поставщик", str(request.get("supplier") or "")),
        ("Порядок оплаты", PAYMENT_OPTIONS.get(str(request.get("payment_option") or ""), "")),
        ("Льготная категория", REDUCED_RATE.get(str(request.get("reduced_rate_category") or ""), "")),
        (
            "Расстояние до сетей",
            ", ".join(p for p in (f"{distance} м" if distance is not None else "", settlement.lower()) if p),
        ),
    ]
    return [(term, value) for term, value in rows if value]


def representative_rows(item: dict[str, Any], request: dict[str, Any]) -> list[tuple[str, str]]:
    """For staff: who files on behalf of the applicant, by which power of attorney."""
    power = request.get("representative") or {}
    if not power:
        return []
    number = str(power.get("power_of_attorney_number") or "")
    text = f"№ {number}" if number else "без номера"
    if power.get("power_of_attorney_issued_on"):
        text += f" от {_date(power['power_of_attorney_issued_on'])}"
    until = _date(power.get("power_of_attorney_valid_until"))
    text += f", действует до {until}" if until else ", срок не указан"
    return [("Представитель (подаёт заявку)", str(item.get("applicant_name") or "")), ("Доверенность", text)]


def term_of(rule: dict[str, Any] | None) -> str:
    if not rule:
        return ""
    conditions = conditions_text(rule)
    basis = str(rule.get("basis") or "")
    tail = "; ".join(p for p in (conditions, basis) if p)
    return f"{term_text(rule)} ({tail})" if tail else term_text(rule)


def request_context(item: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    """``filed`` for the application page: rows, the staff's rows, the term, the links."""
    request = item.get("request")
    if not isinstance(request, dict):
        return {"filed": None}
    staff = "staff" in user.get("roles", [])
    return {
        "filed": {
            "rows": request_rows({k: item.get(k) for k in ("object_address", "power_kw")} | request),
            "representative": representative_rows(item, request) if staff else [],
            "power_of_attorney": [
                d for d in item.get("documents") or [] if d.get("slot") == POWER_OF_ATTORNEY and staff
            ],
            "term": term_of(item.get("activity_term")),
            "form": f"/api/v1/applications/{item['id']}/form",
        }
    }
