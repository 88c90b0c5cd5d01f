"""The fee of an application from a region's schedule (pure: no I/O, no clock).

- ≤15 kW households (and microgeneration, ≤15 kW at ≤1 kV) where the conditions of п. 17
  hold — III category, the schedule's voltage, within 300 m in towns / 500 m in the
  countryside: the **lower** of the standardised cost and the reduced rate × kW (the social
  categories' rate instead of the reduced one when claimed and set);
- otherwise the standardised rates: С1 for the application, С2 overhead line of the
  applicant's voltage over the distance (two lines for categories I and II), С8 one metering
  point; С3…С7 depend on the technical conditions and are not estimated;
- instalments (≤150 kW, not at ≤0,4 kV within 200 m / 300 m): interest at the key rate +
  4 p.p. on the balance after the advance, repaid in equal monthly parts.

Without a distance the standardised cost lacks its line, so it is not compared: the rate per
kW applies where it may, with a note of its distance condition.

Rounding: every amount is rounded to kopecks half up (ROUND_HALF_UP) once, where it is
computed; a total is the sum of rounded lines; VAT inside an amount that includes it is
amount × p / (100 + p), rounded."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from services.applications.fees.model import (
    Microgeneration,
    Reduced,
    Schedule,
    SocialRate,
    Sourced,
    Standardised,
)

KOPECK = Decimal("0.01")
Settlement = Literal["urban", "rural"]
RULE_TITLES = {
    "reduced_rate": "Льготная ставка за 1 кВт (до 15 кВт): она ниже стоимости по стандартизированным ставкам",
    "social_rate": "Льготная ставка для социальных категорий за 1 кВт (до 15 кВт)",
    "microgeneration": "Ставка для объектов микрогенерации за 1 кВт (до 15 кВт)",
    "standardised_lower": "Стандартизированные ставки: стоимость по ним ниже льготной ставки × кВт",
    "standardised": "Стандартизированные тарифные ставки С1…С8",
}

LINE_TITLES = {
    "reduced_rate": "Льготная ставка за 1 кВт",
    "social_rate": "Льготная ставка для социальных категорий за 1 кВт",
    "microgeneration": "Ставка для объектов микрогенерации за 1 кВт",
}


def rub(value: Decimal) -> Decimal:
    return value.quantize(KOPECK, rounding=ROUND_HALF_UP)


def ru(value: Decimal, places: int = 2) -> str:
    """«7 600,00»: a number as the pages write it (no-break spaces between thousands)."""
    text = f"{value:,.{places}f}" if places else f"{value.normalize():,f}"
    return text.replace(",", "\u00a0").replace(".", ",")


def vat_inside(amount: Decimal, percent: Decimal) -> Decimal:
    return rub(amount * percent / (100 + percent))


@dataclass(frozen=True)
class Query:
    type_code: str
    power_kw: Decimal
    voltage_kv: Decimal
    category: int
    distance_m: int | None
    settlement: Settlement
    reduced_rate_category: str | None = None
    instalments_offered: bool = True  # the type's payment options include instalments


@dataclass(frozen=True)
class Line:
    code: str
    title: str
    amount: Decimal
    detail: str = ""


@dataclass(frozen=True)
class Plan:
    """Instalments of ``amount``: the advance, then ``months`` equal parts with interest."""

    allowed: bool
    reason: str
    rate_percent: Decimal = Decimal(0)
    months: int = 0
    advance: Decimal = Decimal(0)
    monthly: Decimal = Decimal(0)
    interest: Decimal = Decimal(0)
    total: Decimal = Decimal(0)


@dataclass(frozen=True)
class Estimate:
    amount: Decimal  # with VAT
    vat: Decimal
    breakdown: list[Line]
    rule: str
    sources: list[Sourced]
    alternative: tuple[str, Decimal] | None = None  # the other side of the «lower of» rule
    notes: list[str] = field(default_factory=list)
    instalments: Plan | None = None

    @property
    def verified(self) -> bool:
        return all(s.verified for s in self.sources)


def _km(distance_m: int) -> Decimal:
    return Decimal(distance_m) / 1000


def standardised(
    rates: Standardised, q: Query, vat: Decimal
) -> tuple[list[Line], Decimal, Decimal, list[str]]:
    """(lines, amount with VAT, VAT, notes) at the standardised rates."""
    notes: list[str] = []
    c1 = next(b for b in rates.c1 if b.max_power_kw is None or q.power_kw <= b.max_power_kw)
    lines = [
        Line("c1", "С1: подготовка и выдача ТУ, проверка их выполнения", rub(c1.rub), "за присоединение")
    ]
    line = next((r for r in rates.lines if q.voltage_kv <= r.max_voltage_kv), None)
    if q.distance_m is None:
        notes.append("Расстояние до сети не указано: стоимость строительства линии не учтена.")
    elif line is not None and q.distance_m > 0:
        count = 2 if q.category in (1, 2) else 1
        cost = rub(line.overhead_per_km * _km(q.distance_m) * count)
        what = f"{q.distance_m} м × {count}" if count > 1 else f"{q.distance_m} м"
        lines.append(Line("c2", "С2: воздушная линия", cost, f"{ru(line.overhead_per_km)} ₽/км × {what}"))
    meter = next(
        (
            m
            for m in rates.metering
            if q.voltage_kv <= m.max_voltage_kv and (m.max_power_kw is None or q.power_kw <= m.max_power_kw)
        ),
        None,
    )
    if meter is not None:
        lines.append(Line("c8", "С8: прибор учёта электроэнергии", rub(meter.rub), "1 точка учёта"))
    notes.append(
        "Кабельные линии, пункты секционирования и подстанции (С3…С7) определяются техническими условиями."
    )
    net = sum((x.amount for x in lines), Decimal(0))
    if rates.includes_vat:
        return lines, net, vat_inside(net, vat), notes
    tax = rub(net * vat / 100)
    return [*lines, Line("vat", f"НДС {ru(vat, 0)} %", tax)], net + tax, tax, notes


def _within(limits: dict[str, int], q: Query) -> bool | None:
    """Within the distance of the settlement (None: the distance was not given)."""
    return None if q.distance_m is None else q.distance_m <= limits[q.settlement]


PerKw = Reduced | SocialRate | Microgeneration


def _per_kw(schedule: Schedule, q: Query) -> tuple[str, Decimal, PerKw, list[str]] | None:
    """(rule, rate per kW, its block, notes) where a rate per kW applies, else None."""
    reduced, micro, social = schedule.reduced, schedule.microgeneration, schedule.social
    notes: list[str] = []
    source: PerKw
    base = q.category == reduced.category and q.power_kw <= reduced.max_power_kw
    if q.type_code in micro.type_codes:
        if not (base and q.power_kw <= micro.max_power_kw and q.voltage_kv <= micro.max_voltage_kv):
            return None
        rule, rate, source = "microgeneration", micro.rate_per_kw, micro
    elif q.type_code in reduced.type_codes:
        if not (base and q.voltage_kv <= reduced.max_voltage_kv):
            return None
        rule, rate, source = "reduced_rate", reduced.rate_per_kw, reduced
        if q.reduced_rate_category and social.rate_per_kw is not None:
            rule, rate, source = "social_rate", social.rate_per_kw, social
        elif q.reduced_rate_category:
            notes.append(
                "Ставка для льготных категорий в данных региона не задана: расчёт по обычной льготной ставке."
            )
    else:
        return None
    within = _within(reduced.max_distance_m.model_dump(), q)
    if within is False:
        return None
    if within is None:
        limit = reduced.max_distance_m.urban if q.settlement == "urban" else reduced.max_distance_m.rural
        notes.append(f"Льготная ставка применяется, если расстояние до сети не более {limit} м.")
    return rule, rate, source, notes


def plan(schedule: Schedule, q: Query, amount: Decimal) -> Plan:
    """Instalments for ``amount`` (with VAT), or why there are none."""
    terms = schedule.instalments
    if not q.instalments_offered:
        return Plan(False, "Для этого вида заявки рассрочка не предусмотрена.")
    if q.power_kw > terms.max_power_kw:
        return Plan(False, f"Рассрочка — только для заявителей до {terms.max_power_kw} кВт.")
    near = _within(terms.excluded_within_m.model_dump(), q)
    if q.voltage_kv <= terms.excluded_max_voltage_kv and near:
        limit = terms.excluded_within_m.urban if q.settlement == "urban" else terms.excluded_within_m.rural
        return Plan(
            False, f"Рассрочка не предоставляется при 0,4 кВ и расстоянии до сети не более {limit} м."
        )
    rate = terms.key_rate_percent + terms.markup_percent
    advance = rub(amount * terms.advance_percent / 100)
    balance = amount - advance
    n = terms.months
    interest = rub(balance * rate / 100 / 12 * (n + 1) / 2)
    return Plan(True, "", rate, n, advance, rub(balance / n), interest, amount + interest)


def estimate(schedule: Schedule, q: Query) -> Estimate:
    """The fee of ``q`` by ``schedule`` (the request was checked against the type before)."""
    vat = schedule.vat.percent
    std_lines, std_amount, std_vat, notes = standardised(schedule.standardised, q, vat)
    per_kw = _per_kw(schedule, q)
    if per_kw is None:
        result = Estimate(
            std_amount, std_vat, std_lines, "standardised", [schedule.standardised, schedule.vat], notes=notes
        )
    else:
        rule, rate, source, kw_notes = per_kw
        amount = rub(rate * q.power_kw)
        if not source.includes_vat:
            amount += rub(amount * vat / 100)
        if std_amount < amount and q.distance_m is not None:
            result = Estimate(
                std_amount,
                std_vat,
                std_lines,
                "standardised_lower",
                [schedule.standardised, source, schedule.vat],
                (rule, amount),
                [*kw_notes, *notes],
            )
        else:
            tax = vat_inside(amount, vat)
            lines = [
                Line(rule, LINE_TITLES[rule], amount, f"{ru(rate)} ₽/кВт × {ru(q.power_kw, 0)} кВт"),
                Line("vat_included", f"в том числе НДС {ru(vat, 0)} %", tax),
            ]
            result = Estimate(
                amount, tax, lines, rule, [source, schedule.vat], ("standardised", std_amount), kw_notes
            )
    return Estimate(
        result.amount,
        result.vat,
        result.breakdown,
        result.rule,
        result.sources,
        result.alternative,
        result.notes,
        plan(schedule, q, result.amount),
    )
