"""The shape of one fee schedule (a region's figures for a year), checked on seed and on
every admin edit. Money is Decimal in roubles; every block names its source and whether it
was checked against it (``verified``)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Money = Annotated[Decimal, Field(ge=0, le=Decimal("1e12"), max_digits=16, decimal_places=2)]
Kw = Annotated[Decimal, Field(gt=0, le=1_000_000, max_digits=12, decimal_places=3)]
Kv = Annotated[Decimal, Field(gt=0, le=1150, max_digits=8, decimal_places=3)]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=6, decimal_places=2)]
Text = Annotated[str, Field(max_length=2000)]
Codes = Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=50)]
SOCIAL = ("low_income", "veteran", "disabled", "large_family")
Social = Literal["low_income", "veteran", "disabled", "large_family"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sourced(_Strict):
    basis: Text = Field(min_length=1)
    verified: bool
    note: Text = ""


class Distance(_Strict):
    urban: int = Field(ge=0, le=100_000)
    rural: int = Field(ge=0, le=100_000)


class Vat(Sourced):
    percent: Percent


class Reduced(Sourced):
    """The regulator's reduced rate per kW for ≤15 kW (п. 17): paid instead of the
    standardised cost when it is lower and its conditions hold."""

    type_codes: Codes
    max_power_kw: Kw = Decimal(15)
    max_voltage_kv: Kv = Decimal("0.4")
    category: int = Field(default=3, ge=1, le=3)
    max_distance_m: Distance
    rate_per_kw: Money
    includes_vat: bool = True


class SocialRate(Sourced):
    """The lower rate for the social categories (null: not set for this region and year)."""

    categories: list[Social]
    rate_per_kw: Money | None
    includes_vat: bool = True


class Microgeneration(Sourced):
    type_codes: Codes
    max_power_kw: Kw = Decimal(15)
    max_voltage_kv: Kv = Decimal(1)
    rate_per_kw: Money
    includes_vat: bool = True


class PowerBand(_Strict):
    max_power_kw: Kw | None  # inclusive; null: any power
    rub: Money


class LineRate(_Strict):
    """С2 (overhead) and С3 (cable) lines per km up to a voltage."""

    max_voltage_kv: Kv
    overhead_per_km: Money
    cable_per_km: Money | None = None


class SubstationRate(_Strict):
    """С4 sectioning points per unit, С5 transformer substations, С6 distribution points and
    С7 supply centres per kW, up to a voltage (null: no such rate)."""

    max_voltage_kv: Kv
    sectioning_per_unit: Money | None = None
    transformer_per_kw: Money | None = None
    distribution_per_kw: Money | None = None
    centre_per_kw: Money | None = None


class MeteringRate(_Strict):
    """С8: one metering point, up to a voltage and a power (null: any power)."""

    max_voltage_kv: Kv
    max_power_kw: Kw | None = None
    rub: Money


class Standardised(Sourced):
    """The standardised rates С1…С8 (ФАС instructions № 490/22)."""

    includes_vat: bool = False
    c1: list[PowerBand] = Field(min_length=1, max_length=20)
    lines: list[LineRate] = Field(min_length=1, max_length=20)
    substations: list[SubstationRate] = Field(default_factory=list, max_length=20)
    metering: list[MeteringRate] = Field(min_length=1, max_length=20)


class Instalments(Sourced):
    """Instalments for ≤150 kW: interest at the key rate + ``markup_percent`` p.p."""

    max_power_kw: Kw = Decimal(150)
    excluded_max_voltage_kv: Kv = Decimal("0.4")
    excluded_within_m: Distance
    key_rate_percent: Percent
    key_rate_on: date
    markup_percent: Percent = Decimal(4)
    months: int = Field(ge=1, le=120)
    advance_percent: Percent = Decimal(0)


class ScheduleIn(_Strict):
    """What an admin puts at /api/v1/fees/{region}/{year} (the path names both)."""

    title: str = Field(min_length=2, max_length=200)
    note: Text = ""
    vat: Vat
    reduced: Reduced
    social: SocialRate
    microgeneration: Microgeneration
    standardised: Standardised
    instalments: Instalments


class Schedule(ScheduleIn):
    """The fees of one region for one year."""

    region: str = Field(pattern=r"^[a-z0-9_-]{1,32}$")
    year: int = Field(ge=2000, le=2100)
