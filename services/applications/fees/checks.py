"""An estimate's request against the catalog type it names: the power within the type's
bounds, a voltage and a category the type allows. Each refusal names its field, in Russian.
The type's keys are read with defaults, so a catalog without them still works."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.applications.fees.rules import ru
from shared.errors import Invalid

TypeData = dict[str, Any]


def field_error(code: str, name: str, message: str) -> Invalid:
    return Invalid(code, message, errors=[{"field": name, "code": code, "message": message}])


def _kw(value: object) -> Decimal:
    return Decimal(str(value))


def check_power(kind: TypeData, power: Decimal) -> None:
    top, bottom = kind.get("max_power_kw"), kind.get("min_power_kw")
    if bottom is not None:
        low = _kw(bottom)
        inclusive = bool(kind.get("min_power_inclusive"))
        if power < low or (power == low and not inclusive):
            words = "не менее" if inclusive else "свыше"
            raise field_error(
                "power_below_minimum",
                "power_kw",
                f"Для этого вида заявки мощность — {words} {ru(low, 0)} кВт.",
            )
    if top is not None:
        high = _kw(top)
        exclusive = bool(kind.get("max_power_exclusive"))
        if power > high or (power == high and exclusive):
            words = "менее" if exclusive else "не более"
            raise field_error(
                "power_exceeds_limit",
                "power_kw",
                f"Для этого вида заявки мощность — {words} {ru(high, 0)} кВт.",
            )


def only(values: list[Any] | None) -> Any:
    return values[0] if values and len(values) == 1 else None


def voltage_of(kind: TypeData, given: Decimal | None) -> Decimal:
    """The voltage asked for, or the type's only one, or 0,4 kV; one the type does not allow
    is refused."""
    allowed = [_kw(v) for v in kind.get("voltages_kv") or []]
    if given is None:
        return allowed[0] if len(allowed) == 1 else Decimal("0.4")
    if allowed and given not in allowed:
        listed = ", ".join(ru(v, 0) if v == v.to_integral() else ru(v, 1) for v in allowed)
        raise field_error(
            "voltage_not_allowed", "voltage_kv", f"Для этого вида заявки уровень напряжения — {listed} кВ."
        )
    return given


def category_of(kind: TypeData, given: int | None) -> int:
    allowed = [int(c) for c in kind.get("categories") or []]
    if given is None:
        return int(only(allowed) or 3)
    if allowed and given not in allowed:
        roman = {1: "I", 2: "II", 3: "III"}
        listed = ", ".join(roman[c] for c in allowed)
        raise field_error(
            "category_not_allowed", "category", f"Для этого вида заявки категория надёжности — {listed}."
        )
    return given


def reduced_allowed(kind: TypeData, claimed: str | None, type_codes: list[str]) -> None:
    """A social category may be claimed only where the type allows it (``reduced_rate``, or
    by default the types of the reduced rate)."""
    if claimed is None:
        return
    allowed = kind.get("reduced_rate", kind["code"] in type_codes)
    if not allowed:
        raise field_error(
            "reduced_rate_not_allowed",
            "reduced_rate_category",
            "Льготная категория заявителя применяется только к заявкам физических лиц до 15 кВт.",
        )


def instalments_offered(kind: TypeData) -> bool:
    options = kind.get("payment_options")
    return options is None or "instalments" in options
