"""Applications' commands of ``lk``: ``lk ops calendar`` tells how far the production calendar
data goes (the ``holidays`` package's decreed transfers, or what an admin set) and warns when
the deadlines of the coming two years (the longest activities terms) pass it, since past its
data the calendar knows neither the transfers nor even the ТК ст. 112 moves."""

from __future__ import annotations

from datetime import UTC, date, datetime

import typer

from services.applications.calendar import WorkCalendar, local_day
from shared.settings import Settings

HORIZON_YEARS = 2  # the activities terms run up to two years (DOMAIN.md)


def calendar_report(today: date, calendar: WorkCalendar) -> tuple[list[str], bool]:
    """The lines to print and whether they warn: the years covered and the horizon's year."""
    horizon = WorkCalendar.add_months(today, 12 * HORIZON_YEARS)
    lines = [
        f"Производственный календарь: переносы выходных и праздников известны по {calendar.known_until} год"
        " включительно.",
        f"Сегодня {today.strftime('%d.%m.%Y')}; сроки на {HORIZON_YEARS} года вперёд доходят до"
        f" {horizon.strftime('%d.%m.%Y')}.",
    ]
    beyond = calendar.beyond_data(horizon)
    if beyond:
        lines.append(
            f"ВНИМАНИЕ: сроки позже 31.12.{calendar.known_until} считаются без данных производственного"
            " календаря (без переносов и без переноса праздников, совпавших с выходными, ТК РФ ст. 112)."
            " Обновите пакет holidays, когда выйдет постановление о переносе выходных, или внесите"
            " выходные и рабочие дни года вручную."
        )
    else:
        lines.append("Данных календаря хватает на сроки ближайших двух лет.")
    return lines, beyond


def calendar(
    strict: bool = typer.Option(False, "--strict", help="Код выхода 1, если данных календаря не хватает"),
) -> None:
    """Докуда известен производственный календарь; предупреждение, если его не хватает на сроки двух лет."""
    settings = Settings()
    lines, beyond = calendar_report(local_day(datetime.now(UTC), settings.time_zone), WorkCalendar())
    for line in lines:
        typer.echo(line, err=beyond and line.startswith("ВНИМАНИЕ"))
    if beyond and strict:
        raise typer.Exit(1)
