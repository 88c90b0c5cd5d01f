"""The bank-statement import (issue 12, docs/payments.md): the CSV reader (delimiters, UTF-8 and
windows-1251, Russian headers, quoted fields, bad lines with their numbers, whole files
refused) and the import through the payment port — on the in-memory fake, and on the real
aggregate (a repeat records nothing; an old PaymentRecorded without ``source`` still loads)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Collection
from datetime import date, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from services.applications.actor import Actor
from services.applications.app import ApplicationsApp
from services.applications.domain import Application
from services.applications.payments import STATEMENT, Ledger, Payment, import_statement
from services.applications.payments.fake import FakePayments
from services.applications.payments.statement import MAX_BYTES, parse_statement
from services.gateway.pages.payments import shown
from shared.errors import DomainError, Invalid
from shared.readstore import ReadStore
from shared.settings import Settings
from tests.unit.test_applications_process import STAFF, offered

TODAY = date(2026, 12, 2)
RU = "Дата;Сумма;Назначение платежа;Номер документа;Плательщик"
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "payments-statement-example.csv"


def csv_of(*rows: str, header: str = RU) -> bytes:
    return "\r\n".join((header, *rows)).encode()


def purpose(number: str) -> str:
    return f"Оплата за технологическое присоединение по заявке № {number}. Без НДС"


def test_russian_header_semicolons_and_windows_1251() -> None:
    data = "\n".join((RU, f"01.12.2026;1 234,50;{purpose('ТП-2026-000123')};15;Иванов И. И.")).encode(
        "cp1251"
    )
    [line] = parse_statement(data, TODAY).lines
    assert (line.line, line.paid_at, line.amount_kopecks, line.document, line.payer) == (
        2,
        date(2026, 12, 1),
        123_450,
        "15",
        "Иванов И. И.",
    )
    assert line.numbers == {"ТП-2026-000123"} and line.reference == "15 от 01.12.2026"


def test_english_header_commas_quoted_fields_any_order_and_a_bom() -> None:
    header = "reference,payer,amount,date,purpose"
    quoted = '"7","ООО ""Ромашка"", ИНН 7700000000","550.00",2026-11-30,"Оплата, по заявке № ТП-2026-000001\nвторая строка"'
    data = b"\xef\xbb\xbf" + csv_of(quoted, "8,Пётр,10,30.11.2026,ТП-2026-000002", header=header)
    first, second = parse_statement(data, TODAY).lines
    assert first.payer == 'ООО "Ромашка", ИНН 7700000000' and first.amount_kopecks == 55_000
    assert first.purpose == "Оплата, по заявке № ТП-2026-000001 вторая строка"
    assert (first.line, second.line) == (2, 4)  # the quoted line break takes a line of the file
    assert second.numbers == {"ТП-2026-000002"}


def test_the_example_file_in_the_docs_reads() -> None:
    statement = parse_statement(EXAMPLE.read_bytes(), TODAY)
    assert len(statement.lines) == 4 and statement.refused == []


@pytest.mark.parametrize(
    ("row", "code"),
    [
        ("01.12.2026;сто;x;1;y", "amount_not_a_number"),
        ("01.12.2026;1,2,3;x;1;y", "amount_not_a_number"),
        ("01.12.2026;10,555;x;1;y", "amount_not_a_number"),
        ("01.12.2026;0;x;1;y", "amount_not_positive"),
        ("01.12.2026;-5,00;x;1;y", "amount_not_positive"),
        ("03.12.2026;10;x;1;y", "date_in_future"),
        ("1 декабря;10;x;1;y", "date_not_a_date"),
        ("01.12.1999;10;x;1;y", "date_too_early"),
        ("01.12.2026;10;x", "line_columns_missing"),
        ("01.12.2026;10;x;;y", "reference_missing"),
        ("01.12.2026;10,50;x;1;y;лишнее", "line_columns_extra"),
    ],
)
def test_a_bad_line_is_refused_with_its_number_and_the_rest_read(row: str, code: str) -> None:
    statement = parse_statement(csv_of("01.12.2026;10;ok;1;y", row, ""), TODAY)
    assert [(b.line, b.code) for b in statement.refused] == [(3, code)]
    assert [ln.line for ln in statement.lines] == [2]
    assert all(b.message for b in statement.refused)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "statement_empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "statement_not_csv"),
        (b"date;amount;payer\n01.12.2026;10;y", "statement_columns_missing"),
        (b"\x81\x81\x98", "statement_not_csv"),  # neither UTF-8 nor windows-1251
        (csv_of('01.12.2026;10;"x"y";1;z'), "statement_not_csv"),  # a broken quote
        (b"x" * (MAX_BYTES + 1), "statement_too_large"),
    ],
)
def test_a_file_that_is_not_a_statement_is_refused_whole(data: bytes, code: str) -> None:
    with pytest.raises(DomainError) as caught:
        parse_statement(data, TODAY)
    assert caught.value.code == code and caught.value.message


# The import through the port (the fake) -------------------------------------------------------
async def test_lines_are_matched_recorded_counted_and_a_second_import_records_nothing() -> None:
    port = FakePayments()
    first = port.add("ТП-2026-000001", 100_000)
    second = port.add("ТП-2026-000002", 50_000)
    port.add("ТП-2026-000003", 50_000, status="annulled")
    data = csv_of(
        f"01.12.2026;600,00;{purpose('ТП-2026-000001')};11;А",
        f"01.12.2026;400,00;{purpose('ТП-2026-000001')};12;А",
        f"01.12.2026;400,00;{purpose('ТП-2026-000001')};12;А",  # the same line again
        f"02.12.2026;500;{purpose('ТП-2026-000002')};1;Б",
        f"02.12.2026;500;{purpose('ТП-2026-999999')};2;В",  # no such application
        "02.12.2026;500;Оплата без номера заявки;3;Г",
        f"02.12.2026;500;{purpose('ТП-2026-000001')} и {purpose('ТП-2026-000002')};4;Д",  # two numbers
        f"02.12.2026;500;{purpose('ТП-2026-000003')};5;Е",
        f"02.12.2026;999;{purpose('ТП-2026-000002')};1;Б",  # the same reference, another amount
        f"02.12.2026;;{purpose('ТП-2026-000002')};6;Б",
    )
    report = await import_statement(port, STAFF, data, TODAY)
    assert (report.lines, report.recorded, report.duplicates) == (10, 3, 1)
    assert [u.line for u in report.unmatched] == [6, 7, 8]
    assert report.unmatched[1].purpose == "Оплата без номера заявки"
    assert [(r.line, r.code) for r in report.refused] == [
        (9, "payment_not_allowed"),
        (10, "payment_reference_conflict"),
        (11, "amount_not_a_number"),
    ]
    assert (port.applications[first].status, port.applications[first].paid_kopecks) == ("activities", 100_000)
    assert port.applications[second].status == "activities"
    assert {p.source for _, p in port.calls} == {STATEMENT}
    assert port.applications[first].payments["11 от 01.12.2026"].paid_at == date(2026, 12, 1)

    again = await import_statement(port, STAFF, data, TODAY)
    assert (again.recorded, again.duplicates, len(again.unmatched), len(again.refused)) == (0, 4, 3, 3)
    assert port.applications[first].paid_kopecks == 100_000


async def test_a_whole_file_refused_calls_the_port_for_nothing() -> None:
    port = FakePayments()
    port.add("ТП-2026-000001", 100_000)
    with pytest.raises(Invalid):
        await import_statement(port, STAFF, b"\x00binary" + csv_of(), TODAY)
    assert port.calls == []


async def test_a_consumer_importing_is_refused_on_every_line() -> None:
    port = FakePayments()
    port.add("ТП-2026-000001", 100_000)
    consumer = Actor("c-1", "consumer", "Иван")
    report = await import_statement(
        port, consumer, csv_of(f"01.12.2026;1;{purpose('ТП-2026-000001')};1;А"), TODAY
    )
    assert report.recorded == 0 and [r.code for r in report.refused] == ["forbidden"]


# The real aggregate behind the port --------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Numbers(Ledger):
    """The service's port with the read store's number lookup replaced by a dict."""

    known: dict[str, uuid.UUID] = dataclasses.field(default_factory=dict)

    async def numbered(self, numbers: Collection[str]) -> dict[str, uuid.UUID]:
        return {n: k for n, k in self.known.items() if n in numbers}


@pytest.fixture
def app(tmp_path: Path) -> ApplicationsApp:
    settings = Settings(var_dir=tmp_path, secret_key="k" * 40)
    instance = ApplicationsApp(settings, env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    instance.seed_catalog()
    return instance


async def test_the_real_aggregate_records_each_payment_once_and_full_payment_concludes(
    app: ApplicationsApp,
) -> None:
    claim_id = offered(app)  # an invoice of 550,00 ₽
    number: str = app.repository.get(claim_id).number
    port = _Numbers(app, cast(ReadStore, None), known={number: claim_id})
    yesterday = date.today() - timedelta(days=1)
    day = f"{yesterday:%d.%m.%Y}"
    data = csv_of(f"{day};200,00;{purpose(number)};1;А", f"{day};350;{purpose(number)};2;А")
    report = await import_statement(port, STAFF, data, yesterday + timedelta(days=1))
    assert (report.recorded, report.duplicates, report.refused) == (2, 0, [])
    claim: Application = app.repository.get(claim_id)
    assert (claim.status, claim.paid_kopecks) == ("activities", 55_000)
    version = claim.version
    again = await import_statement(port, STAFF, data, yesterday + timedelta(days=1))
    assert (again.recorded, again.duplicates) == (0, 2)
    assert app.repository.get(claim_id).version == version
    # The accounting API posting the same order under the same reference meets it as well.
    same = Payment(20_000, yesterday, f"1 от {day}")
    assert (await port.record(STAFF, claim_id, same))[1] is False


def test_a_payment_recorded_before_the_source_field_still_loads(app: ApplicationsApp) -> None:
    claim_id = offered(app)
    app.act(claim_id, STAFF, lambda c: c.record_payment(STAFF, 100, date.today(), "r-1", date.today(), None))
    stored = next(s for s in app.recorder.select_events(claim_id) if s.topic.endswith(".PaymentRecorded"))
    assert cast(Application.PaymentRecorded, app.mapper.to_domain_event(stored)).source == "api"
    state = app.mapper.transcoder.decode(stored.state)
    del state["source"]
    old = dataclasses.replace(stored, state=app.mapper.transcoder.encode(state))
    loaded = app.mapper.to_domain_event(old)
    assert isinstance(loaded, Application.PaymentRecorded) and loaded.source == "api"


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("по заявке № ТП-2026-000123.", {"ТП-2026-000123"}),
        ("по заявке №тп - 2026 - 000123", {"ТП-2026-000123"}),
        ("ТП-2026-000123 и ТП-2026-000124", {"ТП-2026-000123", "ТП-2026-000124"}),
        ("по заявке ТП-2026-0001234", set()),  # seven digits: not an application number
        ("по договору № 7", set()),
    ],
)
def test_the_application_number_is_found_in_the_purpose(text: str, numbers: set[str]) -> None:
    [line] = parse_statement(csv_of(f"01.12.2026;1;{text};1;А"), TODAY).lines
    assert line.numbers == numbers


def test_the_page_shows_the_whole_counts_and_as_many_lines_as_the_flash_holds() -> None:
    report: dict[str, Any] = {
        "lines": 900,
        "recorded": 100,
        "duplicates": 0,
        "unmatched": [{"line": n, "purpose": f"Оплата по счёту {n} " + "х" * 300} for n in range(3, 800)],
        "refused": [{"line": 2, "code": "no_invoice", "message": "По заявке ещё не выставлен счёт."}],
    }
    seen = shown(report)
    assert (seen["lines"], seen["recorded"], seen["unmatched"], seen["refused"]) == (900, 100, 797, 1)
    assert [r["line"] for r in seen["rows"][:2]] == [2, 3]  # in the file's order
    assert 0 < len(seen["rows"]) < 798 and seen["hidden"] == 798 - len(seen["rows"])
    assert all(len(r["text"]) <= 160 for r in seen["rows"])
    small = shown({**report, "unmatched": report["unmatched"][:2]})
    assert (len(small["rows"]), small["hidden"]) == (3, 0)
