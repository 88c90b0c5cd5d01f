"""The catalog of issue 13: the twelve seed types with the new keys and fixed wording; a
deployment's stored seed types upgraded by the seed unless an admin edited them (those, and
types created through the API before, get the missing keys when read); the admin's entry
validated."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from services.applications.app import ApplicationsApp
from services.applications.catalog import seed_types
from services.applications.domain import ApplicationType, Catalog
from services.applications.schemas import TypeIn
from services.applications.type_keys import KEYS, with_keys
from shared.settings import Settings

OLD_CODES = {
    "individual_15kw",
    "legal_150kw",
    "legal_150_670kw",
    "over_670kw",
    "temporary",
    "microgeneration_150kw",
}
NEW_CODES = {"individual_150kw", "redistribution", "reissue", "adjacent_grid", "mobile", "generation"}


def make_app(tmp_path: Path) -> ApplicationsApp:
    settings = Settings(var_dir=tmp_path, secret_key="k" * 40)
    return ApplicationsApp(settings, env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def test_every_seed_type_carries_the_new_keys() -> None:
    types = seed_types()
    assert set(types) == OLD_CODES | NEW_CODES
    for code, kind in types.items():
        missing = {k for k in KEYS if k not in kind} - {"min_power_inclusive", "max_power_exclusive"}
        assert not missing, (code, missing)
        assert kind["min_power_kw"] is None or kind["min_power_kw"] < kind["max_power_kw"]
        assert {d["code"] for d in kind["documents"] if d["code"] == "power_of_attorney"} == {
            "power_of_attorney"
        }
        assert all(d["title"] for d in kind["documents"])
        slot = next(d for d in kind["documents"] if d["code"] == "application_form")
        assert slot["required"] is kind["paper_signature"], code


def test_the_wording_and_bounds_of_the_rules() -> None:
    types = seed_types()
    assert "свыше 150 кВт и менее 670 кВт" in types["legal_150_670kw"]["title"]
    assert types["legal_150_670kw"]["max_power_exclusive"] and types["over_670kw"]["min_power_inclusive"]
    assert (types["over_670kw"]["min_power_kw"], types["legal_150_670kw"]["min_power_kw"]) == (670, 150)
    assert "по второй или третьей категории надёжности" in types["legal_150kw"]["title"]
    assert types["legal_150kw"]["categories"] == [2, 3]
    household = types["individual_15kw"]
    assert (household["voltages_kv"], household["categories"], household["applicant_kinds"]) == (
        [0.4],
        [3],
        ["individual"],
    )
    reduced = [d for d in household["documents"] if d.get("required_when") == "reduced_rate"]
    assert [d["code"] for d in reduced] == ["reduced_rate_document"] and household["reduced_rate"]
    for kind in types.values():
        for doc in kind["documents"]:
            if doc["code"] == "single_line":
                assert doc["required_from_kv"] == 35
    assert types["reissue"]["deadlines"]["in_work"] == {"working_days": 7}
    assert "ПП РФ № 1209" in types["redistribution"]["description"]
    assert "пп. 41–42" in types["adjacent_grid"]["description"]


OLD_ENTRY = {  # individual_15kw as an earlier seed stored it (issue 12)
    "code": "individual_15kw",
    "title": "Заявка физического лица на присоединение до 15 кВт включительно",
    "max_power_kw": 15,
    "documents": [
        {"code": "application_form", "title": "Заполненная и подписанная заявка", "required": True},
        {"code": "site_plan", "title": "План", "required": True},
    ],
    "deadlines": {"activities": {"months": 4}},
}


def deployment_of_issue_12(app: ApplicationsApp, admin_edits: dict[str, Any] | None) -> None:
    """The event store as an earlier seed left it: two types, one maybe edited by an admin."""
    catalog = Catalog()
    kinds = []
    for code, data in (("individual_15kw", OLD_ENTRY), ("legal_150kw", {**OLD_ENTRY, "code": "legal_150kw"})):
        catalog.add(code=code)
        kinds.append(ApplicationType(code=code, data=copy.deepcopy(data)))
    if admin_edits is not None:
        kinds[0].update(data={**OLD_ENTRY, **admin_edits}, actor_id="admin-account-id")
    app.commit(catalog, *kinds)


def test_the_seed_upgrades_a_type_no_admin_edited(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    deployment_of_issue_12(app, admin_edits=None)
    app.seed_catalog()
    assert app.types["individual_15kw"] == with_keys(seed_types()["individual_15kw"])
    stored = app.find(ApplicationType.create_id("individual_15kw"), ApplicationType)
    assert stored is not None and stored.version == 2 and stored.by_seed
    assert set(app.types) == OLD_CODES | NEW_CODES
    app.seed_catalog()  # again (a restart): nothing more recorded
    assert app.find(ApplicationType.create_id("individual_15kw"), ApplicationType).version == 2  # type: ignore[union-attr]


def test_an_admins_edit_is_kept_and_gets_only_the_missing_keys(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    deployment_of_issue_12(app, admin_edits={"title": "Своя формулировка"})
    app.seed_catalog()
    kind = app.types["individual_15kw"]
    assert kind["title"] == "Своя формулировка" and kind["deadlines"] == {"activities": {"months": 4}}
    assert (kind["voltages_kv"], kind["categories"], kind["applicant_kinds"]) == ([0.4], [3], ["individual"])
    assert kind["paper_signature"] is False  # the seed's value for the code
    assert next(d for d in kind["documents"] if d["code"] == "application_form")["required"] is False


def test_an_api_type_of_before_gets_the_defaults() -> None:
    kind = with_keys({**OLD_ENTRY, "code": "custom"})
    assert kind["applicant_kinds"] == ["individual", "sole_trader", "company"]
    assert (kind["min_power_kw"], kind["payment_options"], kind["activity_terms"]) == (None, ["lump_sum"], [])
    assert kind["paper_signature"] is True  # its checklist wanted the signed form


ENTRY: dict[str, Any] = {
    "title": "Заявка на что-то",
    "description": "",
    "max_power_kw": 150,
    "terms": "",
    "procedure": "",
    "payment": "",
    "documents": [{"code": "application_form", "title": "Заявка", "required": True}],
}


def test_the_admins_entry_takes_the_new_keys_with_defaults() -> None:
    plain = TypeIn.model_validate(ENTRY).data()
    assert plain["voltages_kv"] == [0.4, 6, 10, 20, 35, 110, 220]
    assert plain["paper_signature"] is True  # left out: its checklist wants the signed form
    assert "max_power_exclusive" not in plain and plain["documents"][0] == ENTRY["documents"][0]
    full = TypeIn.model_validate(
        {
            **ENTRY,
            "min_power_kw": 15,
            "max_power_exclusive": True,
            "applicant_kinds": ["company"],
            "documents": [
                {"code": "single_line", "title": "Схема", "required": True, "required_from_kv": 35}
            ],
            "activity_terms": [
                {"max_voltage_kv": 0.4, "working_days": 30, "basis": "п. 16", "verified": True}
            ],
        }
    ).data()
    assert full["min_power_kw"] == 15 and full["max_power_exclusive"] is True
    assert full["documents"][0]["required_from_kv"] == 35 and full["paper_signature"] is False
    assert full["activity_terms"] == [
        {
            "max_voltage_kv": 0.4,
            "max_distance_m": None,
            "working_days": 30,
            "basis": "п. 16",
            "verified": True,
        }
    ]


@pytest.mark.parametrize(
    "change",
    [
        {"min_power_kw": 150},  # not below the upper bound
        {"applicant_kinds": []},
        {"applicant_kinds": ["company", "company"]},
        {"applicant_kinds": ["state"]},
        {"voltages_kv": [0]},
        {"categories": [4]},
        {"payment_options": ["credit"]},
        {"activity_terms": [{"months": 6, "working_days": 30, "basis": "п. 16"}]},
        {"activity_terms": [{"basis": "п. 16"}]},
        {"documents": [{"code": "x", "title": "X", "required": False, "required_when": "always"}]},
    ],
)
def test_a_wrong_entry_is_refused(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TypeIn.model_validate({**ENTRY, **change})


def test_a_replica_that_lost_the_race_to_seed_goes_on_with_the_catalog_the_other_defined(
    tmp_path: Path,
) -> None:
    """Two replicas starting on a fresh store (one SQLite file here): the second read «no
    catalog», then the first defined it before the second saved — the second's save loses and
    it reads what the first wrote instead of failing its start."""
    settings = Settings(var_dir=tmp_path, secret_key="k" * 40)
    first, second = ApplicationsApp(settings), ApplicationsApp(settings)
    read = second.find
    raced: list[bool] = []

    def read_before_the_other_saved(aggregate_id: Any, kind: Any, **options: Any) -> Any:
        if kind is Catalog and not raced:
            raced.append(True)
            first.seed_catalog()  # the other replica saves between this read and this save
            return None
        return read(aggregate_id, kind, **options)

    second.find = read_before_the_other_saved  # type: ignore[method-assign]
    try:
        second.seed_catalog()
        assert raced
        assert set(second.types) == OLD_CODES | NEW_CODES
        assert second.types == first.types
        catalog = second.find(Catalog.create_id(), Catalog)
        assert catalog is not None and sorted(catalog.codes) == sorted(OLD_CODES | NEW_CODES)
    finally:
        first.close()
        second.close()
