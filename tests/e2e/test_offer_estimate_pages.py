"""The invoice of an offer starts from the estimate, in headless Chromium, one body per mode:
staff open an application «В работе» and find «Сумма счёта» pre-filled with its fee (the
type, the power; the region of LK_REGION) and the rule beside it; they may change it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.conftest import Person, new_person
from tests.e2e import a11y
from tests.e2e.helpers import log_in
from tests.e2e.process_steps import post
from tests.e2e.test_applications import consumer
from tests.e2e.test_identity_complete import NEW_PASSWORD, create_staff
from tests.e2e.test_pages_livable import logged_in
from tests.e2e.test_process import submitted
from tests.harness import System

pytestmark = pytest.mark.browser


def test_the_staff_offer_is_pre_filled_with_the_estimate(
    system: System, person: Person, browser: Browser, contexts: list[BrowserContext]
) -> None:
    clerk = new_person()
    create_staff(system, clerk.login, clerk.email)
    with system.client() as http:
        auth = consumer(system, http, person)
        app_id = submitted(http, auth)  # individual_15kw, 12,5 kW, no distance stated
        staff = log_in(http, clerk.login, NEW_PASSWORD)
        assert post(http, staff, app_id, "transitions", {"to_status": "in_work"}).status_code == 200
    page = logged_in(browser, contexts, system, clerk.login, NEW_PASSWORD, bypass_csp=True)
    page.goto(f"{system.base_url}/applications/{app_id}")
    offer = page.get_by_role("form", name="Разместить оферту")
    amount = offer.get_by_label("Сумма счёта, ₽")
    # Tatarstan 2026: 12,5 kW × 7 600 ₽ = 95 000,00 ₽ (VAT 22 % inside: 17 131,15 ₽)
    expect(amount).to_have_value("95000,00")
    hint = offer.get_by_test_id("offer-estimate")
    expect(hint).to_contain_text("95\u00a0000,00\u00a0₽")
    expect(hint).to_contain_text("17\u00a0131,15\u00a0₽")
    expect(hint).to_contain_text("льготная ставка")
    assert amount.get_attribute("aria-describedby") == "invoice-estimate"
    amount.fill("90000,00")  # staff may change it
    expect(amount).to_have_value("90000,00")
    assert not a11y.violations(page), a11y.summary(a11y.violations(page))
