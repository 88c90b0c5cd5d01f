"""shared/format.py: times in the grid company's zone (labelled), calendar dates as they
are, Russian numbers; and the e-mails use it, signed with the company's details."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.files.forms import SPECS_BY_CODE, build_docx
from services.notifier.outbox import _when, render
from shared import format as fmt
from shared.settings import Settings, get_settings
from tests.unit.test_files_forms import text_of as docx_text

THIN, NBSP = "\u202f", "\u00a0"


def test_moments_are_shown_in_the_company_zone_and_labelled() -> None:
    moment = "2026-03-05T11:07:00+00:00"
    assert fmt.when(moment, "Europe/Moscow") == "05.03.2026 14:07 (МСК)"
    assert fmt.when(moment, "Asia/Yekaterinburg") == "05.03.2026 16:07 (МСК+2)"
    assert fmt.when(moment, "Europe/Kaliningrad") == "05.03.2026 13:07 (МСК−1)"
    assert fmt.when(moment, "Europe/Berlin") == "05.03.2026 12:07 (UTC+1)"
    assert fmt.when(moment, "Europe/Berlin", label=False) == "05.03.2026 12:07"
    # Late in the evening in UTC is already the next day in Moscow.
    assert fmt.when("2026-12-31T22:30:00Z", "Europe/Moscow") == "01.01.2027 01:30 (МСК)"
    assert fmt.when(datetime(2026, 3, 5, 11, 7), "Europe/Moscow") == "05.03.2026 14:07 (МСК)"  # naive = UTC
    epoch = datetime(2026, 3, 5, 11, 7, tzinfo=UTC).timestamp()
    assert (
        fmt.when(epoch, "Europe/Moscow") == fmt.when(str(epoch), "Europe/Moscow") == "05.03.2026 14:07 (МСК)"
    )
    assert fmt.when(None) == fmt.when("") == ""


def test_the_default_zone_is_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().time_zone == "Europe/Moscow"
    monkeypatch.setenv("LK_TIME_ZONE", "Asia/Vladivostok")
    get_settings.cache_clear()
    fmt.zone.cache_clear()
    try:
        assert fmt.when("2026-03-05T11:07:00Z") == "05.03.2026 21:07 (МСК+7)"
    finally:
        get_settings.cache_clear()
        fmt.zone.cache_clear()


def test_calendar_dates_stay_the_date_they_are() -> None:
    assert fmt.day("2026-03-05") == fmt.day(date(2026, 3, 5)) == "05.03.2026"
    assert fmt.day("2026-03-05T22:30:00+00:00", "Europe/Moscow") == "06.03.2026"  # a moment: local date
    assert fmt.day(None) == ""
    assert isinstance(fmt.today("Europe/Moscow"), date)


def test_russian_numbers() -> None:
    assert fmt.kw(12) == f"12,0{NBSP}кВт"
    assert fmt.kw("7,5") == f"7,5{NBSP}кВт"
    assert fmt.kw(0.25) == f"0,25{NBSP}кВт"
    assert fmt.kw(15000) == f"15{THIN}000,0{NBSP}кВт"
    assert fmt.number(1234567) == f"1{THIN}234{THIN}567"
    assert fmt.number(1234.5, 2) == f"1{THIN}234,50"
    assert fmt.number(-3.5) == "−3,5"
    assert fmt.size(512) == f"512{NBSP}байт"
    assert fmt.size(12 * 1024) == f"12{NBSP}КБ"
    assert fmt.size(int(1.5 * 1024 * 1024)) == f"1,5{NBSP}МБ"


def test_e_mails_are_in_the_company_zone_and_signed_by_the_company() -> None:
    expires = datetime(2026, 3, 5, 21, 30, tzinfo=UTC)
    assert _when(expires) == "06.03.2026 00:30 (МСК)"
    text, html = render(
        "confirm_email", login="ivan", link="https://lk.example.ru/confirm?token=t", expires=_when(expires)
    )
    settings = Settings()
    for body in (text, html):
        assert "06.03.2026 00:30 (МСК)" in body and "UTC" not in body
        assert settings.company_phone in body and settings.company_address in body
    assert settings.company_name in text
    assert "Региональная сетевая компания" in html


def test_generated_forms_name_the_grid_company() -> None:
    name = "ПАО «Россети Тест»"
    application = docx_text(build_docx(SPECS_BY_CODE["application_individual_15kw"], company=name))
    assert f"В {name}" in application and "(наименование сетевой организации)" not in application
    contract = docx_text(build_docx(SPECS_BY_CODE["contract_tp"], company=name))
    assert name in contract
    assert "(наименование сетевой организации)" in docx_text(
        build_docx(SPECS_BY_CODE["application_individual_15kw"])
    )
