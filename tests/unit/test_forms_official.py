"""The official forms of issue 13 (point 5): the closing notice (Приложение № 1(1)), the act
of ТП in the official layout (Приложение № 1), the standard contract of each category with its
ТУ annex and the penalty written out, the applicant's statements, a filled-in sample of every
application and statement; and every form converts to PDF (one LibreOffice run for all)."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from docx import Document

from services.files.forms import SPECS, SPECS_BY_CODE, bookmarks_in, build_docx, fill_docx
from shared.pdf import soffice

COMPANY = "АО «Сетевая компания»"
PER_DAY_025 = (
    "0,25 процента от общего размера платы за технологическое присоединение по договору за каждый день"
)
PER_DAY_KEY = "0,014 ключевой ставки Центрального банка Российской Федерации"
OFFER = "Договор считается заключённым со дня оплаты заявителем счёта (акцепт оферты)"
SIGNED = "со дня поступления в сетевую организацию подписанного заявителем экземпляра договора"


def text_of(data: bytes) -> str:
    document = Document(io.BytesIO(data))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def paragraphs(data: bytes) -> list[str]:
    return [p.text for p in Document(io.BytesIO(data)).paragraphs]


# (code, heading, subheading begins, the contract's penalty(ies), how it is concluded)
CONTRACTS = [
    ("contract_tp", "до 15 кВт включительно", [PER_DAY_025], OFFER),
    ("contract_150kw", "до 150 кВт включительно", [PER_DAY_025], OFFER),
    ("contract_150_670kw", "свыше 150 кВт и менее 670 кВт", [PER_DAY_KEY], SIGNED),
    ("contract_over_670kw", "670 кВт и более", [PER_DAY_KEY], SIGNED),
    (
        "contract_temporary",
        "временное",
        ["0,25 процента от общего размера платы", PER_DAY_KEY],
        "акцепт оферты",
    ),
    ("contract_redistribution", "перераспределения максимальной мощности", [PER_DAY_KEY], SIGNED),
]


@pytest.mark.parametrize(("code", "category", "penalties", "concluded"), CONTRACTS)
def test_each_category_contract_has_its_penalty_its_conclusion_and_the_tu_annex(
    code: str, category: str, penalties: list[str], concluded: str
) -> None:
    spec = SPECS_BY_CODE[code]
    assert spec.kind == "contract" and category in spec.title + spec.subheading
    data = build_docx(spec, company=COMPANY)
    text = text_of(data)
    assert "ДОГОВОР № ______" in paragraphs(data)
    for penalty in penalties:
        assert penalty in text, (code, penalty)
    assert "неустойку" in text and "за каждый день просрочки" in text
    assert concluded in text
    # The annex: the ТУ on a page of their own, with the points of connection and the duties.
    assert "ТЕХНИЧЕСКИЕ УСЛОВИЯ № ______" in paragraphs(data)
    assert "Приложение к договору об осуществлении технологического присоединения" in text
    for row in ("Точка (точки) присоединения", "Сетевая организация осуществляет", "Заявитель осуществляет"):
        assert row in text, (code, row)
    assert f"{COMPANY} (сетевая организация)" in text
    assert {"object", "max_power_kw", "fee", "company_details", "applicant_details"} <= bookmarks_in(data)


def test_only_the_small_contracts_are_offers_accepted_by_payment() -> None:
    offers = {code for code, *_ in CONTRACTS if OFFER in text_of(build_docx(SPECS_BY_CODE[code]))}
    assert offers == {"contract_tp", "contract_150kw"}
    redistribution = text_of(build_docx(SPECS_BY_CODE["contract_redistribution"]))
    assert "№ 1209" in redistribution and "соглашению о перераспределении" in redistribution
    assert "одного года" not in text_of(build_docx(SPECS_BY_CODE["contract_150kw"]))
    assert set(SPECS_BY_CODE["contract_150kw"].for_types) == {
        "legal_150kw",
        "microgeneration_150kw",
        "individual_150kw",
    }


ACT_BLOCKS = (
    "Характеристики присоединения",
    "Совокупная номинальная мощность присоединённых трансформаторов, кВА",
    "Перечень точек присоединения",
    "Описание границы балансовой принадлежности",
    "Описание границы эксплуатационной ответственности",
    "Приборы учёта электрической энергии",
    "Тип прибора учёта",
    "Устройства защиты, релейной защиты, противоаварийной и режимной автоматики",
    "Автономный резервный источник питания",
    "Дата фактического присоединения",
    "Дата фактической подачи (приёма) напряжения и мощности",
)


def test_the_act_of_connection_has_the_official_blocks() -> None:
    data = build_docx(SPECS_BY_CODE["act_tp"])
    text = text_of(data)
    assert "приложение № 1 к Правилам" in text and "об осуществлении технологического присоединения" in text
    for block in ACT_BLOCKS:
        assert block in text, block
    assert {
        "transformer_kva",
        "protection",
        "automatics",
        "reserve_source",
        "connection_date",
    } <= bookmarks_in(data)
    filled, count = fill_docx(data, {"transformer_kva": "250", "connection_date": "01.03.2026"})
    rows = {r.cells[0].text: r.cells[1].text for t in Document(io.BytesIO(filled)).tables for r in t.rows}
    assert count == 2
    assert rows["Совокупная номинальная мощность присоединённых трансформаторов, кВА"] == "250"
    assert rows["Дата фактического присоединения"] == "01.03.2026"


def test_the_closing_notice_is_signed_by_the_grid_company_alone() -> None:
    spec = SPECS_BY_CODE["notice_possibility"]
    assert (
        spec.title
        == "Уведомление об обеспечении сетевой организацией возможности присоединения к электрическим сетям"
    )
    data = build_docx(spec, company=COMPANY)
    text = text_of(data)
    assert "приложение № 1(1) к Правилам" in text and "УВЕДОМЛЕНИЕ № ______" in paragraphs(data)
    for block in ("Точки присоединения", "Описание границы балансовой принадлежности", "Прибор учёта"):
        assert block in text, block
    signs = [p for p in paragraphs(data) if p.endswith("/ ______________________ /")]
    assert signs == ["Сетевая организация: ____________________ / ______________________ /"]
    assert "подписание заявителем не требуется" in text


@pytest.mark.parametrize(
    ("code", "heading", "needles"),
    [
        (
            "notice_tu_fulfilled",
            "УВЕДОМЛЕНИЕ",
            ("о выполнении технических условий", "Технические условия: номер"),
        ),
        ("refund_application", "ЗАЯВЛЕНИЕ", ("на возврат денежных средств", "Реквизиты для возврата")),
        ("payment_clarification", "ЗАЯВЛЕНИЕ", ("об уточнении платежа", "Правильное назначение платежа")),
    ],
)
def test_the_applicants_statements(code: str, heading: str, needles: tuple[str, ...]) -> None:
    spec = SPECS_BY_CODE[code]
    assert spec.kind == "statement" and not spec.fillable
    data = build_docx(spec)
    assert heading in paragraphs(data)
    for needle in needles:
        assert needle in text_of(data), needle
    assert {
        "full_name",
        "identity",
        "phone",
        "payment" if "refund" in code else "full_name",
        "date",
    } <= bookmarks_in(data)


BY_COMPANIES = {  # the application forms of companies and sole traders: the company's sample
    "application_legal_150kw",
    "application_legal_150_670kw",
    "application_over_670kw",
    "application_temporary",
    "application_microgeneration_150kw",
}


def test_every_application_and_statement_has_a_filled_in_sample() -> None:
    forms = [s for s in SPECS if s.kind in ("application", "statement") and not s.sample_of]
    samples = {s.sample_of: s for s in SPECS if s.sample_of}
    assert set(samples) == {s.code for s in forms} and len(forms) == 9
    for form in forms:
        sample = samples[form.code]
        assert sample.code == f"{form.code}_sample" and not sample.fillable
        assert sample.title == f"Образец заполнения: {form.title}" and sample.application_type_code is None
        data = build_docx(sample)
        assert paragraphs(data)[0] == "ОБРАЗЕЦ ЗАПОЛНЕНИЯ"
        assert Document(io.BytesIO(data)).core_properties.title == sample.title
        text = text_of(data)
        assert form.subheading in text and "«15» марта 2026 г." in text
        assert ("ООО «Ромашка»" if form.code in BY_COMPANIES else "Иванов Иван Иванович") in text, form.code
    over = text_of(build_docx(samples["application_over_670kw"]))
    assert "1200" in over  # each sample's power is within its form's range


@pytest.mark.skipif(soffice() is None, reason="LibreOffice (deploy/libreoffice.sh) missing")
def test_every_form_converts_to_pdf_in_one_run(tmp_path: Path) -> None:
    sources = []
    for spec in SPECS:
        path = tmp_path / f"{spec.code}.docx"
        path.write_bytes(build_docx(spec, company=COMPANY))
        sources.append(str(path))
    command = soffice()
    assert command is not None
    profile = (tmp_path / "profile").as_uri()
    options = ["--headless", "--norestore", "--convert-to", "pdf", "--outdir", str(tmp_path / "pdf")]
    done = subprocess.run(
        [command, f"-env:UserInstallation={profile}", *options, *sources],
        capture_output=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    for spec in SPECS:
        pdf = (tmp_path / "pdf" / f"{spec.code}.pdf").read_bytes()
        assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-64:], spec.code
