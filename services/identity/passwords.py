"""Password hashing (argon2id via argon2-cffi) and the password policy."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from shared.http import ApiError

# argon2id with OWASP's recommended minimum (m=19 MiB, t=2, p=1): about 20 ms of one core
# here, so 20 logins/s fit on a 2-core machine with room to spare. argon2-cffi's default
# (RFC 9106 low-memory: m=64 MiB, t=3, p=4) costs ~4x more CPU per login. Each hash records
# its parameters, so changing them later keeps old hashes verifiable.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY_HASH = _hasher.hash("timing-equaliser-not-a-password")

MIN_LENGTH = 10
MAX_LENGTH = 128


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists (pass None for a missing one)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def check_policy(password: str, login: str, email: str) -> None:
    """Refuse short, common or guessable passwords with a clear Russian message."""
    if len(password) < MIN_LENGTH:
        raise ApiError(422, "weak_password", f"Пароль должен содержать не менее {MIN_LENGTH} символов.")
    if len(password) > MAX_LENGTH:
        raise ApiError(422, "weak_password", f"Пароль должен быть не длиннее {MAX_LENGTH} символов.")
    lowered = password.casefold()
    local_part = email.split("@", 1)[0].casefold()
    if login.casefold() in lowered or (len(local_part) >= 3 and local_part in lowered):
        raise ApiError(422, "weak_password", "Пароль не должен содержать логин или адрес e-mail.")
    if zxcvbn(password[:64], user_inputs=[login, email])["score"] < 3:
        raise ApiError(
            422,
            "weak_password",
            "Пароль слишком простой или часто используется: добавьте слова, цифры и знаки.",
        )
