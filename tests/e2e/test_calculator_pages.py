"""«Калькулятор стоимости ТП» in headless Chromium, one body per mode: a guest reaches it from
the menu, fills it with the keyboard only, reads the amount and its breakdown in a live
region; a wrong value is refused at its field (focused, described); the form on a type's page
answers on the calculator with that type; axe finds nothing serious."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.e2e import a11y
from tests.harness import System

pytestmark = pytest.mark.browser


def test_a_guest_estimates_with_the_keyboard_and_errors_are_at_their_fields(
    system: System, browser: Browser, contexts: list[BrowserContext]
) -> None:
    context = browser.new_context(locale="ru-RU", bypass_csp=True)
    contexts.append(context)
    page = context.new_page()
    page.goto(system.base_url + "/")
    page.get_by_role("link", name="Калькулятор стоимости ТП").click()
    expect(page).to_have_title("Калькулятор стоимости ТП — Личный кабинет ТП")
    assert not a11y.violations(page), a11y.summary(a11y.violations(page))

    page.get_by_label("Вид заявки").select_option("individual_15kw")
    page.get_by_label("Максимальная мощность, кВт").fill("15")
    page.get_by_label("Расстояние от границы участка до сети, м").fill("120")
    page.get_by_label("Расстояние от границы участка до сети, м").press("Enter")  # no mouse
    result = page.get_by_test_id("estimate")
    expect(result).to_have_attribute("aria-live", "polite")
    expect(page.get_by_role("heading", name="Результат расчёта")).to_be_focused()
    # Tatarstan 2026: 15 × 7 600 = 114 000,00 ₽, VAT 22 % inside: 20 557,38 ₽
    expect(page.get_by_test_id("amount")).to_contain_text("114\u00a0000,00\u00a0₽")
    expect(page.get_by_test_id("amount")).to_contain_text("20\u00a0557,38\u00a0₽")
    expect(page.get_by_test_id("rule")).to_contain_text("Льготная ставка")
    expect(result.get_by_role("table")).to_contain_text("7\u00a0600,00 ₽/кВт × 15 кВт")
    expect(result).to_contain_text("328-191/тп-2025")
    assert not a11y.violations(page), a11y.summary(a11y.violations(page))

    # Over the type's bound: the message is at the power field, which has the focus
    page.get_by_label("Максимальная мощность, кВт").fill("15,01")
    page.get_by_role("button", name="Рассчитать стоимость").click()
    power = page.get_by_label("Максимальная мощность, кВт")
    expect(power).to_have_attribute("aria-invalid", "true")
    expect(power).to_be_focused()
    expect(page.locator("#calc-power_kw-msg")).to_contain_text("не более 15 кВт")
    assert "calc-power_kw-msg" in (power.get_attribute("aria-describedby") or "")
    expect(page.get_by_test_id("amount")).to_have_count(0)
    # An empty distance is asked for before the API
    page.get_by_label("Максимальная мощность, кВт").fill("10")
    page.get_by_label("Расстояние от границы участка до сети, м").fill("")
    page.get_by_role("button", name="Рассчитать стоимость").click()
    expect(page.locator("#calc-distance_m-msg")).to_have_text("Укажите расстояние до сети, м")
    assert not a11y.violations(page), a11y.summary(a11y.violations(page))


def test_the_form_on_a_types_page_answers_with_that_type(
    system: System, browser: Browser, contexts: list[BrowserContext]
) -> None:
    context = browser.new_context(locale="ru-RU", bypass_csp=True)
    contexts.append(context)
    page = context.new_page()
    page.goto(system.base_url + "/apply/individual_15kw")
    form = page.locator("#calculator")
    expect(form.get_by_role("heading", name="Калькулятор стоимости ТП")).to_be_visible()
    assert not a11y.violations(page), a11y.summary(a11y.violations(page))
    form.get_by_label("Максимальная мощность, кВт").fill("10")
    form.get_by_label("Расстояние от границы участка до сети, м").fill("80")
    form.get_by_label("Сельская местность").check()
    form.get_by_role("button", name="Рассчитать стоимость").click()
    expect(page).to_have_url(
        f"{system.base_url}/calculator?type_code=individual_15kw&power_kw=10&voltage_kv=0.4&category=3&distance_m=80&settlement=rural&reduced_rate_category="
    )
    # 10 × 7 600 = 76 000,00 ₽
    expect(page.get_by_test_id("amount")).to_contain_text("76\u00a0000,00\u00a0₽")
    expect(page.get_by_label("Вид заявки")).to_have_value("individual_15kw")
