"""Password hashing and the password policy of services/identity/passwords.py."""

from __future__ import annotations

import pytest

from services.identity.passwords import check_policy, hash_password, swap_layout, verify_password
from shared.errors import Invalid

STRONG = "Корова-на-луне-2026!"


def test_hash_and_verify() -> None:
    hashed = hash_password(STRONG)
    assert hashed != STRONG
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, STRONG)
    assert not verify_password(hashed, STRONG + "x")


def test_hashes_are_salted() -> None:
    assert hash_password(STRONG) != hash_password(STRONG)


def test_verify_with_missing_hash_is_false() -> None:
    assert verify_password(None, STRONG) is False
    assert verify_password(None, "timing-equaliser-not-a-password") is False


def test_verify_with_corrupt_hash_is_false() -> None:
    assert verify_password("not-a-hash", STRONG) is False


def _refusal(password: str, login: str = "ivan_petrov", email: str = "ivan.p@example.ru") -> Invalid:
    with pytest.raises(Invalid) as info:
        check_policy(password, login, email)
    assert info.value.status == 422
    assert info.value.code == "weak_password"
    assert info.value.message
    return info.value


def test_refuses_short_password() -> None:
    assert "10" in _refusal("Ко-2026!x").message


def test_refuses_password_containing_login() -> None:
    # Strong on its own (zxcvbn score 4), refused only because of the login.
    _refusal("Ivanov-Корова-на-луне-2026", login="ivanov")


def test_refuses_password_containing_email_local_part() -> None:
    _refusal("petrov.s-Корова-на-луне", login="someone", email="Petrov.S@example.ru")


@pytest.mark.parametrize("common", ["password123456", "qwertyuiop12", "1234567890ab"])
def test_refuses_common_passwords(common: str) -> None:
    _refusal(common, login="someone", email="someone@example.ru")


def test_refuses_overlong_password() -> None:
    _refusal("Корова-на-луне-" * 20)


@pytest.mark.parametrize("passphrase", [STRONG, "Zelenyi-Chainik-Na-Okne-7"])
def test_accepts_strong_passphrase(passphrase: str) -> None:
    check_policy(passphrase, "ivan_petrov", "ivan.p@example.ru")


@pytest.mark.parametrize(
    "weak",
    [
        "Пароль12345",  # Russian words are known
        "gfhjkm12345",  # «пароль» typed in the Latin layout
        "Qwerty12345",
        "Йцукен12345",  # «qwerty» typed in the Russian layout
        "parol12345!",  # transliterated
        "Солнышко123",
        "vfrcbv2010",  # «максим» in the Latin layout
    ],
)
def test_refuses_russian_and_layout_swapped_common_passwords(weak: str) -> None:
    assert "раскладке" in _refusal(weak, login="someone", email="someone@example.ru").message


@pytest.mark.parametrize(
    "password",
    [
        "Петров-Корова-на-луне-2026",  # the last name
        "Иван-Корова-на-луне-2026",  # the first name
        "Gtnhjd-Корова-на-луне-2026",  # the last name in the Latin layout
        "Petrov-Корова-на-луне-2026",  # transliterated
    ],
)
def test_refuses_passwords_with_the_persons_names(password: str) -> None:
    with pytest.raises(Invalid) as info:
        check_policy(password, "someone", "someone@example.ru", ("Иван", "Петров"))
    assert info.value.code == "weak_password" and "имя или фамилию" in info.value.message


@pytest.mark.parametrize(
    "passphrase", ["крокодил-велосипед-окно-77", "Лампа-над-столом-1987!", "Зелёный-чайник-на-окне-7"]
)
def test_accepts_long_passphrases_even_with_names_known(passphrase: str) -> None:
    check_policy(passphrase, "ivan_petrov", "ivan.p@example.ru", ("Иван", "Петров"))


def test_layout_swap_both_ways() -> None:
    assert swap_layout("пароль") == "gfhjkm" and swap_layout("gfhjkm") == "пароль"
    assert swap_layout("Qwerty") == "Йцукен"
