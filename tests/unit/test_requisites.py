"""The requisites' checks (shared/requisites.py): real, published numbers pass and every
single-digit corruption of them is refused; for any number built by the rules (the control
digits computed here, independently, from the published weights) the check agrees, and a
wrong control digit is always refused; phones come out in one form."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.requisites import (
    inn_valid,
    kpp_valid,
    normalise_phone,
    ogrn_valid,
    passport_number_valid,
    passport_series_valid,
)

# Companies' numbers as they publish them (ЕГРЮЛ): ПАО Сбербанк, ПАО «Газпром», АО «Альфа-Банк».
INN10 = ["7707083893", "7736050003", "7728168971"]
OGRN = ["1027700132195", "1027700070518", "1027700067328"]
# A person's ИНН and an ОГРНИП: sample numbers widely used in documentation.
INN12 = ["500100732259"]
OGRNIP = ["304500116000157"]


def corruptions(value: str) -> list[str]:
    """Every number differing from ``value`` in exactly one digit."""
    return [value[:i] + d + value[i + 1 :] for i in range(len(value)) for d in "0123456789" if d != value[i]]


def inn10(body: str) -> str:
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    return body + str(sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11 % 10)


def inn12(body: str) -> str:
    first = body + str(
        sum(int(c) * w for c, w in zip(body, (7, 2, 4, 10, 3, 5, 9, 4, 6, 8), strict=True)) % 11 % 10
    )
    weights = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
    return first + str(sum(int(c) * w for c, w in zip(first, weights, strict=True)) % 11 % 10)


def ogrn(body: str) -> str:
    return body + str(int(body) % (11 if len(body) == 12 else 13) % 10)


@pytest.mark.parametrize("value", INN10 + INN12)
def test_real_inn_passes_and_every_single_digit_corruption_is_refused(value: str) -> None:
    assert inn_valid(value)
    assert inn_valid(value, len(value))
    assert [bad for bad in corruptions(value) if inn_valid(bad)] == []


@pytest.mark.parametrize("value", OGRN + OGRNIP)
def test_real_ogrn_passes_and_every_single_digit_corruption_is_refused(value: str) -> None:
    assert ogrn_valid(value)
    assert [bad for bad in corruptions(value) if ogrn_valid(bad)] == []


def test_inn_length_is_demanded_when_given() -> None:
    assert not inn_valid(INN10[0], 12)
    assert not inn_valid(INN12[0], 10)


@pytest.mark.parametrize(
    "bad",
    ["", "770708389", "77070838930", "7707O83893", " 7707083893", "٧٧٠٧٠٨٣٨٩٣", "7707083893\n", "+707083893"],
)
def test_inn_of_wrong_shape_is_refused(bad: str) -> None:
    assert not inn_valid(bad)


@pytest.mark.parametrize("bad", ["", "102770013219", "10277001321950", "1027700132１95", "10277OO132195"])
def test_ogrn_of_wrong_shape_is_refused(bad: str) -> None:
    assert not ogrn_valid(bad)


@settings(max_examples=300)
@given(st.text("0123456789", min_size=9, max_size=9), st.integers(1, 9))
def test_any_inn10_by_the_rule_passes_and_a_wrong_control_digit_does_not(body: str, shift: int) -> None:
    good = inn10(body)
    assert inn_valid(good)
    assert not inn_valid(good[:9] + str((int(good[9]) + shift) % 10))


@settings(max_examples=300)
@given(st.text("0123456789", min_size=10, max_size=10), st.integers(1, 9), st.integers(10, 11))
def test_any_inn12_by_the_rule_passes_and_a_wrong_control_digit_does_not(
    body: str, shift: int, at: int
) -> None:
    good = inn12(body)
    assert inn_valid(good)
    assert not inn_valid(good[:at] + str((int(good[at]) + shift) % 10) + good[at + 1 :])


@settings(max_examples=300)
@given(
    st.sampled_from([12, 14]).flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n)),
    st.integers(1, 9),
)
def test_any_ogrn_by_the_rule_passes_and_a_wrong_control_digit_does_not(body: str, shift: int) -> None:
    good = ogrn(body)
    assert ogrn_valid(good)
    assert not ogrn_valid(good[:-1] + str((int(good[-1]) + shift) % 10))


@given(st.text(max_size=20))
def test_the_checks_never_fail_on_any_text(value: str) -> None:
    for check in (inn_valid, ogrn_valid, kpp_valid, passport_series_valid, passport_number_valid):
        assert check(value) in (True, False)
    phone = normalise_phone(value)
    assert phone is None or (phone.startswith("+7") and len(phone) == 12 and phone[2:].isdigit())


@pytest.mark.parametrize("good", ["773601001", "770701001", "7736AB001", "500101001"])
def test_kpp(good: str) -> None:
    assert kpp_valid(good)


@pytest.mark.parametrize("bad", ["", "77360100", "7736010011", "77360100a", "7736ab001", "ABCD01001"])
def test_kpp_of_wrong_shape_is_refused(bad: str) -> None:
    assert not kpp_valid(bad)


def test_passport_series_and_number() -> None:
    assert passport_series_valid("4510")
    assert passport_series_valid("45 10")
    assert passport_number_valid("123456")
    for bad in ("451", "45100", "45a0", ""):
        assert not passport_series_valid(bad)
    for bad in ("12345", "1234567", "12345б", ""):
        assert not passport_number_valid(bad)


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("+7 912 345-67-89", "+79123456789"),
        ("8 (912) 345-67-89", "+79123456789"),
        ("79123456789", "+79123456789"),
        ("9123456789", "+79123456789"),
        ("+7 (495) 123.45.67", "+74951234567"),
        ("8-800-555-35-35", "+78005553535"),
    ],
)
def test_phones_come_out_in_one_form(typed: str, normal: str) -> None:
    assert normalise_phone(typed) == normal


@pytest.mark.parametrize(
    "bad",
    ["", "12345", "+1 212 555 0100", "+7 912 345-67-8", "+7 912 345-67-890", "+7 012 345 67 89", "телефон"],
)
def test_not_a_russian_phone(bad: str) -> None:
    assert normalise_phone(bad) is None
