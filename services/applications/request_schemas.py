"""What the API accepts for the structured application (issue 13) and for the new keys of a
catalog type. Shapes only: the rules per type are request_rules.py's."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Kind = Literal["individual", "sole_trader", "company"]
ConnectionKind = Literal["new", "increase", "scheme_change"]
PaymentOption = Literal["lump_sum", "instalments"]
ReducedRate = Literal["low_income", "veteran", "disabled", "large_family"]
CADASTRAL = r"^\d{2}:\d{2}:\d{6,7}:\d{1,}$"
TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"  # no control characters but line breaks and tabs
LINE = r"^[^\x00-\x1f\x7f]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _text(limit: int) -> Any:
    return Field(default="", max_length=limit, pattern=LINE)


class PassportIn(_Strict):
    series: str = _text(8)
    number: str = _text(12)
    issued_by: str = _text(500)
    issued_on: str = _text(10)


class ApplicantIn(_Strict):
    """Who the application is for (the profile's fields; identity/applicant.py checks the
    same ones there, request_rules.py here with shared/requisites.py)."""

    kind: Kind
    last_name: str = _text(100)
    first_name: str = _text(100)
    middle_name: str = _text(100)
    organisation_name: str = _text(500)
    inn: str = _text(12)
    ogrn: str = _text(13)
    ogrnip: str = _text(15)
    kpp: str = _text(9)
    passport: PassportIn | None = None
    postal_address: str = _text(500)
    phone: str = _text(32)


class RepresentativeIn(_Strict):
    """The account files on behalf of the applicant, by this power of attorney."""

    power_of_attorney_number: str = Field(min_length=1, max_length=100, pattern=LINE)
    power_of_attorney_issued_on: date = Field(ge=date(1990, 1, 1))
    power_of_attorney_valid_until: date | None = None


class StageIn(_Strict):
    title: str = Field(min_length=1, max_length=200, pattern=LINE)
    power_kw: float = Field(gt=0, le=1_000_000)
    planned_on: date = Field(ge=date(2000, 1, 1), le=date(2100, 1, 1))


class StructuredIn(_Strict):
    """The fields of п. 9 / 12(1) / 14 of the Rules; each may be left out where the type has
    one legal value or an obvious default (request_rules.py fills them)."""

    object_name: str = Field(default="", max_length=300, pattern=LINE)
    cadastral_number: str | None = Field(default=None, max_length=40, pattern=CADASTRAL)
    connection_kind: ConnectionKind | None = None
    previous_power_kw: float = Field(default=0, ge=0, le=1_000_000)
    voltage_kv: float | None = Field(default=None, gt=0, le=1150)
    reliability_category: Literal[1, 2, 3] | None = None
    stages: list[StageIn] = Field(default_factory=list, max_length=20)
    supplier: str = Field(default="", max_length=300, pattern=LINE)
    payment_option: PaymentOption = "lump_sum"
    reduced_rate_category: ReducedRate | None = None
    distance_m: int | None = Field(default=None, ge=0, le=1_000_000)
    settlement: Literal["urban", "rural"] | None = None
    mobile: bool | None = None  # a mobile object (передвижной); the type "mobile" is always one
    applicant: ApplicantIn | None = None
    representative: RepresentativeIn | None = None

    def structured(self) -> dict[str, Any]:
        """The structured fields as data (dates as ISO strings)."""
        return self.model_dump(mode="json", include=set(StructuredIn.model_fields))


# The catalog's new keys (the admin's PUT) -------------------------------------------------
class DistanceIn(_Strict):
    urban: int = Field(ge=0, le=100_000)
    rural: int = Field(ge=0, le=100_000)


class ActivityTermIn(_Strict):
    """One rule of the activities' term: the first whose conditions hold applies."""

    max_voltage_kv: float | None = Field(default=None, gt=0, le=1150)
    max_distance_m: DistanceIn | None = None
    mobile: bool | None = None
    min_power_kw_exclusive: float | None = Field(default=None, ge=0)
    max_power_kw: float | None = Field(default=None, gt=0)
    working_days: int | None = Field(default=None, ge=1, le=3650)
    months: int | None = Field(default=None, ge=1, le=120)
    basis: str = Field(min_length=1, max_length=1000, pattern=TEXT)
    verified: bool = False

    @model_validator(mode="after")
    def _one_term(self) -> ActivityTermIn:
        if (self.months is None) == (self.working_days is None):
            raise ValueError("укажите срок в месяцах или в рабочих днях")
        return self

    def data(self) -> dict[str, Any]:
        kept = {"max_voltage_kv", "max_distance_m", "basis", "verified"}
        return {k: v for k, v in self.model_dump().items() if v is not None or k in kept}


def _unique(values: list[Any], title: str) -> None:
    if len(set(values)) != len(values):
        raise ValueError(f"{title}: значения не должны повторяться")


def _all_kinds() -> list[Kind]:
    return ["individual", "sole_trader", "company"]


def _all_categories() -> list[Literal[1, 2, 3]]:
    return [1, 2, 3]


def _all_connections() -> list[ConnectionKind]:
    return ["new", "increase", "scheme_change"]


def _lump_sum() -> list[PaymentOption]:
    return ["lump_sum"]


class TypeKeysIn(_Strict):
    """The keys of issue 13 on TypeIn, with the defaults an older client's entry gets."""

    applicant_kinds: list[Kind] = Field(default_factory=_all_kinds, min_length=1, max_length=3)
    min_power_kw: float | None = Field(default=None, ge=0, le=1_000_000)
    min_power_inclusive: bool = False
    max_power_exclusive: bool = False
    voltages_kv: list[float] = Field(
        default_factory=lambda: [0.4, 6, 10, 20, 35, 110, 220], min_length=1, max_length=20
    )
    categories: list[Literal[1, 2, 3]] = Field(default_factory=_all_categories, min_length=1, max_length=3)
    connection_kinds: list[ConnectionKind] = Field(
        default_factory=_all_connections, min_length=1, max_length=3
    )
    payment_options: list[PaymentOption] = Field(default_factory=_lump_sum, min_length=1, max_length=2)
    reduced_rate: bool = False
    # Whether the generated form is still signed on paper and attached (slot application_form,
    # required exactly then); left out, it is what the checklist says of that slot.
    paper_signature: bool | None = None
    activity_terms: list[ActivityTermIn] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _consistent(self) -> TypeKeysIn:
        for title, values in (
            ("Виды заявителей", self.applicant_kinds),
            ("Напряжение", self.voltages_kv),
            ("Категории надёжности", self.categories),
            ("Виды присоединения", self.connection_kinds),
            ("Варианты оплаты", self.payment_options),
        ):
            _unique(list(values), title)
        if any(not 0 < v <= 1150 for v in self.voltages_kv):
            raise ValueError("Напряжение: от 0 до 1150 кВ")
        top = getattr(self, "max_power_kw", None)
        if self.min_power_kw is not None and top is not None and self.min_power_kw >= top:
            raise ValueError("нижняя граница мощности должна быть меньше верхней")
        return self

    def keys(self) -> dict[str, Any]:
        out = self.model_dump(include=set(TypeKeysIn.model_fields))
        out["activity_terms"] = [t.data() for t in self.activity_terms]
        if self.paper_signature is None:
            slots = getattr(self, "documents", [])
            out["paper_signature"] = any(d.code == "application_form" and d.required for d in slots)
        for flag in ("min_power_inclusive", "max_power_exclusive"):
            if not out[flag]:
                del out[flag]
        return out
