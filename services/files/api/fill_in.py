"""The applicant's data for a filled-in application form, and its refusals in Russian."""

from __future__ import annotations

import re
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError, field_validator, model_validator

from services.files.content import printable
from services.files.forms import today_ru
from shared.http import error_body
from shared.requisites import ogrn_valid

ROMAN = {1: "I", 2: "II", 3: "III"}
VOLTAGES = (0.22, 0.23, 0.38, 0.4, 0.69, 3, 6, 10, 15, 20, 35, 110, 150, 220, 330, 500, 750)


class FillIn(BaseModel):
    """The applicant's data for a filled-in application form."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    full_name: str = Field(min_length=2, max_length=300)
    passport: str | None = Field(default=None, max_length=300)
    ogrn: str | None = Field(default=None, max_length=15)
    address: str = Field(min_length=5, max_length=500)
    object_name: str = Field(min_length=2, max_length=300)
    object_address: str = Field(min_length=5, max_length=500)
    max_power_kw: float = Field(gt=0, le=1_000_000)
    voltage_kv: float = Field(gt=0)
    reliability_category: int | str
    phone: str = Field(pattern=r"^\+?[0-9 ()\-]{7,20}$")
    email: EmailStr = Field(max_length=254)

    @field_validator("full_name", "passport", "address", "object_name", "object_address")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and not printable(value):
            raise ValueError("недопустимые символы")
        return value or None

    @field_validator("passport")
    @classmethod
    def _passport(cls, value: str | None) -> str | None:
        if value is not None and not re.search(r"\d{2}\s?\d{2}\s?№?\s?\d{6}", value):
            raise ValueError("укажите серию и номер паспорта (например, 4510 123456)")
        return value

    @field_validator("ogrn")
    @classmethod
    def _ogrn(cls, value: str | None) -> str | None:
        if value and not ogrn_valid(value):
            raise ValueError("ОГРН — 13 цифр, ОГРНИП — 15 цифр с верной контрольной цифрой")
        return value or None

    @field_validator("voltage_kv")
    @classmethod
    def _voltage(cls, value: float) -> float:
        if not any(abs(value - v) < 1e-9 for v in VOLTAGES):
            raise ValueError("выберите стандартный класс напряжения: 0,4; 6; 10; 20; 35; 110 кВ…")
        return value

    @field_validator("reliability_category")
    @classmethod
    def _category(cls, value: int | str) -> int:
        text = str(value).strip().upper()
        for number, roman in ROMAN.items():
            if text in (str(number), roman):
                return number
        raise ValueError("категория надёжности: I, II или III")

    @model_validator(mode="after")
    def _identity(self) -> FillIn:
        if not self.passport and not self.ogrn:
            raise ValueError("укажите паспортные данные или ОГРН")
        return self

    def values(self) -> dict[str, str]:
        def number(value: float) -> str:
            return f"{value:g}".replace(".", ",")

        return {
            "full_name": self.full_name,
            "passport": self.passport or "",
            "ogrn": self.ogrn or "",
            "address": self.address,
            "phone": self.phone,
            "email": str(self.email),
            "object_name": self.object_name,
            "object_address": self.object_address,
            "max_power_kw": number(self.max_power_kw),
            "voltage_kv": number(self.voltage_kv),
            "reliability_category": ROMAN[int(self.reliability_category)],
            "date": today_ru(),
        }

    @property
    def identities(self) -> set[str]:
        """The identity fields given (passport, ogrn)."""
        return {name for name in ("passport", "ogrn") if getattr(self, name)}


_MESSAGES = {
    "missing": "обязательное поле",
    "string_type": "ожидается строка",
    "string_too_short": "слишком короткое значение",
    "string_too_long": "слишком длинное значение",
    "string_pattern_mismatch": "недопустимый формат",
    "float_parsing": "ожидается число",
    "float_type": "ожидается число",
    "greater_than": "значение должно быть больше нуля",
    "less_than_equal": "слишком большое значение",
    "extra_forbidden": "неизвестное поле",
    "value_error": "недопустимое значение",
}


def refused(exc: ValidationError) -> JSONResponse:
    """400 for a body that is not JSON; else 422 with a Russian message per field (the
    rule's own words for our validators)."""
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        return JSONResponse(error_body("malformed_json", "Тело запроса не является корректным JSON."), 400)
    errors: list[dict[str, Any]] = []
    for err in exc.errors():
        kind = str(err.get("type", ""))
        message = _MESSAGES.get(kind, "недопустимое значение")
        if kind == "value_error" and err.get("ctx", {}).get("error"):
            message = str(err["ctx"]["error"])
        errors.append(
            {"field": ".".join(str(p) for p in err.get("loc", ())), "code": kind, "message": message}
        )
    return JSONResponse(error_body("validation_error", "Проверьте заполнение полей.", errors=errors), 422)
