"""Password hashing and the password policy of services/identity/passwords.py."""

from __future__ import annotations

import pytest

from services.identity.passwords import check_policy, hash_password, verify_password
from shared.http import ApiError

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


def _refusal(password: str, login: str = "ivan_petrov", email: str = "ivan.p@example.ru") -> ApiError:
    with pytest.raises(ApiError) as info:
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
