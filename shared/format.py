"""How a person reads times, dates and numbers: in the grid company's time zone
(``LK_TIME_ZONE``, Europe/Moscow by default) and in Russian notation. The one place pages,
e-mails and forms format them.

- a moment (an ISO string, a ``datetime``, epoch seconds) is shown in the company's zone,
  labelled with it: ``05.03.2026 14:07 (МСК)``; a naive value is taken as UTC;
- a calendar date (a deadline) stays the date it is: ``05.03.2026``;
- numbers use a decimal comma and a narrow no-break space between thousands:
  ``12,0 кВт``, ``1 234 567``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from shared.settings import get_settings

NBSP = "\u00a0"  # between a number and its unit
THIN = "\u202f"  # narrow no-break space, between thousands

# Russian zones are named by their offset from Moscow, as people there say it.
_RUSSIAN_ZONES = frozenset(
    {
        "Europe/Kaliningrad",
        "Europe/Moscow",
        "Europe/Simferopol",
        "Europe/Kirov",
        "Europe/Volgograd",
        "Europe/Astrakhan",
        "Europe/Samara",
        "Europe/Saratov",
        "Europe/Ulyanovsk",
        "Asia/Yekaterinburg",
        "Asia/Omsk",
        "Asia/Novosibirsk",
        "Asia/Barnaul",
        "Asia/Tomsk",
        "Asia/Novokuznetsk",
        "Asia/Krasnoyarsk",
        "Asia/Irkutsk",
        "Asia/Chita",
        "Asia/Yakutsk",
        "Asia/Khandyga",
        "Asia/Vladivostok",
        "Asia/Ust-Nera",
        "Asia/Magadan",
        "Asia/Sakhalin",
        "Asia/Srednekolymsk",
        "Asia/Kamchatka",
        "Asia/Anadyr",
    }
)
_MOSCOW = timedelta(hours=3)


def zone_name(tz: str | None = None) -> str:
    """The zone to show times in: ``tz``, else the process's ``LK_TIME_ZONE``."""
    return tz or get_settings().time_zone


@lru_cache(maxsize=16)
def zone(tz: str | None = None) -> ZoneInfo:
    return ZoneInfo(zone_name(tz))


def _offset_text(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours}" + (f":{rest:02d}" if rest else "")


def zone_label(tz: str | None = None, moment: datetime | None = None) -> str:
    """«МСК», «МСК+2» for Russian zones, «UTC+1» otherwise (at ``moment``, default now)."""
    name = zone_name(tz)
    at = (moment or datetime.now(UTC)).astimezone(zone(name))
    offset = at.utcoffset() or timedelta(0)
    if name in _RUSSIAN_ZONES:
        return "МСК" if offset == _MOSCOW else "МСК" + _offset_text(offset - _MOSCOW)
    return "UTC" if not offset else "UTC" + _offset_text(offset)


def moment_of(value: datetime | str | float | int | None) -> datetime | None:
    """An aware UTC datetime from what services send (ISO text, epoch seconds, datetime)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        found = value
    elif isinstance(value, int | float):
        found = datetime.fromtimestamp(float(value), UTC)
    else:
        text = str(value).strip()
        try:
            found = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                found = datetime.fromtimestamp(float(text), UTC)
            except ValueError:
                return None
    if found.tzinfo is None:
        found = found.replace(tzinfo=UTC)
    return found.astimezone(UTC)


def local(value: datetime | str | float | int | None, tz: str | None = None) -> datetime | None:
    found = moment_of(value)
    return found.astimezone(zone(tz)) if found else None


def when(value: datetime | str | float | int | None, tz: str | None = None, *, label: bool = True) -> str:
    """``05.03.2026 14:07 (МСК)``: a moment in the company's zone; "" for nothing."""
    at = local(value, tz)
    if at is None:
        return ""
    text = at.strftime("%d.%m.%Y %H:%M")
    return f"{text} ({zone_label(tz, at)})" if label else text


def day(value: date | datetime | str | None, tz: str | None = None) -> str:
    """``05.03.2026``: a calendar date as it is; a moment becomes its local date."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime) or (isinstance(value, str) and len(value.strip()) > 10):
        at = local(value, tz)
        return at.strftime("%d.%m.%Y") if at else ""
    found = value if isinstance(value, date) else date.fromisoformat(str(value).strip())
    return found.strftime("%d.%m.%Y")


def today(tz: str | None = None) -> date:
    """Today's date where the grid company is."""
    return datetime.now(zone(tz)).date()


def number(value: float | int | str | None, digits: int | None = None) -> str:
    """Russian notation: ``1 234 567``, ``12,5``; ``digits`` fixes the decimals."""
    if value is None or value == "":
        return ""
    figure = float(str(value).replace(",", ".").replace(" ", "")) if isinstance(value, str) else value
    if digits is None:
        text = f"{figure:,}" if isinstance(figure, int) else f"{figure:,.6f}".rstrip("0").rstrip(".")
    else:
        text = f"{figure:,.{digits}f}"
    return text.replace(",", THIN).replace(".", ",").replace("-", "−")


def kw(value: float | int | str | None) -> str:
    """Power: ``12,0 кВт``, ``7,5 кВт``, ``0,25 кВт`` (one decimal at least)."""
    if value is None or value == "":
        return ""
    figure = float(str(value).replace(",", "."))
    digits = 1 if round(figure, 1) == figure else 2 if round(figure, 2) == figure else 3
    return f"{number(figure, digits)}{NBSP}кВт"


def size(value: int | float) -> str:
    """A file's size: ``512 байт``, ``12 КБ``, ``1,5 МБ``."""
    amount = float(value)
    if amount < 1024:
        return f"{int(amount)}{NBSP}байт"
    for unit in ("КБ", "МБ", "ГБ"):
        amount /= 1024
        if amount < 1024 or unit == "ГБ":
            return f"{number(amount, 0 if unit == 'КБ' else 1)}{NBSP}{unit}"
    return str(value)  # pragma: no cover - the loop always returns
