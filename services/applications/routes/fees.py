"""Fees: the schedules per region and year (read by anyone, edited by admins) and the
estimate of an application's fee (public: guests use the calculator)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from services.applications.deps import Admin, State
from services.applications.fees.checks import (
    category_of,
    check_power,
    field_error,
    instalments_offered,
    reduced_allowed,
    voltage_of,
)
from services.applications.fees.model import Schedule, ScheduleIn, Social
from services.applications.fees.out import estimate_out
from services.applications.fees.rules import Query, estimate
from shared.errors import NotFound
from shared.http import answers
from shared.runtime import blocking

router = APIRouter(prefix="/api/v1/fees")
Region = Annotated[str, Path(pattern=r"^[a-z0-9_-]{1,32}$")]
Year = Annotated[int, Path(ge=2000, le=2100)]


class EstimateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type_code: str = Field(min_length=1, max_length=64)
    power_kw: Decimal = Field(gt=0, le=1_000_000, max_digits=12, decimal_places=3)
    voltage_kv: Decimal | None = Field(default=None, gt=0, le=1150, max_digits=8, decimal_places=3)
    category: int | None = Field(default=None, ge=1, le=3)
    distance_m: int | None = Field(default=None, ge=0, le=1_000_000)
    settlement: Literal["urban", "rural"] = "urban"
    region: str | None = Field(default=None, min_length=1, max_length=32)
    reduced_rate_category: Social | None = None
    year: int | None = Field(default=None, ge=2000, le=2100)


@router.get("")
async def list_schedules(state: State) -> dict[str, Any]:
    """The regions and years that have fee schedules (no login needed)."""
    return {"items": state.app.fees.regions(), "default_region": state.app.settings.region}


@router.post("/estimate", responses=answers(422))
async def estimate_fee(body: EstimateIn, state: State) -> dict[str, Any]:
    """The fee of an application by the region's schedule (no login needed; nothing is stored)."""
    kind = state.app.types.get(body.type_code)
    if kind is None:
        raise field_error("unknown_type", "type_code", "Такого вида заявки нет в каталоге.")
    region = body.region or state.app.settings.region
    year = body.year or state.app.local_today().year
    schedule = state.app.fees.for_year(region, year)
    check_power(kind, body.power_kw)
    reduced_allowed(kind, body.reduced_rate_category, schedule.reduced.type_codes)
    query = Query(
        type_code=body.type_code,
        power_kw=body.power_kw,
        voltage_kv=voltage_of(kind, body.voltage_kv),
        category=category_of(kind, body.category),
        distance_m=body.distance_m,
        settlement=body.settlement,
        reduced_rate_category=body.reduced_rate_category,
        instalments_offered=instalments_offered(kind),
    )
    return estimate_out(schedule, query, estimate(schedule, query), asked_year=year)


@router.get("/{region}/{year}", responses=answers(404))
async def get_schedule(region: Region, year: Year, state: State) -> dict[str, Any]:
    found = state.app.fees.get(region, year)
    if found is None:
        raise NotFound("not_found", "Ставок для этого региона и года нет.")
    return found.model_dump(mode="json")


@router.put("/{region}/{year}", responses=answers(401, 403, 422))
async def put_schedule(
    region: Region, year: Year, body: ScheduleIn, state: State, principal: Admin
) -> dict[str, Any]:
    """Create or replace the fees of a region for a year (admins)."""
    schedule = Schedule(region=region, year=year, **body.model_dump())
    saved = await blocking(state.app.fees.put, schedule, principal.account_id)
    return saved.model_dump(mode="json")
