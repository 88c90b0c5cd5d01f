"""The Russian standard payment QR payload (ГОСТ Р 56042-2014) and a parser back to fields.

A payload is one line: the header ``ST0001`` + the character set (``1`` windows-1251, ``2``
UTF-8, ``3`` KOI8-R; we always write ``2``), then ``Key=Value`` pairs, each after the
separator ``|``. The five details of the payee come first, in the standard's order (``Name``,
``PersonalAcc``, ``BankName``, ``BIC``, ``CorrespAcc``); the additional ones follow (``Sum`` in
kopecks, ``Purpose``, ``PayeeINN``, ``KPP``).

A value holding the separator is **refused**, not replaced: every value here is a bank detail
or a purpose that accounting matches payments by, and a silently altered one would make the
bank app show (and the bank record) words nobody wrote. The standard lets a writer declare
another separator, but bank apps read ``|``; so the fix belongs in the settings or the data.
Line breaks and other control characters are refused for the same reason, and so is a character
that windows-1251 lacks (the code is UTF-8, but a bank passes the purpose on in the payment
order's character set, which has no emoji and no narrow spaces). Lengths are counted in
characters, as the standard gives them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.errors import Invalid

HEADER = "ST00012"  # ST, format version 0001, character set 2 = UTF-8
SEPARATOR = "|"

# key → (attribute, longest value, the pattern a value must match, its Russian name)
_RULES: dict[str, tuple[str, int, str, str]] = {
    "Name": ("name", 160, r".+", "наименование получателя"),
    "PersonalAcc": ("personal_acc", 20, r"[0-9]{20}", "расчётный счёт получателя (20 цифр)"),
    "BankName": ("bank_name", 45, r".+", "наименование банка получателя"),
    "BIC": ("bic", 9, r"[0-9]{9}", "БИК банка получателя (9 цифр)"),
    "CorrespAcc": ("corresp_acc", 20, r"[0-9]{20}|0", "корреспондентский счёт банка (20 цифр или 0)"),
    "Sum": ("sum_kopecks", 18, r"[1-9][0-9]*", "сумма в копейках"),
    "Purpose": ("purpose", 210, r".+", "назначение платежа"),
    "PayeeINN": ("payee_inn", 12, r"[0-9]{10}|[0-9]{12}", "ИНН получателя (10 или 12 цифр)"),
    "KPP": ("kpp", 9, r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}", "КПП получателя (9 знаков)"),
}
REQUIRED = ("Name", "PersonalAcc", "BankName", "BIC", "CorrespAcc")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class PaymentFields:
    """The details a bank app fills its transfer form with."""

    name: str
    personal_acc: str
    bank_name: str
    bic: str
    corresp_acc: str
    sum_kopecks: int
    purpose: str
    payee_inn: str = ""
    kpp: str = ""


def _checked(key: str, value: str) -> str:
    _attribute, longest, pattern, title = _RULES[key]
    if not value.strip():
        raise Invalid("payment_field_missing", f"Не указан реквизит платежа: {title}.")
    if SEPARATOR in value:
        raise Invalid(
            "payment_field_separator",
            f"Реквизит «{title}» содержит знак «{SEPARATOR}», который в платёжном QR-коде "
            "разделяет реквизиты: уберите его из значения.",
        )
    if _CONTROL.search(value):
        raise Invalid("payment_field_format", f"Реквизит «{title}» должен быть одной строкой.")
    try:
        value.encode("cp1251")
    except UnicodeEncodeError:
        raise Invalid(
            "payment_field_charset",
            f"Реквизит «{title}» содержит знаки, которых нет в кодировке платёжных поручений "
            "(windows-1251): банк их не передаст.",
        ) from None
    if len(value) > longest:
        raise Invalid(
            "payment_field_too_long",
            f"Реквизит «{title}» длиннее {longest} знаков ({len(value)}).",
        )
    if not re.fullmatch(pattern, value):
        raise Invalid("payment_field_format", f"Неверный формат реквизита: {title}.")
    return value


def _pairs(fields: PaymentFields) -> list[tuple[str, str]]:
    if fields.sum_kopecks <= 0:
        raise Invalid("payment_amount_not_positive", "Сумма к оплате должна быть больше нуля.")
    pairs: list[tuple[str, str]] = []
    for key, (attribute, _longest, _pattern, _title) in _RULES.items():
        value = str(getattr(fields, attribute))
        if value or key in REQUIRED:
            pairs.append((key, value))
    return pairs


def payment_payload(fields: PaymentFields) -> str:
    """The payload text (``ST00012|Name=…|…``); a value that breaks the standard is refused
    with :class:`~shared.errors.Invalid`."""
    return HEADER + "".join(f"{SEPARATOR}{key}={_checked(key, value)}" for key, value in _pairs(fields))


def parse_payload(text: str) -> PaymentFields:
    """The fields of a UTF-8 payload; keys the standard has but this model does not
    (``LastName``, ``PayerAddress``, …) are skipped, a broken payload is refused."""
    header, _, body = text.partition(SEPARATOR)
    if header != HEADER or not body:
        raise Invalid(
            "payment_payload_malformed",
            f"Это не платёжный QR-код ГОСТ Р 56042-2014 в UTF-8 (ожидается заголовок {HEADER}).",
        )
    values: dict[str, str] = {}
    for part in body.split(SEPARATOR):
        key, equals, value = part.partition("=")
        if not equals or not key:
            raise Invalid("payment_payload_malformed", f"Реквизит без значения в QR-коде: «{part}».")
        if key in values:
            raise Invalid("payment_payload_malformed", f"Реквизит {key} указан в QR-коде дважды.")
        values[key] = value
    found = [key for key in values if key in REQUIRED]
    if found != list(REQUIRED):
        missing = [key for key in REQUIRED if key not in values]
        raise Invalid(
            "payment_field_missing" if missing else "payment_payload_malformed",
            f"Нет обязательных реквизитов: {', '.join(missing)}."
            if missing
            else "Обязательные реквизиты идут не в порядке стандарта.",
        )
    if "Sum" not in values:
        raise Invalid("payment_field_missing", "Не указан реквизит платежа: сумма в копейках.")
    known = {_RULES[key][0]: _checked(key, value) for key, value in values.items() if key in _RULES}
    return PaymentFields(
        name=known["name"],
        personal_acc=known["personal_acc"],
        bank_name=known["bank_name"],
        bic=known["bic"],
        corresp_acc=known["corresp_acc"],
        sum_kopecks=int(known["sum_kopecks"]),
        purpose=known.get("purpose", ""),
        payee_inn=known.get("payee_inn", ""),
        kpp=known.get("kpp", ""),
    )
