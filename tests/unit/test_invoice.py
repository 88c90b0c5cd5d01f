"""The invoice: the ГОСТ Р 56042-2014 payment payload (written, parsed back, refused where the
standard says no), the amount in words, the payee from the settings, and the DOCX document whose
QR image decodes back to the payload (zxing-cpp, a wheel with no system library)."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import replace
from datetime import date

import pytest
import zxingcpp
from docx import Document
from hypothesis import given, settings
from hypothesis import strategies as st

from services.applications.invoice import (
    MEDIA_TYPE,
    Invoice,
    Payee,
    PaymentFields,
    filename,
    in_words,
    invoice_docx,
    kopecks_of,
    money,
    parse_payload,
    payee_of,
    payment_fields,
    payment_payload,
    purpose,
)
from shared.errors import Invalid
from shared.settings import Settings

PAYEE = Payee(
    name="АО «Сетевая компания»",
    inn="1655000000",
    kpp="165501001",
    account="40702810938000000001",
    bank="ПАО Сбербанк",
    bic="044525225",
    corr_account="30101810400000000225",
    address="г. Казань, ул. Энергетиков, д. 1",
    vat_percent=22,
)
INVOICE = Invoice.of(
    "ТП-2026-000123", "Иванов Иван Иванович", "1234.56", issued=date(2026, 12, 2), due=date(2026, 12, 9)
)
PURPOSE = "Оплата за технологическое присоединение по заявке № ТП-2026-000123"
FIELDS = PaymentFields(PAYEE.name, PAYEE.account, PAYEE.bank, PAYEE.bic, PAYEE.corr_account, 123456, PURPOSE)

# What a payment order can carry: windows-1251's printable characters, less the separator.
_CP1251 = [bytes([b]).decode("cp1251", errors="ignore") for b in range(0x20, 0x100)]
_TEXT_CHARS = "".join(c for c in _CP1251 if c and c not in "|\x7f")


def _text(longest: int) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(_TEXT_CHARS), min_size=1, max_size=longest).filter(str.strip)


def _digits(size: int) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from("0123456789"), min_size=size, max_size=size)


@settings(max_examples=200, deadline=None)
@given(
    name=_text(160),
    account=_digits(20),
    bank=_text(45),
    bic=_digits(9),
    corr=_digits(20) | st.just("0"),
    kopecks=st.integers(1, 10**18 - 1),
    purpose_text=_text(210) | st.just(""),
    inn=_digits(10) | _digits(12) | st.just(""),
    kpp=st.from_regex(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}", fullmatch=True) | st.just(""),
)
def test_payload_parses_back_to_its_fields(
    name: str,
    account: str,
    bank: str,
    bic: str,
    corr: str,
    kopecks: int,
    purpose_text: str,
    inn: str,
    kpp: str,
) -> None:
    fields = PaymentFields(name, account, bank, bic, corr, kopecks, purpose_text, inn, kpp)
    assert parse_payload(payment_payload(fields)) == fields


def test_payload_is_the_standard_line() -> None:
    fields = replace(FIELDS, payee_inn="1655000000", kpp="165501001")
    assert payment_payload(fields) == (
        "ST00012|Name=АО «Сетевая компания»|PersonalAcc=40702810938000000001|BankName=ПАО Сбербанк"
        "|BIC=044525225|CorrespAcc=30101810400000000225|Sum=123456"
        "|Purpose=Оплата за технологическое присоединение по заявке № ТП-2026-000123"
        "|PayeeINN=1655000000|KPP=165501001"
    )
    assert "PayeeINN" not in payment_payload(FIELDS)  # optional details left out when empty


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"name": "ООО «Свет|Тьма»"}, "payment_field_separator"),
        ({"purpose": "Оплата|Sum=1"}, "payment_field_separator"),
        ({"name": "  "}, "payment_field_missing"),
        ({"bank_name": ""}, "payment_field_missing"),
        ({"purpose": "Оплата\nпо заявке"}, "payment_field_format"),
        ({"bank_name": "Б" * 46}, "payment_field_too_long"),
        ({"name": "Н" * 161}, "payment_field_too_long"),
        ({"purpose": "П" * 211}, "payment_field_too_long"),
        ({"personal_acc": "4070281093800000000"}, "payment_field_format"),
        ({"personal_acc": "4070281093800000000X"}, "payment_field_format"),
        ({"personal_acc": "٤" * 20}, "payment_field_charset"),  # digits, but not ASCII ones
        ({"bic": "04452522"}, "payment_field_format"),
        ({"bic": "0445252250"}, "payment_field_too_long"),
        ({"corresp_acc": "301"}, "payment_field_format"),
        ({"sum_kopecks": 0}, "payment_amount_not_positive"),
        ({"sum_kopecks": -100}, "payment_amount_not_positive"),
        ({"sum_kopecks": 10**18}, "payment_field_too_long"),
        ({"payee_inn": "16550000001"}, "payment_field_format"),
        ({"kpp": "16550100"}, "payment_field_format"),
        ({"purpose": "Оплата 🙂"}, "payment_field_charset"),
        ({"purpose": "1\u202f234,56"}, "payment_field_charset"),
    ],
)
def test_payload_refuses_what_the_standard_forbids(change: dict[str, object], code: str) -> None:
    with pytest.raises(Invalid) as refused:
        payment_payload(replace(FIELDS, **change))  # type: ignore[arg-type]
    assert refused.value.code == code
    assert refused.value.message  # said in Russian to the person who can fix the setting


def test_a_correspondent_account_of_zero_is_taken() -> None:
    fields = replace(FIELDS, corresp_acc="0")
    assert parse_payload(payment_payload(fields)) == fields


_HEAD = "ST00012|Name=А|PersonalAcc=40702810938000000001"
_REQUIRED = f"{_HEAD}|BankName=Б|BIC=044525225|CorrespAcc=0"
_SWAPPED = "ST00012|PersonalAcc=40702810938000000001|Name=А|BankName=Б|BIC=044525225|CorrespAcc=0|Sum=1"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("ST00011|Name=А|PersonalAcc=40702810938000000001", "payment_payload_malformed"),  # windows-1251
        ("ST00012", "payment_payload_malformed"),
        ("ST00012|Name=А|PersonalAcc", "payment_payload_malformed"),
        ("ST00012|Name=А|Name=Б", "payment_payload_malformed"),
        (f"{_HEAD}|Sum=1", "payment_field_missing"),
        (_REQUIRED, "payment_field_missing"),  # no Sum
        (_SWAPPED, "payment_payload_malformed"),  # the required details out of order
        (_REQUIRED.replace("40702810938000000001", "1") + "|Sum=1", "payment_field_format"),
    ],
)
def test_parser_refuses_a_broken_payload(text: str, code: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_payload(text)
    assert refused.value.code == code


def test_parser_skips_details_it_does_not_model() -> None:
    text = payment_payload(FIELDS) + "|LastName=Иванов|PayerAddress=г. Казань"
    assert parse_payload(text) == FIELDS


@pytest.mark.parametrize(
    ("kopecks", "words"),
    [
        (123456, "Одна тысяча двести тридцать четыре рубля 56 копеек"),
        (100, "Один рубль 00 копеек"),
        (201, "Два рубля 01 копейка"),
        (502, "Пять рублей 02 копейки"),
        (2111, "Двадцать один рубль 11 копеек"),
        (55000000, "Пятьсот пятьдесят тысяч рублей 00 копеек"),
        (
            123456789012,
            "Один миллиард двести тридцать четыре миллиона пятьсот шестьдесят семь тысяч восемьсот девяносто рублей 12 копеек",
        ),
    ],
)
def test_amount_in_words(kopecks: int, words: str) -> None:
    assert in_words(kopecks) == words


def test_amounts_in_roubles_become_kopecks_or_are_refused() -> None:
    assert kopecks_of("1234.5") == 123450
    assert kopecks_of("1 234,56") == 123456
    assert kopecks_of(550) == 55000
    assert money(123456789) == "1\u202f234\u202f567,89"
    for bad, code in [(text, "invoice_amount_format") for text in ("0.001", "abc", "1e40", "NaN")] + [
        (text, "invoice_amount_not_positive") for text in ("0", "-5")
    ]:
        with pytest.raises(Invalid) as refused:
            kopecks_of(bad)
        assert refused.value.code == code, bad
    with pytest.raises(Invalid) as late:
        Invoice.of("ТП-1", "И", 10, issued=date(2026, 12, 9), due=date(2026, 12, 2))
    assert late.value.code == "invoice_due_before_issue"


def test_purpose_names_the_application_and_the_vat() -> None:
    assert INVOICE.number == "ТП-2026-000123"
    assert purpose(INVOICE, PAYEE) == (
        "Оплата за технологическое присоединение по заявке № ТП-2026-000123. В т. ч. НДС (22%) 222,63 руб."
    )
    assert purpose(INVOICE, replace(PAYEE, vat_percent=0)).endswith("№ ТП-2026-000123. Без НДС")
    fields = payment_fields(INVOICE, PAYEE)
    assert (fields.sum_kopecks, fields.payee_inn, fields.kpp) == (123456, "1655000000", "165501001")


def test_payee_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    example = payee_of(Settings())
    assert example.example and example.name == Settings().company_name
    payment_payload(payment_fields(INVOICE, example))  # the example details pass the standard
    for key, value in {
        "LK_PAYEE_NAME": "АО «Сетевая компания»",
        "LK_PAYEE_INN": "1655000000",
        "LK_PAYEE_KPP": "165501001",
        "LK_PAYEE_ACCOUNT": "40702810938000000001",
        "LK_PAYEE_BANK": "ПАО Сбербанк",
        "LK_PAYEE_BIC": "044525225",
        "LK_PAYEE_CORR_ACCOUNT": "30101810400000000225",
        "LK_PAYEE_VAT_PERCENT": "22",
        "LK_COMPANY_ADDRESS": "г. Казань, ул. Энергетиков, д. 1",
    }.items():
        monkeypatch.setenv(key, value)
    assert payee_of(Settings()) == PAYEE


def _png_pixels(png: bytes) -> memoryview:
    """A 1-bit greyscale PNG (what segno writes: rows filtered None or Up) as 8-bit pixels."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, dict[bytes, bytes]()
    while pos < len(png):
        (size,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        chunks[kind] = chunks.get(kind, b"") + png[pos + 8 : pos + 8 + size]
        pos += 12 + size
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (1, 0)
    raw, stride = zlib.decompress(chunks[b"IDAT"]), (width + 7) // 8
    pixels, above = bytearray(), bytes(stride)
    for y in range(height):
        kind, row = raw[y * (stride + 1)], raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]
        assert kind in (0, 2)
        line = bytes((a + b) & 0xFF for a, b in zip(row, above, strict=True)) if kind == 2 else row
        pixels += bytes(255 if line[x // 8] >> (7 - x % 8) & 1 else 0 for x in range(width))
        above = line
    return memoryview(bytes(pixels)).cast("B", (height, width))


def _text_of(docx: bytes) -> str:
    document = Document(io.BytesIO(docx))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([*(p.text for p in document.paragraphs), *cells])


def test_invoice_document_holds_the_invoice_and_a_qr_code_that_scans() -> None:
    docx = invoice_docx(INVOICE, PAYEE)
    document = Document(io.BytesIO(docx))
    text = _text_of(docx)
    assert "Счёт на оплату № ТП-2026-000123 от 2 декабря 2026 г." in text
    assert "Покупатель (заказчик): Иванов Иван Иванович" in text
    assert f"Всего к оплате: {money(123456)} руб." in text
    assert "Одна тысяча двести тридцать четыре рубля 56 копеек" in text
    assert "Оплатить до 9 декабря 2026 г." in text
    assert purpose(INVOICE, PAYEE) in text
    for detail in ("ПАО Сбербанк", "044525225", "30101810400000000225", "40702810938000000001", "1655000000"):
        assert detail in text
    assert "ОБРАЗЕЦ" not in text
    assert len(document.inline_shapes) == 1
    images = [part for part in document.part.package.parts if part.content_type == "image/png"]
    assert len(images) == 1
    found = zxingcpp.read_barcodes(
        _png_pixels(images[0].blob), formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    )
    assert len(found) == 1
    assert found[0].bytes.decode("utf-8") == payment_payload(payment_fields(INVOICE, PAYEE))
    assert parse_payload(found[0].bytes.decode("utf-8")) == payment_fields(INVOICE, PAYEE)
    assert MEDIA_TYPE.endswith("wordprocessingml.document")
    assert filename(INVOICE) == "Счёт № ТП-2026-000123.docx"


def test_an_invoice_on_the_example_details_says_so() -> None:
    assert "ОБРАЗЕЦ" in _text_of(invoice_docx(INVOICE, payee_of(Settings())))


def test_no_invoice_with_details_the_standard_refuses() -> None:
    with pytest.raises(Invalid) as refused:
        invoice_docx(INVOICE, replace(PAYEE, name="АО «Свет|Тьма»"))
    assert refused.value.code == "payment_field_separator"
