"""The applicant's part of the profile: who files (a person, a sole trader, a company), the
patronymic, the phone and postal address, and per kind the passport or the registry numbers
(ИНН, ОГРН / ОГРНИП, КПП), each checked by :mod:`shared.requisites`.

:func:`checked` takes what the caller gave and what is stored (for a partial update) and
returns the new details, or refuses every field at fault at once: a field of another kind is
refused by name (never dropped), each with a stable code and a Russian message.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from services.identity.values import clean_name
from shared.errors import FieldErrors, Invalid
from shared.format import today as local_today

if TYPE_CHECKING:
    from services.identity.domain import Account

from shared.requisites import (
    inn_valid,
    kpp_valid,
    normalise_phone,
    ogrn_valid,
    passport_number_valid,
    passport_series_valid,
)

INDIVIDUAL, SOLE_TRADER, COMPANY = "individual", "sole_trader", "company"
KINDS = {
    INDIVIDUAL: "Физическое лицо",
    SOLE_TRADER: "Индивидуальный предприниматель",
    COMPANY: "Юридическое лицо",
}
COMMON = ("middle_name", "applicant_kind", "phone", "postal_address")
BY_KIND: dict[str, tuple[str, ...]] = {
    INDIVIDUAL: ("passport", "inn"),
    SOLE_TRADER: ("ogrnip", "inn"),
    COMPANY: ("organisation_name", "ogrn", "inn", "kpp"),
}
DETAILS = (*COMMON, "passport", "inn", "ogrnip", "ogrn", "organisation_name", "kpp")
"""Every field of the details, in the order the event carries them."""
TEXT_MAX = 500
FIELD_TITLES = {
    "middle_name": "Отчество",
    "postal_address": "Почтовый адрес",
    "passport": "Паспорт",
    "inn": "ИНН",
    "ogrnip": "ОГРНИП",
    "ogrn": "ОГРН",
    "organisation_name": "Наименование организации",
    "kpp": "КПП",
}
PASSPORT_PARTS = ("series", "number", "issued_by", "issued_on")
FIRST_PASSPORTS = date(1997, 1, 1)  # the current Russian passport is issued since 1997

Details = dict[str, Any]
"""The given details: strings, and the passport as a dict of :data:`PASSPORT_PARTS`."""


def _given(value: Any) -> bool:
    if isinstance(value, dict):
        return any(str(v or "").strip() for v in value.values())
    return bool(str(value or "").strip())


def _text(value: Any, title: str, limit: int = TEXT_MAX) -> str:
    """A free text as data (trimmed, bounded, no control characters), like a name."""
    return clean_name(str(value or ""), title, limit)


def _inn(value: str, kind: str, errors: FieldErrors) -> str:
    length = 10 if kind == COMPANY else 12
    if not inn_valid(value, length):
        whose = "организации" if kind == COMPANY else "физического лица и ИП"
        errors.add("inn", "inn_invalid", f"ИНН {whose} — {length} цифр с верными контрольными цифрами.")
    return value


def _passport(raw: Any, errors: FieldErrors) -> dict[str, str] | None:
    parts = {p: str((raw or {}).get(p) or "").strip() for p in PASSPORT_PARTS}
    if not any(parts.values()):
        return None
    parts["series"] = parts["series"].replace(" ", "")
    if not passport_series_valid(parts["series"]):
        errors.add("passport.series", "passport_series_invalid", "Серия паспорта — 4 цифры.")
    if not passport_number_valid(parts["number"]):
        errors.add("passport.number", "passport_number_invalid", "Номер паспорта — 6 цифр.")
    try:
        parts["issued_by"] = _text(parts["issued_by"], "Кем выдан")
    except Invalid:
        errors.add("passport.issued_by", "passport_issued_by_invalid", "Кем выдан: недопустимые символы.")
    if parts["issued_on"]:
        try:
            issued = date.fromisoformat(parts["issued_on"])
        except ValueError:
            issued = None
        if issued is None or not FIRST_PASSPORTS <= issued <= local_today():
            errors.add(
                "passport.issued_on",
                "passport_issued_on_invalid",
                "Дата выдачи паспорта: ГГГГ-ММ-ДД, не в будущем.",
            )
    return parts


def checked(given: Details, stored: Details | None = None) -> Details:
    """The details after an update: ``given`` over ``stored`` (the fields given replace the
    stored ones; stored fields of a kind no longer chosen go). Every field given is checked;
    a non-empty field of another kind is refused (``field_not_for_kind``)."""
    errors = FieldErrors()
    kind = str(given.get("applicant_kind", (stored or {}).get("applicant_kind", "")) or "")
    if kind and kind not in KINDS:
        errors.add(
            "applicant_kind", "applicant_kind_invalid", "Выберите: физическое лицо, ИП или юридическое лицо."
        )
        kind = ""
    allowed = {*COMMON, *BY_KIND.get(kind, ())}
    base = {k: v for k, v in (stored or {}).items() if k in allowed}
    for name in sorted(set(given) - allowed):
        if _given(given[name]):
            title = FIELD_TITLES.get(name, name)
            why = f"если выбран вид заявителя «{KINDS[kind]}»" if kind else "пока не выбран вид заявителя"
            errors.add(name, "field_not_for_kind", f"{title}: не указывается, {why}.")
    merged = {**base, **{k: v for k, v in given.items() if k in allowed}}
    out: Details = {}
    for name, value in merged.items():
        if not _given(value):
            continue
        if name == "passport":
            passport = _passport(value, errors)
            if passport:
                out[name] = passport
            continue
        text = str(value).strip()
        if name in ("middle_name", "postal_address", "organisation_name"):
            try:
                text = _text(text, FIELD_TITLES[name], 100 if name == "middle_name" else TEXT_MAX)
            except Invalid as refused:
                errors.add(name, refused.code, refused.message)
        elif name == "phone":
            phone = normalise_phone(text)
            text = phone or text
            if phone is None:
                errors.add(name, "phone_invalid", "Телефон: российский номер, например +7 912 345-67-89.")
        elif name == "inn":
            text = _inn(text, kind, errors)
        elif name in ("ogrn", "ogrnip") and not (
            len(text) == (13 if name == "ogrn" else 15) and ogrn_valid(text)
        ):
            digits = 13 if name == "ogrn" else 15
            errors.add(
                name, f"{name}_invalid", f"{FIELD_TITLES[name]} — {digits} цифр с верной контрольной цифрой."
            )
        elif name == "kpp" and not kpp_valid(text):
            errors.add(name, "kpp_invalid", "КПП — 9 знаков: 4 цифры, 2 цифры или латинские буквы, 3 цифры.")
        out[name] = text
    errors.raise_any()
    return out


def display_name(first_name: str, last_name: str, details: Details) -> str:
    """«Имя Фамилия» once set, else a company's name ("" for neither: the login is shown)."""
    return f"{first_name} {last_name}".strip() or str(details.get("organisation_name", ""))


def change(account: Account, first_name: str, last_name: str, given: Details) -> Details | None:
    """The fields of the account's ``ProfileUpdated`` event for this update (every detail,
    empty where not set), or None when nothing changes. The names are checked as data."""
    first = clean_name(first_name, "Имя")
    last = clean_name(last_name, "Фамилия")
    details = checked(given, account.details)
    if (first, last, details) == (account.first_name, account.last_name, account.details):
        return None
    return {
        "first_name": first,
        "last_name": last,
        "display_name": display_name(first, last, details) or account.login,
        **{name: details.get(name, None if name == "passport" else "") for name in DETAILS},
    }
