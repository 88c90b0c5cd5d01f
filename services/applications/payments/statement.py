"""A bank statement exported as CSV, read into payment lines (docs/payments.md).

The file is UTF-8 (a BOM is skipped) or windows-1251, told apart by decoding: bytes that are
not valid UTF-8 are read as windows-1251, as Russian banks export. The first non-empty line is
the header; its delimiter is ``;`` or ``,`` (whichever the header holds more of outside
quotes), and its names are English (``date,amount,purpose,reference,payer``) or Russian
(«Дата;Сумма;Назначение платежа;Номер документа;Плательщик» and the usual variants), in any
order. Quoted fields follow RFC 4180 (``"`` doubled inside, delimiters and line breaks
allowed). A whole file that cannot be read is refused (:class:`shared.errors.Invalid`); a bad
line is refused with its number and the rest are read.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from shared.errors import Invalid, TooLarge

MAX_BYTES = 2 * 1024 * 1024
COLUMNS = ("date", "amount", "purpose", "reference", "payer")
REQUIRED = ("date", "amount", "purpose", "reference")
HEADERS: dict[str, str] = {
    name: column
    for column, names in {
        "date": ("date", "дата", "дата платежа", "дата операции", "дата документа", "дата поступления"),
        "amount": ("amount", "сумма", "сумма платежа", "сумма по кредиту", "кредит", "поступление"),
        "purpose": ("purpose", "назначение платежа", "назначение"),
        "reference": (
            "reference",
            "номер документа",
            "номер платежного документа",
            "номер платежного поручения",
            "номер п/п",
            "№ документа",
            "№ п/п",
            "номер",
            "№",
        ),
        "payer": ("payer", "плательщик", "наименование плательщика"),
    }.items()
    for name in names
}
NUMBER = re.compile(r"ТП\s?-\s?([0-9]{4})\s?-\s?([0-9]{6})(?![0-9])", re.IGNORECASE)
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SPACES = re.compile(r"[\s\u00a0\u202f']+")
AMOUNT = re.compile(r"-?[0-9]{1,15}([.,][0-9]{1,2})?")
EARLIEST = date(2000, 1, 1)


@dataclass(frozen=True)
class Line:
    """A credit of the statement: ``line`` is its line number in the file (the header is 1)."""

    line: int
    paid_at: date
    amount_kopecks: int
    purpose: str
    document: str  # the payment document's number as the bank wrote it
    payer: str = ""

    @property
    def reference(self) -> str:
        """The payment's reference on the application: «<номер> от <ДД.ММ.ГГГГ>», the way
        accounting names a payment order (so the accounting API posting the same order with
        the same reference meets the statement's line as a duplicate)."""
        return f"{self.document} от {self.paid_at:%d.%m.%Y}"

    @property
    def numbers(self) -> set[str]:
        """The application numbers the purpose names (``ТП-2026-000123``)."""
        return {f"ТП-{m.group(1)}-{m.group(2)}" for m in NUMBER.finditer(self.purpose)}


@dataclass(frozen=True)
class BadLine:
    line: int
    code: str
    message: str


@dataclass
class Statement:
    lines: list[Line] = field(default_factory=list)
    refused: list[BadLine] = field(default_factory=list)


def not_csv(message: str) -> Invalid:
    return Invalid("statement_not_csv", message)


def decode(data: bytes) -> str:
    """UTF-8 (BOM skipped), else windows-1251; bytes of a binary file are refused."""
    if not data.strip():
        raise Invalid("statement_empty", "Файл выписки пуст.")
    if b"\x00" in data:
        raise not_csv("Файл не похож на выписку в формате CSV (это двоичный файл).")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1251")
        except UnicodeDecodeError:
            raise not_csv("Файл не в кодировке UTF-8 или windows-1251.") from None
    if CONTROL.search(text):
        raise not_csv("Файл не похож на выписку в формате CSV (в нём управляющие символы).")
    return text


def _delimiter(header: str) -> str:
    outside = re.sub(r'"[^"]*"', "", header)
    return ";" if outside.count(";") >= outside.count(",") else ","


def _name(raw: str) -> str:
    return " ".join(raw.strip().strip('"').casefold().replace("ё", "е").split())


def columns_of(header: list[str]) -> dict[str, int]:
    """Column → its index, by the header's names; a file without the required ones is refused."""
    found: dict[str, int] = {}
    for index, raw in enumerate(header):
        column = HEADERS.get(_name(raw))
        if column is not None and column not in found:
            found[column] = index
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        shown = ", ".join(f"«{TITLES[c]}»" for c in missing)
        raise Invalid(
            "statement_columns_missing",
            f"В заголовке выписки нет столбцов: {shown}. Ожидается строка заголовка вида "
            "«Дата;Сумма;Назначение платежа;Номер документа;Плательщик».",
        )
    return found


TITLES = {
    "date": "Дата",
    "amount": "Сумма",
    "purpose": "Назначение платежа",
    "reference": "Номер документа",
    "payer": "Плательщик",
}


def amount_of(raw: str) -> int:
    """Roubles as banks write them (``1 234,56``, ``1234.56``, ``550``) → kopecks."""
    text = SPACES.sub("", raw).removesuffix("руб.").removesuffix("₽")
    if not AMOUNT.fullmatch(text):
        raise Invalid(
            "amount_not_a_number", f"Сумма «{raw.strip()[:40]}» не число (рубли, до двух знаков копеек)."
        )
    value = Decimal(text.replace(",", "."))
    if value <= 0:
        raise Invalid("amount_not_positive", "Сумма поступления должна быть больше нуля.")
    if value > Decimal("10000000000"):
        raise Invalid("amount_too_large", "Сумма поступления слишком велика.")
    return int(value * 100)


def date_of(raw: str, today: date) -> date:
    """``ДД.ММ.ГГГГ`` (a time after it is ignored) or ``ГГГГ-ММ-ДД``; not after ``today``."""
    text = raw.strip().split(" ")[0].split("T")[0]
    for form in ("%d.%m.%Y", "%Y-%m-%d", "%d.%m.%y"):
        try:
            day = datetime.strptime(text, form).date()
            break
        except ValueError:
            continue
    else:
        raise Invalid("date_not_a_date", f"Дата «{raw.strip()[:40]}» не в виде ДД.ММ.ГГГГ.")
    if day > today:
        raise Invalid("date_in_future", "Дата платежа не может быть позже сегодняшней.")
    if day < EARLIEST:
        raise Invalid("date_too_early", "Дата платежа раньше 2000 года.")
    return day


def _line(number: int, row: list[str], where: dict[str, int], width: int, today: date) -> Line:
    if len(row) <= max(where[c] for c in REQUIRED):
        raise Invalid("line_columns_missing", "В строке меньше столбцов, чем в заголовке.")
    if any(cell.strip() for cell in row[width:]):  # say, a decimal comma unquoted in a «,» file
        raise Invalid("line_columns_extra", "В строке больше столбцов, чем в заголовке: проверьте кавычки.")
    get = {c: row[i].strip() if i < len(row) else "" for c, i in where.items()}
    document = get["reference"]
    if not document or len(document) > 60:
        raise Invalid("reference_missing", "Не указан номер платёжного документа (или он длиннее 60 знаков).")
    if len(get["purpose"]) > 1000 or len(get.get("payer", "")) > 500:
        raise Invalid("line_too_long", "Назначение платежа или плательщик слишком длинные.")
    return Line(
        line=number,
        paid_at=date_of(get["date"], today),
        amount_kopecks=amount_of(get["amount"]),
        purpose=" ".join(get["purpose"].split()),
        document=document,
        payer=" ".join(get.get("payer", "").split()),
    )


def parse_statement(data: bytes, today: date) -> Statement:
    """The statement's lines and the refused ones (with their line numbers)."""
    if len(data) > MAX_BYTES:
        raise TooLarge("statement_too_large", "Файл выписки больше 2 МБ: разделите его на части.")
    text = decode(data)
    header_line = next((ln for ln in text.splitlines() if ln.strip()), "")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(header_line), strict=True)
    statement = Statement()
    try:
        header = next((row for row in reader if any(cell.strip() for cell in row)), [])
        where = columns_of(header)
        start = reader.line_num + 1
        for row in reader:
            if any(cell.strip() for cell in row):
                try:
                    statement.lines.append(_line(start, row, where, len(header), today))
                except Invalid as bad:
                    statement.refused.append(BadLine(start, bad.code, bad.message))
            start = reader.line_num + 1
    except csv.Error as broken:
        raise not_csv(f"Файл не читается как CSV (строка {reader.line_num}): {broken}.") from None
    return statement
