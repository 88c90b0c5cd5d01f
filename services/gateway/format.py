"""Formatting on the pages: the filters and globals every template has, over
:mod:`shared.format` (times in the grid company's zone, Russian numbers).

In a template: ``{{ item.submitted_at | when }}`` → ``05.03.2026 14:07 (МСК)``,
``{{ deadline.due | day }}``, ``{{ item.power_kw | kw }}``, ``{{ n | number }}``,
``{{ file.size | size }}``; ``site`` holds the company's name, phone, address and zone
(``site.tz`` for scripts, which format times in the same zone: ``static/chat.js``).
"""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment

from shared import format as fmt
from shared.settings import get_settings

when = fmt.when
day = fmt.day
number = fmt.number
kw = fmt.kw
size = fmt.size


@dataclass(frozen=True)
class Site:
    company_name: str
    company_phone: str
    company_address: str
    tz: str

    @property
    def tz_label(self) -> str:
        return fmt.zone_label(self.tz)

    @property
    def phone_href(self) -> str:
        digits = "".join(ch for ch in self.company_phone if ch.isdigit() or ch == "+")
        return f"tel:{digits}"


def site() -> Site:
    settings = get_settings()
    return Site(settings.company_name, settings.company_phone, settings.company_address, settings.time_zone)


def install(env: Environment) -> None:
    """Give ``env`` the filters and the ``site`` global."""
    env.filters.update(when=when, day=day, number=number, kw=kw, size=size)
    env.globals["site"] = site
