"""The checks of an applicant's requisites, one implementation for every service: ИНН (10
digits for a company, 12 for a person), ОГРН (13) and ОГРНИП (15) by their control digits,
КПП, the passport's series and number, and a Russian phone number in one form (+7…).

Each check takes the value as typed (spaces around it are the caller's to strip) and says
only whether it holds; the callers give the refusal in their own words.
"""

from __future__ import annotations

import re

_DIGITS = re.compile(r"^[0-9]+$")  # ASCII digits only: str.isdigit() also takes «٣» and «²»
_KPP = re.compile(r"^[0-9]{4}[0-9A-Z]{2}[0-9]{3}$")  # the 5th–6th may be letters since 2013
_INN10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def digits(value: str, *lengths: int) -> bool:
    """``value`` is ASCII digits only, of one of ``lengths``."""
    return bool(_DIGITS.match(value)) and len(value) in lengths


def _control(value: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(value, weights, strict=False)) % 11 % 10


def inn_valid(value: str, length: int | None = None) -> bool:
    """ИНН with correct control digits: 10 digits (a company) or 12 (a person, a sole
    trader); ``length`` demands one of them."""
    if not digits(value, *((length,) if length else (10, 12))):
        return False
    if len(value) == 10:
        return _control(value, _INN10) == int(value[9])
    return _control(value, _INN11) == int(value[10]) and _control(value, _INN12) == int(value[11])


def ogrn_valid(value: str) -> bool:
    """ОГРН (13 digits) or ОГРНИП (15) with a correct control digit."""
    if not digits(value, 13, 15):
        return False
    if len(value) == 13:
        return int(value[:12]) % 11 % 10 == int(value[12])
    return int(value[:14]) % 13 % 10 == int(value[14])


def kpp_valid(value: str) -> bool:
    """КПП: 9 characters, the tax office's 4 digits, the reason (2 digits or capital Latin
    letters), the number (3 digits)."""
    return bool(_KPP.match(value))


def passport_series_valid(value: str) -> bool:
    """The series of a Russian passport: 4 digits (written «45 10» too)."""
    return digits(value.replace(" ", ""), 4)


def passport_number_valid(value: str) -> bool:
    return digits(value, 6)


def normalise_phone(value: str) -> str | None:
    """A Russian phone number as +7XXXXXXXXXX (typed +7…, 8…, 7… or the 10 digits alone, with
    spaces, dashes, dots or brackets anywhere), or None if it is not one."""
    bare = re.sub(r"[\s\-().]", "", value)
    if bare.startswith("+7"):
        bare = bare[2:]
    elif len(bare) == 11 and bare[:1] in ("7", "8"):
        bare = bare[1:]
    # Russian numbers (geographic and mobile) begin with 3, 4, 8 or 9 after +7.
    return "+7" + bare if digits(bare, 10) and bare[0] in "3489" else None
