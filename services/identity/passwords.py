"""Password hashing (argon2id via argon2-cffi) and the password policy.

The policy asks zxcvbn how guessable a password is. zxcvbn's own dictionaries are English;
it also gets Russian words (``ru_words.txt``: words people build passwords from, first
names, surnames, in Cyrillic and transliterated) and the person's login, e-mail and names.
A password typed in the wrong keyboard layout is as guessable as the word it hides
(«gfhjkm» is «пароль»), so it is also scored with the layout swapped (ЙЦУКЕН ↔ QWERTY),
and the weaker score counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn
from zxcvbn.matching import add_frequency_lists

from shared.errors import Invalid

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


# The two layouts, key by key: what each key types in ЙЦУКЕН and in QWERTY.
_CYRILLIC_KEYS = "ёйцукенгшщзхъфывапролджэячсмитьбюЁЙЦУКЕНГШЩЗХЪФЫВАПРОЛДЖЭЯЧСМИТЬБЮ"
_LATIN_KEYS = "`qwertyuiop[]asdfghjkl;'zxcvbnm,.~QWERTYUIOP{}ASDFGHJKL:\"ZXCVBNM<>"
_TO_LATIN = str.maketrans(_CYRILLIC_KEYS, _LATIN_KEYS)
_TO_CYRILLIC = str.maketrans(_LATIN_KEYS, _CYRILLIC_KEYS)
_TRANSLIT = str.maketrans(
    {
        **dict(zip("абвгдезийклмнопрстуфхыэ", "abvgdeziyklmnoprstufhye", strict=True)),
        **{"ё": "e", "ж": "zh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sch", "ю": "yu", "я": "ya"},
        **{"ъ": "", "ь": ""},
    }
)
SCORED_LENGTH = 64  # zxcvbn's cost grows with the length; beyond this a password is long enough


def swap_layout(text: str) -> str:
    """What the same keys type in the other layout: Cyrillic → Latin, else Latin → Cyrillic."""
    if any(ch in _CYRILLIC_KEYS for ch in text):
        return text.translate(_TO_LATIN)
    return text.translate(_TO_CYRILLIC)


def transliterate(text: str) -> str:
    return text.casefold().translate(_TRANSLIT)


def _load_words() -> list[str]:
    path = Path(__file__).with_name("ru_words.txt")
    words = [w.strip() for w in path.read_text(encoding="utf-8").splitlines()]
    return list(dict.fromkeys(w for w in words if w and not w.startswith("#")))


_RUSSIAN = _load_words()
add_frequency_lists(
    {
        "russian": _RUSSIAN,
        "russian_translit": list(dict.fromkeys(transliterate(w) for w in _RUSSIAN)),
    }
)


def _variants(text: str) -> list[str]:
    """``text`` as typed (with «ё» as «е», as the word list has it) and with the layout swapped."""
    return list(dict.fromkeys([text.replace("ё", "е").replace("Ё", "Е"), swap_layout(text)]))


def _contains_any(password: str, parts: Iterable[str]) -> bool:
    haystacks = [v.casefold() for v in _variants(password)]
    for part in parts:
        needles = {
            p for p in (part.casefold(), transliterate(part), swap_layout(part).casefold()) if len(p) >= 3
        }
        if any(n in h for n in needles for h in haystacks):
            return True
    return False


def score(password: str, user_inputs: Sequence[str] = ()) -> int:
    """zxcvbn's score (0–4) of the weakest reading of ``password``."""
    inputs = [v for i in user_inputs if i for v in (i, transliterate(i))]
    return min(int(zxcvbn(v[:SCORED_LENGTH], user_inputs=inputs)["score"]) for v in _variants(password))


def check_policy(password: str, login: str, email: str, names: Sequence[str] = ()) -> None:
    """Refuse short, common or guessable passwords, and those built from the person's own
    login, e-mail or names, with a clear Russian message."""
    if len(password) < MIN_LENGTH:
        raise Invalid("weak_password", f"Пароль должен содержать не менее {MIN_LENGTH} символов.")
    if len(password) > MAX_LENGTH:
        raise Invalid("weak_password", f"Пароль должен быть не длиннее {MAX_LENGTH} символов.")
    local_part = email.split("@", 1)[0]
    if _contains_any(password, [login, local_part]):
        raise Invalid("weak_password", "Пароль не должен содержать логин или адрес e-mail.")
    if _contains_any(password, names):
        raise Invalid("weak_password", "Пароль не должен содержать ваше имя или фамилию.")
    if score(password, [login, email, local_part, *names]) < 3:
        raise Invalid(
            "weak_password",
            "Пароль слишком простой или часто используется (в том числе если набрать его в другой"
            " раскладке): возьмите несколько не связанных слов, добавьте цифры и знаки.",
        )
