"""The applicant's profile, one body per mode: each applicant kind saved and read back
through /me, a wrong control digit refused with its code and nothing saved, a field of
another kind refused, an old-style body (names only) still working; the passport and phone
never leave identity (the public event, the staff's directory); and in the browser, a
company's profile filled in on «Профиль»."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.conftest import Person, new_person
from tests.e2e import a11y
from tests.e2e.helpers import log_in, read_events, register_and_confirm
from tests.e2e.test_identity_complete import NEW_PASSWORD, create_staff
from tests.harness import System

PASSPORT = {
    "series": "4510",
    "number": "987654",
    "issued_by": "ОВД «Арбат» г. Москвы",
    "issued_on": "2015-03-02",
}
PROFILES: dict[str, dict[str, Any]] = {
    "individual": {
        "first_name": "Иван",
        "last_name": "Петров",
        "middle_name": "Сергеевич",
        "applicant_kind": "individual",
        "phone": "8 (912) 345-67-89",
        "postal_address": "123456, г. Москва, ул. Ленина, д. 1, кв. 2",
        "passport": PASSPORT,
        "inn": "500100732259",
    },
    "sole_trader": {
        "first_name": "Анна",
        "last_name": "Смирнова",
        "applicant_kind": "sole_trader",
        "ogrnip": "304500116000157",
        "inn": "500100732259",
    },
    "company": {
        "first_name": "",
        "last_name": "",
        "applicant_kind": "company",
        "organisation_name": "ООО «Ромашка»",
        "ogrn": "1027700132195",
        "inn": "7707083893",
        "kpp": "773601001",
        "phone": "+7 495 123-45-67",
    },
}
SHOWN = {"individual": "Иван Петров", "sole_trader": "Анна Смирнова", "company": "ООО «Ромашка»"}
PHONES = {"8 (912) 345-67-89": "+79123456789", "+7 495 123-45-67": "+74951234567"}  # as typed → stored


def signed_in(system: System, http: httpx.Client, person: Person) -> dict[str, str]:
    register_and_confirm(system, http, person)
    return log_in(http, person.login, person.password)


@pytest.mark.parametrize("kind", list(PROFILES))
def test_each_kind_is_saved_and_read_back(system: System, person: Person, kind: str) -> None:
    body = PROFILES[kind]
    with system.client() as http:
        auth = signed_in(system, http, person)
        saved = http.put("/api/v1/me/profile", headers=auth, json=body)
        assert saved.status_code == 200, saved.text
        me = http.get("/api/v1/me", headers=auth).json()
        for name, value in body.items():
            assert me[name] == (PHONES[value] if name == "phone" else value), name
        assert me["display_name"] == SHOWN[kind]
        assert (
            me["applicant_kind_title"]
            == {
                "individual": "Физическое лицо",
                "sole_trader": "Индивидуальный предприниматель",
                "company": "Юридическое лицо",
            }[kind]
        )
        # A partial update (PATCH /me) keeps what it does not name.
        patched = http.patch("/api/v1/me", headers=auth, json={"postal_address": "г. Казань, а/я 7"})
        assert patched.status_code == 200, patched.text
        again = http.get("/api/v1/me", headers=auth).json()
        assert (again["postal_address"], again["inn"], again["display_name"]) == (
            "г. Казань, а/я 7",
            body["inn"],
            SHOWN[kind],
        )


@pytest.mark.parametrize(
    ("kind", "change", "field", "code"),
    [
        ("company", {"inn": "7707083894"}, "inn", "inn_invalid"),
        ("company", {"ogrn": "1027700132196"}, "ogrn", "ogrn_invalid"),
        ("sole_trader", {"ogrnip": "304500116000158"}, "ogrnip", "ogrnip_invalid"),
        ("individual", {"inn": "500100732258"}, "inn", "inn_invalid"),
        (
            "individual",
            {"passport": {**PASSPORT, "series": "45"}},
            "passport.series",
            "passport_series_invalid",
        ),
        ("individual", {"ogrn": "1027700132195"}, "ogrn", "field_not_for_kind"),
        ("company", {"passport": PASSPORT}, "passport", "field_not_for_kind"),
        ("sole_trader", {"kpp": "773601001"}, "kpp", "field_not_for_kind"),
    ],
)
def test_a_wrong_field_is_refused_with_its_code_and_nothing_is_saved(
    system: System, person: Person, kind: str, change: dict[str, Any], field: str, code: str
) -> None:
    with system.client() as http:
        auth = signed_in(system, http, person)
        before = http.get("/api/v1/me", headers=auth).json()
        for method, path in (("PUT", "/api/v1/me/profile"), ("PATCH", "/api/v1/me")):
            answer = http.request(method, path, headers=auth, json={**PROFILES[kind], **change})
            assert (answer.status_code, answer.json()["code"]) == (422, code), answer.text
            errors = answer.json()["errors"]
            assert [(e["field"], e["code"]) for e in errors] == [(field, code)]
            assert any("а" <= ch <= "я" for ch in errors[0]["message"])  # Russian words
        assert http.get("/api/v1/me", headers=auth).json() == before


def test_an_old_style_body_still_works(system: System, person: Person) -> None:
    with system.client() as http:
        auth = signed_in(system, http, person)
        assert http.put("/api/v1/me/profile", headers=auth, json=PROFILES["individual"]).status_code == 200
        old = http.patch("/api/v1/me", headers=auth, json={"first_name": "Пётр", "last_name": "Иванов"})
        assert old.status_code == 200, old.text
        me = old.json()
        assert (me["display_name"], me["inn"], me["passport"]) == ("Пётр Иванов", "500100732259", PASSPORT)
        whole = http.put(
            "/api/v1/me/profile", headers=auth, json={"first_name": "Пётр", "last_name": "Иванов"}
        )
        assert whole.status_code == 200, whole.text
        assert (whole.json()["applicant_kind"], whole.json()["passport"], whole.json()["inn"]) == (
            "",
            None,
            "",
        )


def test_the_passport_and_phone_stay_in_identity(system: System, person: Person) -> None:
    staff = new_person()
    create_staff(system, staff.login, staff.email)
    with system.client() as http:
        auth = signed_in(system, http, person)
        account_id = http.get("/api/v1/me", headers=auth).json()["id"]
        body = {**PROFILES["individual"], "last_name": "Паспортов"}
        assert http.put("/api/v1/me/profile", headers=auth, json=body).status_code == 200
        published = [e for e in read_events(system, "identity", account_id, 4) if "ProfileUpdated" in e.type]
        assert [e.data["inn"] for e in published] == ["500100732259"]
        wire = json.dumps([e.data for e in published], ensure_ascii=False)
        assert "987654" not in wire and "9123456789" not in wire and "Ленина" not in wire
        staff_auth = log_in(http, staff.login, NEW_PASSWORD)
        deadline = time.monotonic() + 30
        while True:  # the directory follows the public events
            rows = http.get("/api/v1/admin/accounts", headers=staff_auth, params={"q": person.login}).json()
            if (
                rows["items"] and rows["items"][0]["display_name"] == "Иван Паспортов"
            ) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert rows["items"][0]["display_name"] == "Иван Паспортов"
        assert "987654" not in json.dumps(rows) and "passport" not in json.dumps(rows)


@pytest.mark.browser
def test_a_company_profile_is_filled_in_on_the_page(
    system: System, person: Person, browser: Browser, contexts: list[BrowserContext]
) -> None:
    with system.client() as http:
        register_and_confirm(system, http, person)
    context = browser.new_context(locale="ru-RU", bypass_csp=True, viewport={"width": 375, "height": 800})
    contexts.append(context)
    page = context.new_page()
    page.goto(system.base_url + "/?tab=login")
    page.get_by_label("Логин").fill(person.login)
    page.get_by_label("Пароль").fill(person.password)
    page.get_by_role("button", name="Вход").click()
    page.goto(system.base_url + "/profile")
    expect(page.get_by_label("ОГРН", exact=True)).to_be_hidden()  # no kind chosen yet
    page.get_by_label("Юридическое лицо").check()
    expect(page.get_by_label("Серия паспорта")).to_be_hidden()
    page.get_by_label("Наименование организации").fill("ООО «Ромашка»")
    page.get_by_label("ОГРН", exact=True).fill("1027700132196")  # a wrong control digit
    page.get_by_label("ИНН").fill("7707083893")
    page.get_by_label("КПП").fill("773601001")
    page.get_by_label("Телефон").fill("+7 495 123-45-67")
    page.get_by_role("button", name="Обновить профиль").click()
    ogrn = page.get_by_label("ОГРН", exact=True)
    expect(ogrn).to_have_accessible_description("ОГРН — 13 цифр с верной контрольной цифрой 13 цифр")
    expect(ogrn).to_be_focused()
    expect(page.get_by_label("Наименование организации")).to_have_value("ООО «Ромашка»")  # kept
    assert not (problems := a11y.violations(page)), a11y.summary(problems)
    ogrn.fill("1027700132195")
    page.get_by_role("button", name="Обновить профиль").click()
    expect(page.get_by_role("status")).to_contain_text("Профиль обновлён")
    expect(page.get_by_test_id("display-name")).to_have_text("ООО «Ромашка»")
    expect(page.get_by_label("Юридическое лицо")).to_be_checked()
    expect(page.get_by_label("КПП")).to_have_value("773601001")
    expect(page.get_by_label("Телефон")).to_have_value("+74951234567")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scrolling
