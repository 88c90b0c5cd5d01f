"""The applicant's profile in identity: the kind, the patronymic, phone and address, and per
kind the passport or the registry numbers — checked, stored on the account as one event,
refused per field with stable codes (nothing stored), and published without the passport,
phone or address."""

from __future__ import annotations

from typing import Any

import pytest

from services.identity.app import IdentityApp
from services.identity.domain import Account
from services.identity.public import make_mapper
from shared.errors import Invalid
from shared.events import ProfileUpdatedV1
from tests.unit.conftest import STRONG, unique_login

PASSPORT = {
    "series": "45 10",
    "number": "123456",
    "issued_by": "ОВД «Арбат» г. Москвы",
    "issued_on": "2015-03-02",
}
INDIVIDUAL = {
    "applicant_kind": "individual",
    "middle_name": "Сергеевич",
    "phone": "8 (912) 345-67-89",
    "postal_address": "123456, г. Москва, ул. Ленина, д. 1, кв. 2",
    "passport": PASSPORT,
    "inn": "500100732259",
}
SOLE_TRADER = {"applicant_kind": "sole_trader", "ogrnip": "304500116000157", "inn": "500100732259"}
COMPANY = {
    "applicant_kind": "company",
    "organisation_name": "ООО «Ромашка»",
    "ogrn": "1027700132195",
    "inn": "7707083893",
    "kpp": "773601001",
}


def consumer(identity: IdentityApp) -> Account:
    login = unique_login()
    return identity.register(
        login=login, email=f"{login}@example.ru", password=STRONG, account_type="consumer"
    )


def stored(identity: IdentityApp, account: Account) -> Account:
    found = identity.account(account.id)
    assert found is not None
    return found


def refusal(identity: IdentityApp, account: Account, details: dict[str, Any]) -> Invalid:
    version = stored(identity, account).version
    with pytest.raises(Invalid) as info:
        identity.update_profile(stored(identity, account), "Иван", "Петров", details=details)
    assert stored(identity, account).version == version  # nothing recorded
    return info.value


def test_an_individual_is_stored_checked_and_normalised(identity: IdentityApp) -> None:
    account = consumer(identity)
    identity.update_profile(account, "Иван", "Петров", details=INDIVIDUAL)
    details = stored(identity, account).details
    assert details == {
        **INDIVIDUAL,
        "phone": "+79123456789",
        "passport": {**PASSPORT, "series": "4510"},
    }
    assert stored(identity, account).display_name == "Иван Петров"


@pytest.mark.parametrize("given", [SOLE_TRADER, COMPANY])
def test_each_kind_is_stored_as_given(identity: IdentityApp, given: dict[str, str]) -> None:
    account = consumer(identity)
    identity.update_profile(account, "", "", details=given)
    assert stored(identity, account).details == given


def test_a_company_is_shown_by_its_name_until_a_person_is_named(identity: IdentityApp) -> None:
    account = consumer(identity)
    identity.update_profile(account, "", "", details=COMPANY)
    assert stored(identity, account).display_name == "ООО «Ромашка»"
    identity.update_profile(stored(identity, account), "Анна", "Смирнова")
    assert stored(identity, account).display_name == "Анна Смирнова"


@pytest.mark.parametrize(
    ("details", "field", "code"),
    [
        ({**COMPANY, "inn": "7707083894"}, "inn", "inn_invalid"),
        ({**COMPANY, "inn": "500100732259"}, "inn", "inn_invalid"),  # a person's ИНН for a company
        ({**INDIVIDUAL, "inn": "7707083893"}, "inn", "inn_invalid"),
        ({**COMPANY, "ogrn": "1027700132196"}, "ogrn", "ogrn_invalid"),
        ({**COMPANY, "ogrn": "304500116000157"}, "ogrn", "ogrn_invalid"),  # an ОГРНИП is not an ОГРН
        ({**SOLE_TRADER, "ogrnip": "304500116000158"}, "ogrnip", "ogrnip_invalid"),
        ({**COMPANY, "kpp": "77360100"}, "kpp", "kpp_invalid"),
        (
            {**INDIVIDUAL, "passport": {**PASSPORT, "series": "451"}},
            "passport.series",
            "passport_series_invalid",
        ),
        (
            {**INDIVIDUAL, "passport": {**PASSPORT, "number": "12345"}},
            "passport.number",
            "passport_number_invalid",
        ),
        (
            {**INDIVIDUAL, "passport": {**PASSPORT, "issued_on": "2999-01-01"}},
            "passport.issued_on",
            "passport_issued_on_invalid",
        ),
        ({**INDIVIDUAL, "phone": "+1 212 555 0100"}, "phone", "phone_invalid"),
        ({"applicant_kind": "alien"}, "applicant_kind", "applicant_kind_invalid"),
        ({**INDIVIDUAL, "middle_name": "Серг\u202eеевич"}, "middle_name", "invalid_name"),
        ({**INDIVIDUAL, "postal_address": "x" * 501}, "postal_address", "invalid_name"),
        ({**INDIVIDUAL, "ogrn": "1027700132195"}, "ogrn", "field_not_for_kind"),
        ({**COMPANY, "passport": PASSPORT}, "passport", "field_not_for_kind"),
        ({**SOLE_TRADER, "kpp": "773601001"}, "kpp", "field_not_for_kind"),
        ({"inn": "7707083893"}, "inn", "field_not_for_kind"),  # no kind chosen yet
    ],
)
def test_a_wrong_field_is_refused_by_its_code_and_nothing_is_stored(
    identity: IdentityApp, details: dict[str, Any], field: str, code: str
) -> None:
    refused = refusal(identity, consumer(identity), details)
    assert (refused.code, refused.status) == (code, 422)
    assert refused.errors == [{"field": field, "code": code, "message": refused.message}]
    assert refused.message[:1].isupper() and refused.message.endswith(".")


def test_every_field_at_fault_is_named_at_once(identity: IdentityApp) -> None:
    refused = refusal(
        identity, consumer(identity), {**COMPANY, "inn": "1", "ogrn": "2", "passport": PASSPORT}
    )
    assert sorted(e["field"] for e in refused.errors or []) == ["inn", "ogrn", "passport"]
    assert refused.message == "Проверьте заполнение полей."


def test_empty_fields_of_another_kind_are_no_data_and_are_taken(identity: IdentityApp) -> None:
    account = consumer(identity)
    identity.update_profile(account, "", "", details={**COMPANY, "passport": None, "ogrnip": ""})
    assert stored(identity, account).details == COMPANY


def test_fields_left_out_are_kept_and_a_new_kind_drops_the_old_kinds_fields(identity: IdentityApp) -> None:
    account = consumer(identity)
    identity.update_profile(account, "Иван", "Петров", details=INDIVIDUAL)
    identity.update_profile(stored(identity, account), None, None, details={"middle_name": "Ильич"})
    kept = stored(identity, account)
    assert (kept.first_name, kept.details["middle_name"], kept.details["inn"]) == (
        "Иван",
        "Ильич",
        "500100732259",
    )
    identity.update_profile(kept, None, None, details={"inn": None})
    assert "inn" not in stored(identity, account).details
    identity.update_profile(stored(identity, account), None, None, details=COMPANY)
    details = stored(identity, account).details
    assert "passport" not in details and details["phone"] == "+79123456789"


def test_no_change_records_no_event(identity: IdentityApp) -> None:
    account = consumer(identity)
    identity.update_profile(account, "Иван", "Петров", details=COMPANY)
    version = stored(identity, account).version
    identity.update_profile(stored(identity, account), "Иван", "Петров", details=COMPANY)
    assert stored(identity, account).version == version


def test_the_public_event_carries_the_registry_numbers_but_no_passport_phone_or_address(
    identity: IdentityApp,
) -> None:
    account = consumer(identity)
    identity.update_profile(account, "Иван", "Петров", details=INDIVIDUAL)
    last = identity.recorder.select_notifications(1, 1000)[-1]
    public = make_mapper(identity)(identity.mapper.to_domain_event(last))
    assert isinstance(public, ProfileUpdatedV1)
    assert (public.applicant_kind, public.middle_name, public.inn) == (
        "individual",
        "Сергеевич",
        "500100732259",
    )
    wire = public.model_dump_json()
    for private in ("123456", "4510", "9123456789", "Ленина", "Арбат"):
        assert private not in wire
