"""The application form generated from the submitted application (issue 13): what п. 9 of the
Rules (п. 12(1) for ≤150 kW companies and sole traders, п. 14 for ≤15 kW households) requires
an application to state, filled in from the structured request, in the house style of
shared/docx.py. The files service's standard forms are another service's: this is the
applications service's own generator of the one document it holds the data for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from services.applications.activity_terms import term_text
from services.applications.type_keys import (
    COMPANY,
    CONNECTION_KINDS,
    INDIVIDUAL,
    KIND_TITLES,
    PAYMENT_OPTIONS,
    REDUCED_RATE_CATEGORIES,
    SOLE_TRADER,
    number,
)
from shared import docx

WIDTHS = [8.0, 9.0]
CONSENT = (
    "Заявитель подтверждает достоверность сведений, указанных в заявке, и согласен на обработку "
    "персональных данных в целях технологического присоединения."
)


@dataclass(frozen=True)
class Filed:
    """What the form is made of: the application as filed and its type."""

    number: str
    filed_on: date
    type_title: str
    applicant_name: str
    applicant_email: str
    contact_phone: str
    power_kw: float
    object_address: str
    request: dict[str, Any]
    documents: list[dict[str, str]]  # slot title, file name
    paper_signature: bool
    activity_term: dict[str, Any] | None
    company_name: str


def basis(filed: Filed) -> str:
    """The paragraph of the Rules the application is made under."""
    kind = (filed.request.get("applicant") or {}).get("kind")
    if kind == INDIVIDUAL and filed.power_kw <= 15:
        return "п. 14"
    if kind in (SOLE_TRADER, COMPANY) and filed.power_kw <= 150:
        return "п. 12(1)"
    return "п. 9"


def full_name(applicant: dict[str, Any], fallback: str) -> str:
    """The applicant as documents name them: a company by its name, a person by the full name."""
    if applicant.get("kind") == COMPANY and applicant.get("organisation_name"):
        return str(applicant["organisation_name"])
    names = " ".join(applicant.get(k, "") for k in ("last_name", "first_name", "middle_name")).strip()
    if applicant.get("kind") == SOLE_TRADER and names:
        return f"Индивидуальный предприниматель {names}"
    return names or fallback


def _passport(passport: dict[str, str] | None) -> str:
    if not passport:
        return "—"
    text = f"серия {passport['series']} № {passport['number']}"
    if passport.get("issued_by"):
        text += f", выдан {passport['issued_by']}"
    if passport.get("issued_on"):
        text += f", {_day(passport['issued_on'])}"
    return text


def applicant_rows(filed: Filed) -> list[list[str]]:
    applicant = filed.request.get("applicant") or {}
    kind = applicant.get("kind", "")
    rows = [["Заявитель", KIND_TITLES.get(kind, "—").capitalize()]]
    if kind == COMPANY:
        rows += [
            ["Полное наименование заявителя", full_name(applicant, filed.applicant_name)],
            ["ОГРН (номер записи в ЕГРЮЛ)", applicant.get("ogrn") or "—"],
            ["ИНН / КПП", f"{applicant.get('inn') or '—'} / {applicant.get('kpp') or '—'}"],
        ]
    else:
        rows.append(["Фамилия, имя, отчество заявителя", full_name(applicant, filed.applicant_name)])
        if kind == SOLE_TRADER:
            rows.append(["ОГРНИП (номер записи в ЕГРИП)", applicant.get("ogrnip") or "—"])
        rows += [
            ["Паспорт: серия, номер, кем и когда выдан", _passport(applicant.get("passport"))],
            ["ИНН", applicant.get("inn") or "—"],
        ]
    rows += [
        ["Место жительства (нахождения) заявителя, почтовый адрес", applicant.get("postal_address") or "—"],
        ["Контактный телефон", applicant.get("phone") or filed.contact_phone or "—"],
        ["Адрес электронной почты", filed.applicant_email or "—"],
    ]
    representative = filed.request.get("representative")
    if representative:
        until = representative.get("power_of_attorney_valid_until")
        rows.append(
            [
                "Представитель заявителя",
                f"{filed.applicant_name}, по доверенности № {representative['power_of_attorney_number']}"
                f" от {_day(representative['power_of_attorney_issued_on'])}"
                + (f", действительной до {_day(until)}" if until else ""),
            ]
        )
    return rows


def _day(iso: str) -> str:
    return date.fromisoformat(iso).strftime("%d.%m.%Y")


def object_rows(filed: Filed) -> list[list[str]]:
    request = filed.request
    previous = float(request.get("previous_power_kw") or 0)
    address = filed.object_address
    if request.get("cadastral_number"):
        address += f"; кадастровый номер {request['cadastral_number']}"
    category = request.get("reliability_category")
    rows = [
        ["Наименование энергопринимающих устройств (объекта)", request.get("object_name") or "—"],
        ["Место нахождения (адрес, кадастровый номер)", address],
        ["Вид присоединения", CONNECTION_KINDS.get(request.get("connection_kind") or "new", "—")],
        ["Максимальная мощность (всего), кВт", number(filed.power_kw)],
        [
            "в том числе: присоединяемая вновь / ранее присоединённая, кВт",
            f"{number(filed.power_kw - previous)} / {number(previous)}",
        ],
        [
            "Уровень напряжения в точке присоединения, кВ",
            number(request["voltage_kv"]) if request.get("voltage_kv") else "—",
        ],
        ["Категория надёжности электроснабжения", f"{['I', 'II', 'III'][category - 1]}" if category else "—"],
    ]
    if request.get("mobile"):
        rows.append(["Передвижной объект", "да"])
    if request.get("distance_m") is not None:
        where = {"urban": "в городе", "rural": "в сельской местности"}.get(
            request.get("settlement") or "", ""
        )
        rows.append(["Расстояние до существующих сетей, м", f"{request['distance_m']} {where}".strip()])
    return rows


def build(filed: Filed) -> bytes:
    """The application form as DOCX bytes."""
    document = docx.new_document(docx.FORM)
    docx.paragraph(document, f"В {filed.company_name}", align="right")
    docx.paragraph(document, "ЗАЯВКА", bold=True, size=14, align="center")
    docx.paragraph(
        document,
        f"на технологическое присоединение энергопринимающих устройств ({basis(filed)} Правил "
        "технологического присоединения, утв. постановлением Правительства РФ от 27.12.2004 № 861)",
        align="center",
    )
    docx.paragraph(
        document, f"№ {filed.number} от {docx.long_date(filed.filed_on)}. Вид заявки: {filed.type_title}."
    )
    docx.paragraph(document, "1. Сведения о заявителе (п. 9 «а», «в» Правил)", bold=True)
    docx.grid(document, applicant_rows(filed), WIDTHS)
    docx.paragraph(
        document,
        "Прошу осуществить технологическое присоединение энергопринимающих устройств, указанных ниже, "
        "к электрическим сетям сетевой организации.",
        align="justify",
    )
    docx.paragraph(
        document, "2. Сведения об энергопринимающих устройствах (п. 9 «б», «г», «е» Правил)", bold=True
    )
    docx.grid(document, object_rows(filed), WIDTHS)
    _stages(document, filed)
    docx.paragraph(document, "4. Договор энергоснабжения (п. 9 «м» Правил)", bold=True)
    supplier = filed.request.get("supplier") or "—"
    docx.grid(document, [["Гарантирующий поставщик (энергосбытовая организация)", supplier]], WIDTHS)
    docx.paragraph(document, "5. Порядок внесения платы за технологическое присоединение", bold=True)
    payment = [
        ["Вариант оплаты", PAYMENT_OPTIONS.get(filed.request.get("payment_option") or "lump_sum", "—")]
    ]
    reduced = filed.request.get("reduced_rate_category")
    if reduced:
        payment.append(["Льготная категория заявителя", REDUCED_RATE_CATEGORIES[reduced]])
    if filed.activity_term:
        payment.append(
            ["Срок мероприятий по присоединению (по данным каталога)", term_text(filed.activity_term)]
        )
    docx.grid(document, payment, WIDTHS)
    docx.paragraph(document, "6. Приложения (п. 10 Правил)", bold=True)
    for n, doc in enumerate(filed.documents, 1):
        docx.paragraph(document, f"{n}. {doc['title']}: {doc['name'] or 'файл'}")
    if not filed.documents:
        docx.paragraph(document, "Документы не приложены.")
    docx.paragraph(document, CONSENT, align="justify")
    _signature(document, filed)
    return docx.to_bytes(document)


def _stages(document: Any, filed: Filed) -> None:
    docx.paragraph(document, "3. Сроки поэтапного введения в эксплуатацию (п. 9 «к», «л» Правил)", bold=True)
    stages = filed.request.get("stages") or []
    if not stages:
        docx.paragraph(document, "Поэтапное введение в эксплуатацию не предусмотрено.")
        return
    rows = [["Этап (очередь)", "Планируемый срок ввода", "Максимальная мощность, кВт"]]
    rows += [[s["title"], _day(s["planned_on"]), number(float(s["power_kw"]))] for s in stages]
    docx.grid(document, rows, [7.0, 5.0, 5.0], header=True)


def _signature(document: Any, filed: Filed) -> None:
    applicant = filed.request.get("applicant") or {}
    name = full_name(applicant, filed.applicant_name)
    if filed.paper_signature:
        docx.paragraph(document, f"Заявитель: ____________________ / {name} /")
        docx.paragraph(document, "«____» ______________ 20___ г.   М. П.")
        return
    docx.paragraph(
        document,
        f"Заявка подана в электронной форме через личный кабинет {docx.long_date(filed.filed_on)} "
        f"пользователем {filed.applicant_name or filed.applicant_email}; подпись на бумаге не требуется.",
    )
